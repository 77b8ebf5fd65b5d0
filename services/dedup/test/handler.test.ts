import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DuplicateRecord, Header } from '@hookstream/contracts';
import { parseSourceConfig, type SourceConfig } from '@hookstream/models';
import { type Claim, type ClaimStore, claimKey, type StoredClaim } from '../src/claims.ts';
import { type DedupDeps, handleVerified, type VerifiedMessage } from '../src/handler.ts';
import { idempotencyKey, kvKey } from '../src/key.ts';

/** An in-memory ClaimStore with the same atomicity as the KV bucket. */
class MemoryClaims implements ClaimStore {
  readonly entries = new Map<string, StoredClaim>();
  #revision = 0;
  async create(key: string, claim: Claim): Promise<number | undefined> {
    if (this.entries.has(key)) return undefined;
    this.entries.set(key, { claim, revision: ++this.#revision });
    return this.#revision;
  }
  async get(key: string): Promise<StoredClaim | undefined> {
    return this.entries.get(key);
  }
  async replace(key: string, claim: Claim, revision: number): Promise<number | undefined> {
    if (this.entries.get(key)?.revision !== revision) return undefined;
    this.entries.set(key, { claim, revision: ++this.#revision });
    return this.#revision;
  }
}

const HOUR = 3_600_000;
const stripe = parseSourceConfig({ id: 'stripe', provider: 'stripe' });
const github = parseSourceConfig({ id: 'github', provider: 'github' });
const unsigned = parseSourceConfig({ id: 'plain', scheme: { kind: 'none' } });
const short = parseSourceConfig({ id: 'short', scheme: { kind: 'none' }, dedupWindowHours: 1 });

function message(source: string, eventId: string, body: string, receivedAt: number, headers: Record<string, string> = {}): VerifiedMessage {
  const all: Record<string, string> = { [Header.eventId]: eventId, [Header.source]: source, [Header.receivedAt]: String(receivedAt) };
  for (const [k, v] of Object.entries(headers)) all[`hs-h-${k.toLowerCase()}`] = v;
  return { subject: `hs.verified.${source}`, data: new TextEncoder().encode(body), header: (n) => all[n] };
}

function deps(sources: SourceConfig[], claims = new MemoryClaims()) {
  const forwarded: { eventId: string; key: string }[] = [];
  const duplicates: DuplicateRecord[] = [];
  const repeated: string[] = [];
  const indexed: { eventId: string; sourceId: string; key: string }[] = [];
  const d: DedupDeps = {
    source: (id) => sources.find((s) => s.id === id),
    claims,
    now: () => 0,
    defaultWindowMs: 72 * HOUR,
    maxWindowMs: 72 * HOUR,
    forward: async (_m, eventId, _s, key) => {
      forwarded.push({ eventId, key });
    },
    recordDuplicate: async (r) => {
      duplicates.push(r);
    },
    repeated: (eventId) => repeated.push(eventId),
    index: async (eventId, sourceId, key) => {
      indexed.push({ eventId, sourceId, key });
    },
  };
  return { deps: d, forwarded, duplicates, repeated, claims, indexed };
}

describe('dedup keys', () => {
  it('dedup: Stripe keys come from $.id, GitHub keys from X-GitHub-Delivery', () => {
    const locStripe = { from: 'json', path: '$.id' } as const;
    assert.deepEqual(
      idempotencyKey('stripe', locStripe, new TextEncoder().encode('{"id":"evt_1"}'), () => undefined),
      {
        value: 'evt_1',
        origin: 'provider',
      },
    );
    const locGh = { from: 'header', name: 'X-GitHub-Delivery' } as const;
    assert.equal(idempotencyKey('github', locGh, new Uint8Array(), (n) => (n === 'X-GitHub-Delivery' ? 'd-1' : undefined)).value, 'd-1');
  });

  it('dedup: without a key the SHA-256 of source and body is used, so identical re-sends collapse', () => {
    const body = new TextEncoder().encode('not json');
    const a = idempotencyKey('plain', { from: 'json', path: '$.id' }, body, () => undefined);
    const b = idempotencyKey('plain', undefined, body, () => undefined);
    const other = idempotencyKey('other', undefined, body, () => undefined);
    assert.equal(a.origin, 'body-hash');
    assert.equal(a.value, b.value);
    assert.notEqual(a.value, other.value);
    assert.match(a.value, /^sha256:[0-9a-f]{64}$/);
  });

  it('dedup: KV keys are bounded and valid whatever the provider id holds', () => {
    assert.match(kvKey('stripe', 'evt 1/*>..\u0000'), /^stripe\.[0-9a-f]{64}$/);
    assert.notEqual(kvKey('a', 'x'), kvKey('b', 'x'));
  });
});

describe('dedup decisions', () => {
  it('dedup: the first delivery passes and a later one with the same key is a duplicate', async () => {
    const { deps: d, forwarded, duplicates } = deps([stripe]);
    assert.deepEqual(await handleVerified(message('stripe', 'e1', '{"id":"evt_1"}', 1_000), d), { kind: 'ack' });
    assert.deepEqual(await handleVerified(message('stripe', 'e2', '{"id":"evt_1","retry":true}', 61_000), d), { kind: 'ack' });
    assert.deepEqual(forwarded, [{ eventId: 'e1', key: 'evt_1' }]);
    assert.equal(duplicates.length, 1);
    assert.deepEqual(
      { ...duplicates[0], at: 0 },
      {
        kind: 'duplicate',
        event_id: 'e2',
        source: 'stripe',
        idempotency_key: 'evt_1',
        first_event_id: 'e1',
        age_ms: 60_000,
        received_at: 61_000,
        at: 0,
      },
    );
  });

  it('dedup: the first delivery and its duplicate are both indexed under the idempotency key', async () => {
    const { deps: d, indexed } = deps([stripe]);
    await handleVerified(message('stripe', 'e1', '{"id":"evt_1"}', 1_000), d);
    await handleVerified(message('stripe', 'e2', '{"id":"evt_1"}', 2_000), d);
    assert.deepEqual(indexed, [
      { eventId: 'e1', sourceId: 'stripe', key: 'evt_1' },
      { eventId: 'e2', sourceId: 'stripe', key: 'evt_1' },
    ]);
  });

  it('dedup: a redelivered message whose key it already wrote still goes through', async () => {
    // Scenario: dedup wrote the claim, then crashed before publishing. The
    // same message comes back: it must be forwarded, not called a duplicate.
    const claims = new MemoryClaims();
    const { deps: d, forwarded, duplicates } = deps([github], claims);
    const m = message('github', 'e1', '{}', 1_000, { 'X-GitHub-Delivery': 'd-1' });
    const crashing = { ...d, forward: async () => Promise.reject(new Error('SIGKILL')) };
    await assert.rejects(handleVerified(m, crashing), /SIGKILL/);
    assert.deepEqual(await handleVerified(m, d), { kind: 'ack' });
    assert.deepEqual(forwarded, [{ eventId: 'e1', key: 'd-1' }]);
    assert.equal(duplicates.length, 0);
  });

  it('dedup: once the forward is acknowledged the claim says so, and a redelivery publishes nothing again', async () => {
    // Scenario: dedup forwarded e1 and crashed before acking it (or the ack
    // was lost). The redelivered e1 must be neither forwarded again (the
    // work-queue stream may have forgotten the Nats-Msg-Id) nor a duplicate.
    const claims = new MemoryClaims();
    const { deps: d, forwarded, duplicates, repeated } = deps([github], claims);
    const m = message('github', 'e1', '{}', 1_000, { 'X-GitHub-Delivery': 'd-1' });
    await handleVerified(m, { ...d, now: () => 1_005 });
    assert.deepEqual(claims.entries.get(kvKey('github', 'd-1'))?.claim, { event_id: 'e1', first_seen_ms: 1_000, forwarded_ms: 1_005 });
    assert.deepEqual(await handleVerified(m, d), { kind: 'ack' });
    assert.equal(forwarded.length, 1);
    assert.deepEqual(repeated, ['e1']);
    assert.equal(duplicates.length, 0);
    // A later copy of the provider event is still a duplicate of e1.
    await handleVerified(message('github', 'e2', '{}', 4_000, { 'X-GitHub-Delivery': 'd-1' }), d);
    assert.deepEqual(
      duplicates.map((r) => [r.event_id, r.first_event_id, r.age_ms]),
      [['e2', 'e1', 3_000]],
    );
  });

  it('dedup: whatever the order after a crash, the copy that holds the claim goes on and the other is its duplicate', async () => {
    // Scenario: e1 (received at 1 s) claimed evt_O and died before forwarding;
    // e2 (received at 6 s) is a re-send. Both orders of arrival afterwards.
    for (const order of [
      ['e2', 'e1'],
      ['e1', 'e2'],
    ]) {
      const claims = new MemoryClaims();
      const { deps: d, forwarded, duplicates } = deps([stripe], claims);
      const copies: Record<string, VerifiedMessage> = {
        e1: message('stripe', 'e1', '{"id":"evt_O"}', 1_000),
        e2: message('stripe', 'e2', '{"id":"evt_O"}', 6_000),
      };
      await assert.rejects(
        handleVerified(copies.e1 as VerifiedMessage, { ...d, forward: async () => Promise.reject(new Error('SIGKILL')) }),
      );
      for (const id of order) await handleVerified(copies[id] as VerifiedMessage, d);
      assert.deepEqual(forwarded, [{ eventId: 'e1', key: 'evt_O' }], order.join(','));
      assert.deepEqual(
        duplicates.map((r) => [r.event_id, r.first_event_id, r.age_ms]),
        [['e2', 'e1', 5_000]],
        order.join(','),
      );
    }
  });

  it('dedup: a copy received before the holder of the key but seen after it is its duplicate with age 0', async () => {
    const { deps: d, forwarded, duplicates } = deps([stripe]);
    await handleVerified(message('stripe', 'late', '{"id":"evt_L"}', 6_000), d);
    await handleVerified(message('stripe', 'early', '{"id":"evt_L"}', 1_000), d);
    assert.deepEqual(forwarded, [{ eventId: 'late', key: 'evt_L' }]);
    assert.deepEqual(
      duplicates.map((r) => [r.event_id, r.first_event_id, r.age_ms, r.received_at]),
      [['early', 'late', 0, 1_000]],
    );
  });

  it('dedup: a source window shorter than the bucket lets a key through again after it', async () => {
    const { deps: d, forwarded, duplicates } = deps([short]);
    await handleVerified(message('short', 'e1', 'same', 0), d);
    await handleVerified(message('short', 'e2', 'same', HOUR - 1), d);
    await handleVerified(message('short', 'e3', 'same', HOUR + 1), d);
    assert.deepEqual(
      forwarded.map((f) => f.eventId),
      ['e1', 'e3'],
    );
    assert.equal(duplicates.length, 1);
  });

  it('dedup: two racers for an expired key: exactly one takes it over', async () => {
    const claims = new MemoryClaims();
    await claims.create('k', { event_id: 'old', first_seen_ms: 0 });
    const results = await Promise.all([claimKey(claims, 'k', 'a', 2 * HOUR, HOUR), claimKey(claims, 'k', 'b', 2 * HOUR, HOUR)]);
    assert.deepEqual(results.map((r) => r.kind).sort(), ['duplicate', 'first']);
  });

  it('dedup: unsigned sources and unknown sources fall back to the body hash', async () => {
    const { deps: d, forwarded } = deps([unsigned]);
    await handleVerified(message('plain', 'e1', 'x', 1), d);
    await handleVerified(message('plain', 'e2', 'x', 2), d);
    await handleVerified(message('gone', 'e3', 'x', 3), d);
    assert.deepEqual(
      forwarded.map((f) => f.eventId),
      ['e1', 'e3'],
    );
  });

  it('dedup: a failing bucket throws, so the worker retries', async () => {
    const broken: ClaimStore = {
      create: async () => {
        throw new Error('kv down');
      },
      get: async () => undefined,
      replace: async () => undefined,
    };
    const { deps: d } = deps([stripe], broken as unknown as MemoryClaims);
    await assert.rejects(handleVerified(message('stripe', 'e1', '{"id":"x"}', 1), d), /kv down/);
  });
});
