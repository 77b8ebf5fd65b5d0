import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idempotencyKey } from '../src/key.ts';

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

  it('dedup: a provider key with a line break, a control character or a space at either end falls back to the body hash', () => {
    // Scenario (found by the fuzz suite, FUZZ_SEED=9): a Stripe id "evt\n1"
    // made dedup's publish throw (NATS refuses CR/LF in header values) until
    // the message was dead-lettered as handler_error minutes later; " e2"
    // was trimmed by NATS, so the header and the claim disagreed.
    const locator = { from: 'json', path: '$.id' } as const;
    const keyed = (id: string) => idempotencyKey('plain', locator, new TextEncoder().encode(JSON.stringify({ id })), () => undefined);
    for (const id of ['evt\n1', 'evt\r1', 'evt\u00001', 'evt\t1', ' e2', 'e2 '])
      assert.equal(keyed(id).origin, 'body-hash', JSON.stringify(id));
    assert.deepEqual(keyed('evt 1'), { value: 'evt 1', origin: 'provider' }, 'a space inside is fine');
  });
});
