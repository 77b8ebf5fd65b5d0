import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { type SchemeConfig, verifySignature } from '@hookstream/signing';
import { assertAccepted, assertRejected, commonCases, type Headers, input, NOW_MS } from './helpers.ts';

const scheme: SchemeConfig = { kind: 'shopify' };
const OLD = 'shpss_old0123456789';
const NEW = 'shpss_new9876543210';

/** Shopify's documented recipe: base64 HMAC-SHA256 of the raw body with the app's client secret. */
function sign(secret: string, body: string): Headers {
  return { 'X-Shopify-Hmac-Sha256': createHmac('sha256', secret).update(body, 'utf8').digest('base64') };
}

describe('shopify', () => {
  it('signing: shopify accepts a base64 HMAC-SHA256 of the body', () => {
    const body = '{"id":820982911946154508,"email":"jon@example.com"}';
    assertAccepted(verifySignature(scheme, input(body, sign(NEW, body), NOW_MS), [{ id: 'k', value: NEW }]), 'k');
  });

  it('signing: shopify rejects missing and malformed headers', () => {
    const secrets = [{ id: 'k', value: NEW }];
    assertRejected(verifySignature(scheme, input('{}', {}, NOW_MS), secrets), 'missing_signature');
    const hex = createHmac('sha256', NEW).update('{}').digest('hex');
    for (const header of ['not base64!', `sha256=${hex}`, '====', 'A', 'AAA=A']) {
      assertRejected(verifySignature(scheme, input('{}', { 'X-Shopify-Hmac-Sha256': header }, NOW_MS), secrets), 'malformed_signature');
    }
    // A hex digest happens to be valid base64, so it parses and simply does not match.
    assertRejected(verifySignature(scheme, input('{}', { 'X-Shopify-Hmac-Sha256': hex }, NOW_MS), secrets), 'bad_signature');
  });

  commonCases('shopify', scheme, (secret, body) => sign(secret, body), [OLD, NEW]);
});
