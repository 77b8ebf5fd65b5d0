import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { type SchemeConfig, verifySignature } from '@hookstream/signing';
import Stripe from 'stripe';
import { assertAccepted, assertRejected, commonCases, type Headers, input, NOW_MS, NOW_S, timestampCases } from './helpers.ts';

const scheme: SchemeConfig = { kind: 'stripe' };
const OLD = 'whsec_test_old_0123456789abcdef';
const NEW = 'whsec_test_new_fedcba9876543210';

/** Signs with the `stripe` library's own test helper. */
function sign(secret: string, payload: string, timestamp: number): Headers {
  return { 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }) };
}

describe('stripe', () => {
  it("signing: stripe accepts a signature made by stripe's library", () => {
    const body = '{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}';
    const headers = sign(NEW, body, NOW_S);
    assert.match(headers['Stripe-Signature'] ?? '', /^t=\d+,v1=[0-9a-f]{64}$/);
    assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'k', value: NEW }]), 'k');
  });

  it("signing: stripe agrees with stripe's own verifier on the same bytes", () => {
    const body = Buffer.from('{ "id" : "evt_\u00e9",\n "amount": 1.50 }', 'utf8');
    const headers = sign(NEW, body.toString('utf8'), NOW_S);
    const header = headers['Stripe-Signature'] ?? '';
    assert.equal(Stripe.webhooks.signature?.verifyHeader(body, header, NEW, 300, undefined, NOW_S), true);
    assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'k', value: NEW }]), 'k');
  });

  it('signing: stripe accepts any v1 entry and ignores v0', () => {
    // Scenario: Stripe sends one v1 per active endpoint secret while the dashboard rolls it.
    const body = '{"id":"evt_1"}';
    const v1 = (secret: string) => createHmac('sha256', secret).update(`${NOW_S}.${body}`).digest('hex');
    const header = `t=${NOW_S},v1=${v1(OLD)},v1=${v1(NEW)},v0=${'0'.repeat(64)}`;
    assertAccepted(verifySignature(scheme, input(body, { 'stripe-signature': header }, NOW_MS), [{ id: 'new', value: NEW }]), 'new');
    assertAccepted(verifySignature(scheme, input(body, { 'stripe-signature': header }, NOW_MS), [{ id: 'old', value: OLD }]), 'old');
  });

  it('signing: stripe signs the raw body bytes, even when they are not UTF-8', () => {
    const body = Buffer.from([0x7b, 0x22, 0x78, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x22, 0x7d]);
    const mac = createHmac('sha256', NEW)
      .update(Buffer.concat([Buffer.from(`${NOW_S}.`), body]))
      .digest('hex');
    const headers = { 'Stripe-Signature': `t=${NOW_S},v1=${mac}` };
    assertAccepted(verifySignature(scheme, input(body, headers, NOW_MS), [{ id: 'k', value: NEW }]), 'k');
    const decoded = Buffer.from(body.toString('utf8'), 'utf8');
    assertRejected(verifySignature(scheme, input(decoded, headers, NOW_MS), [{ id: 'k', value: NEW }]), 'bad_signature');
  });

  it('signing: stripe tells a missing header from a malformed one', () => {
    const secrets = [{ id: 'k', value: NEW }];
    assertRejected(verifySignature(scheme, input('{}', {}, NOW_MS), secrets), 'missing_signature');
    assertRejected(verifySignature(scheme, input('{}', { 'Stripe-Signature': '  ' }, NOW_MS), secrets), 'missing_signature');
    const hex = 'a'.repeat(64);
    for (const header of [
      `v1=${hex}`,
      `t=,v1=${hex}`,
      `t=abc,v1=${hex}`,
      `t=${NOW_S}`,
      `t=${NOW_S},v0=${hex}`,
      `t=${NOW_S},v1=xyz`,
      `t=${NOW_S},v1=${hex.slice(1)}`,
      'garbage',
      ',,,',
    ]) {
      assertRejected(verifySignature(scheme, input('{}', { 'Stripe-Signature': header }, NOW_MS), secrets), 'malformed_signature');
    }
    // Well-formed but of the wrong length: parseable, so simply no match.
    assertRejected(verifySignature(scheme, input('{}', { 'Stripe-Signature': `t=${NOW_S},v1=abcd` }, NOW_MS), secrets), 'bad_signature');
  });

  it('signing: stripe honours a configured tolerance', () => {
    const headers = sign(NEW, '{}', NOW_S - 100);
    const secrets = [{ id: 'k', value: NEW }];
    assertRejected(verifySignature({ kind: 'stripe', toleranceSeconds: 60 }, input('{}', headers, NOW_MS), secrets), 'stale_timestamp');
    assertAccepted(verifySignature({ kind: 'stripe', toleranceSeconds: 120 }, input('{}', headers, NOW_MS), secrets), 'k');
  });

  commonCases('stripe', scheme, sign, [OLD, NEW]);
  timestampCases('stripe', scheme, sign, NEW, 300);
});
