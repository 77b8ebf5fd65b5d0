import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { parseSourceConfig } from '@hookstream/models';
import type { StageMessage } from '@hookstream/runtime';
import { idempotencyKey, kvKey } from '../src/key.ts';
import { type ClaimReleaser, releaseDeadLetter } from '../src/release.ts';

const stripe = parseSourceConfig({ id: 'stripe', provider: 'stripe' });

function deadLetter(stage: string, eventId: string, body: string, extra: Record<string, string> = {}): StageMessage {
  const all: Record<string, string> = { [Header.eventId]: eventId, [Header.source]: 'stripe', [Header.dlqStage]: stage, ...extra };
  return { subject: `hs.dlq.${stage}.stripe`, data: new TextEncoder().encode(body), header: (n) => all[n] };
}

function fakes() {
  const asked: { key: string; eventId: string; keepForwarded: boolean }[] = [];
  const released: string[] = [];
  const claims: ClaimReleaser = {
    releaseIfHeld: async (key, eventId, options) => {
      asked.push({ key, eventId, keepForwarded: options?.keepForwarded === true });
      return 'released';
    },
  };
  return { asked, released, deps: { source: () => stripe, claims, now: () => 0, released: (id: string) => released.push(id) } };
}

describe('dedup release', () => {
  it('dedup: a validate dead letter releases the claim under its hs-idempotency-key, for its own event id', async () => {
    const f = fakes();
    const outcome = await releaseDeadLetter(deadLetter('validate', 'e1', '{}', { [Header.idempotencyKey]: 'evt_1' }), f.deps);
    assert.deepEqual(outcome, { kind: 'ack' });
    assert.deepEqual(f.asked, [{ key: kvKey('stripe', 'evt_1'), eventId: 'e1', keepForwarded: false }]);
    assert.deepEqual(f.released, ['e1']);
  });

  it("dedup: dedup's own dead letter is keyed from its body as dedup keys it, and keeps a claim whose event went on", async () => {
    const f = fakes();
    await releaseDeadLetter(deadLetter('dedup', 'e2', '{"id":"evt_2"}'), f.deps);
    const key = idempotencyKey('stripe', { from: 'json', path: '$.id' }, new TextEncoder().encode('{"id":"evt_2"}'), () => undefined);
    assert.equal(key.value, 'evt_2');
    assert.deepEqual(f.asked, [{ key: kvKey('stripe', 'evt_2'), eventId: 'e2', keepForwarded: true }]);
  });

  it('dedup: dead letters of other stages, without an event id, or reduced without a body release nothing', async () => {
    const f = fakes();
    for (const m of [
      deadLetter('route', 'e3', '{}', { [Header.idempotencyKey]: 'evt_3' }),
      deadLetter('deliver', 'e3', '{}', { [Header.idempotencyKey]: 'evt_3' }),
      deadLetter('verify', 'e3', '{"id":"evt_3"}'),
      { ...deadLetter('validate', '', '{}'), header: (n: string) => (n === Header.dlqStage ? 'validate' : undefined) },
      deadLetter('dedup', 'e4', ''),
    ]) {
      assert.deepEqual(await releaseDeadLetter(m, f.deps), { kind: 'ack' });
    }
    assert.deepEqual(f.asked, []);
  });
});
