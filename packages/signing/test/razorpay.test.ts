import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { type SchemeConfig, verifySignature } from '@hookstream/signing';
import { assertAccepted, assertRejected, commonCases, type Headers, input, NOW_MS } from './helpers.ts';

const scheme: SchemeConfig = { kind: 'razorpay' };
const OLD = 'razorpay-old-secret';
const NEW = 'razorpay-new-secret';

/** Razorpay's documented recipe: hex HMAC-SHA256 of the raw body with the webhook secret. */
function sign(secret: string, body: string): Headers {
  return { 'X-Razorpay-Signature': createHmac('sha256', secret).update(body, 'utf8').digest('hex') };
}

describe('razorpay', () => {
  it('signing: razorpay accepts a hex HMAC-SHA256 of the body', () => {
    const body = '{"entity":"event","event":"payment.captured","payload":{}}';
    assertAccepted(verifySignature(scheme, input(body, sign(NEW, body), NOW_MS), [{ id: 'k', value: NEW }]), 'k');
  });

  it('signing: razorpay rejects missing and malformed headers', () => {
    const secrets = [{ id: 'k', value: NEW }];
    assertRejected(verifySignature(scheme, input('{}', {}, NOW_MS), secrets), 'missing_signature');
    for (const header of ['xyz', 'sha256=abcd', 'abc', '0x1234']) {
      assertRejected(verifySignature(scheme, input('{}', { 'X-Razorpay-Signature': header }, NOW_MS), secrets), 'malformed_signature');
    }
  });

  commonCases('razorpay', scheme, (secret, body) => sign(secret, body), [OLD, NEW]);
});
