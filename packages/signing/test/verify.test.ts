import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SchemeConfig, type Secret, verifySignature } from '@hookstream/signing';
import { assertAccepted, assertRejected, input, NOW_MS } from './helpers.ts';

const SCHEMES: readonly SchemeConfig[] = [
  { kind: 'standard-webhooks' },
  { kind: 'stripe' },
  { kind: 'github' },
  { kind: 'shopify' },
  { kind: 'slack' },
  { kind: 'razorpay' },
  { kind: 'hmac', header: 'X-Sig', algorithm: 'sha256', encoding: 'hex' },
];

describe('verifySignature', () => {
  it("signing: the 'none' scheme accepts anything, with no secret id", () => {
    assertAccepted(verifySignature({ kind: 'none' }, input('x', {}, NOW_MS), []), undefined);
    const expired: Secret[] = [{ id: 'a', value: 'v', notAfterMs: 0 }];
    assertAccepted(verifySignature({ kind: 'none' }, input('x', { 'x-sig': 'junk' }, NOW_MS), expired), undefined);
  });

  it('signing: every scheme answers no_secret when no secret is active, before looking at headers', () => {
    const windows: Secret[][] = [
      [],
      [{ id: 'past', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', notAfterMs: NOW_MS - 1 }],
      [{ id: 'future', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', notBeforeMs: NOW_MS + 1 }],
    ];
    for (const scheme of SCHEMES) {
      for (const secrets of windows) {
        assertRejected(verifySignature(scheme, input('x', {}, NOW_MS), secrets), 'no_secret', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
      }
    }
  });

  it('signing: a secret window includes its bounds', () => {
    const scheme = SCHEMES[6];
    assert.ok(scheme !== undefined);
    const bounded: Secret[] = [{ id: 'k', value: 'v', notBeforeMs: NOW_MS, notAfterMs: NOW_MS }];
    assertRejected(verifySignature(scheme, input('x', {}, NOW_MS), bounded), 'missing_signature');
  });

  it('signing: every scheme answers missing_signature when the request carries no headers', () => {
    for (const scheme of SCHEMES) {
      assertRejected(verifySignature(scheme, input('x', {}, NOW_MS), [{ id: 'k', value: 'whsec_AAAA' }]), 'missing_signature');
    }
  });
});
