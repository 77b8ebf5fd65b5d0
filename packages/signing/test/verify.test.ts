import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretActive, type Secret } from '@hookstream/contracts';
import { type SchemeConfig, verifySignature } from '@hookstream/signing';
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

  it('signing: a secret is valid from notBeforeMs (inclusive) while now < notAfterMs (exclusive), one rule for verifying and signing', () => {
    const scheme = SCHEMES[6];
    assert.ok(scheme !== undefined);
    const startsNow: Secret[] = [{ id: 'k', value: 'v', notBeforeMs: NOW_MS, notAfterMs: NOW_MS + 1 }];
    assertRejected(verifySignature(scheme, input('x', {}, NOW_MS), startsNow), 'missing_signature');
    // At exactly notAfterMs the secret is over: verification finds no secret, signing uses none.
    const endsNow: Secret[] = [{ id: 'k', value: 'v', notAfterMs: NOW_MS }];
    assertRejected(verifySignature(scheme, input('x', {}, NOW_MS), endsNow), 'no_secret');
    assert.equal(isSecretActive({ notAfterMs: NOW_MS }, NOW_MS), false);
    assert.equal(isSecretActive({ notAfterMs: NOW_MS }, NOW_MS - 1), true);
    assert.equal(isSecretActive({ notBeforeMs: NOW_MS }, NOW_MS), true);
    assert.equal(isSecretActive({ notBeforeMs: NOW_MS }, NOW_MS - 1), false);
  });

  it('signing: every scheme answers missing_signature when the request carries no headers', () => {
    for (const scheme of SCHEMES) {
      assertRejected(verifySignature(scheme, input('x', {}, NOW_MS), [{ id: 'k', value: 'whsec_AAAA' }]), 'missing_signature');
    }
  });
});
