import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idempotencyKey } from '@hookstream/dedup';

describe('dedup idempotency key size', () => {
  it('dedup: a provider key over 1,024 UTF-8 bytes falls back to the body hash, one of exactly 1,024 is kept', () => {
    // Scenario: the key travels as the hs-idempotency-key header, and the
    // envelope headroom checked against max_payload counts it as at most
    // 1,024 bytes. 400 '€' are 400 characters but 1,200 bytes.
    const locator = { from: 'json', path: '$.id' } as const;
    const keyed = (id: string) => idempotencyKey('plain', locator, new TextEncoder().encode(JSON.stringify({ id })), () => undefined);
    assert.deepEqual(keyed('a'.repeat(1_024)), { value: 'a'.repeat(1_024), origin: 'provider' });
    assert.equal(keyed('a'.repeat(1_025)).origin, 'body-hash');
    assert.equal(keyed('€'.repeat(400)).origin, 'body-hash');
    assert.equal(keyed(`${'€'.repeat(341)}a`).origin, 'provider', '1,024 bytes exactly');
  });
});
