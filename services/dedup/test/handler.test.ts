import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Claim,
  type ClaimStore,
  claimKey,
  type DedupDeps,
  type DuplicateRecord,
  handleVerified,
  idempotencyKey,
  kvKey,
  type StoredClaim,
  type VerifiedMessage,
} from '@hookstream/dedup';
import { Header, parseSourceConfig, type SourceConfig } from '@hookstream/runtime';

/** An in-memory ClaimStore with the same atomicity as the KV bucket. */
class MemoryClaims implements ClaimStore {
  readonly entries = new Map<string, StoredClaim>();
  #revision = 0;
  async create(key: string, claim: Claim): Promise<boolean> {
    if (this.entries.has(key)) return false;
    this.entries.set(key, { claim, revision: ++this.#revision });
    return true;
  }
  async get(key: string): Promise<StoredClaim | undefined> {
    return this.entries.get(key);
  }
  async replace(key: string, claim: Claim, revision: number): Promise<boolean> {
    if (this.entries.get(key)?.revision !== revision) return false;
    this.entries.set(key, { claim, revision: ++this.#revision });
    return true;
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
  };
  return { deps: d, forwarded, duplicates, claims };
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

  it('dedup: a redelivered message whose key it already wrote still goes through', async () => {
    // Scenario: dedup wrote the claim, then crashed before publishing. The
    // same message comes back: it must be forwarded, not called a duplicate.
    const { deps: d, forwarded, duplicates } = deps([github]);
    const m = message('github', 'e1', '{}', 1_000, { 'X-GitHub-Delivery': 'd-1' });
    await handleVerified(m, d);
    await handleVerified(m, d);
    assert.equal(forwarded.length, 2, 'forwarded twice; the stream drops the repeat by Nats-Msg-Id');
    assert.equal(duplicates.length, 0);
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
      replace: async () => false,
    };
    const { deps: d } = deps([stripe], broken as unknown as MemoryClaims);
    await assert.rejects(handleVerified(message('stripe', 'e1', '{"id":"x"}', 1), d), /kv down/);
  });
});
