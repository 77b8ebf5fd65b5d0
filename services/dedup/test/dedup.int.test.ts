import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeLookupEntry, Header, LOOKUP_TTL_MS, lookupKey } from '@hookstream/contracts';
import { buildApp, type DedupApp, loadConfig } from '@hookstream/dedup';
import { SourceStore } from '@hookstream/models';
import {
  AckingPublisher,
  createLogger,
  ensureStreams,
  type NatsHandle,
  openBucket,
  streamConfigs,
  type Topology,
  topology,
} from '@hookstream/runtime';
import {
  connectTestNats,
  freePort,
  type NatsServer,
  startNatsServer,
  storedMessages,
  waitConsumed,
  waitFor,
  waitForHttpOk,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { headers } from '@nats-io/transport-node';
import { KvClaimStore } from '../src/kv-claims.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Planned {
  eventId: string;
  key: string;
}

/**
 * N events on `hs.verified.stripe`: every fourth one repeats the provider
 * key of an earlier event (a sender retry, new event id), and every tenth is
 * published a second time as the same event (a repeated upstream step).
 */
function plan(prefix: string, n: number): { events: Planned[]; uniqueKeys: number; duplicateCopies: number; duplicateEvents: number } {
  const events: Planned[] = [];
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = i % 4 === 3 && keys.length > 0 ? (keys[(i * 7) % keys.length] as string) : `evt_${prefix}_${i}`;
    if (!keys.includes(key)) keys.push(key);
    events.push({ eventId: `${prefix}-${i}`, key });
    if (i % 10 === 5) events.push({ eventId: `${prefix}-${i}`, key }); // same event again
  }
  const firstOf = new Map<string, string>();
  for (const e of events) if (!firstOf.has(e.key)) firstOf.set(e.key, e.eventId);
  const dupes = events.filter((e) => firstOf.get(e.key) !== e.eventId);
  return { events, uniqueKeys: keys.length, duplicateCopies: dupes.length, duplicateEvents: new Set(dupes.map((e) => e.eventId)).size };
}

/** Publishes every planned copy; resolves on the highest stream sequence. */
async function publishVerified(nats: NatsHandle, t: Topology, events: Planned[]): Promise<number> {
  const publisher = new AckingPublisher(nats.nc, 10_000);
  let copy = 0;
  const acks = await Promise.all(
    events.map((e) => {
      const h = headers();
      // A distinct Nats-Msg-Id per copy, so the stream keeps both copies of a repeated event.
      h.set('Nats-Msg-Id', `${e.eventId}:verify:${copy++}`);
      h.set(Header.eventId, e.eventId);
      h.set(Header.source, 'stripe');
      h.set(Header.receivedAt, String(Date.now()));
      return publisher.publish(t.verified('stripe'), new TextEncoder().encode(JSON.stringify({ id: e.key, type: 'charge.succeeded' })), h);
    }),
  );
  publisher.close();
  return Math.max(...acks.map((a) => a.seq));
}

const drained = (jsm: JetStreamManager, t: Topology, throughSeq: number) => waitConsumed(jsm, t.streams.pipe, 'dedup', throughSeq, 60_000);

async function uniqueKeys(jsm: JetStreamManager, t: Topology): Promise<string[]> {
  return (await storedMessages(jsm, t.streams.pipe, t.unique('stripe'))).map((m) => m.header.get(Header.idempotencyKey));
}

describe('dedup against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
  });

  after(async () => {
    await nats?.drain();
    await server?.stop();
  });

  async function setUp(ns: string): Promise<Topology> {
    const t = topology(ns);
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({ id: 'stripe', provider: 'stripe' });
    return t;
  }

  const env = (ns: string) => ({ HS_NATS_URL: server.url, HS_NAMESPACE: ns, HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1' });

  it('dedup: N events with M duplicates, interleaved and repeated, give exactly N-M on hs.unique', async () => {
    const t = await setUp('d1');
    const { events, uniqueKeys: expected, duplicateCopies, duplicateEvents } = plan('a', 400);
    const app = buildApp(loadConfig(env('d1')), { logger });
    await app.run();
    try {
      await drained(jsm, t, await publishVerified(nats, t, events));
      const keys = await uniqueKeys(jsm, t);
      assert.equal(keys.length, expected);
      assert.equal(new Set(keys).size, expected, 'each key once');
      assert.equal(app.counts.duplicates, duplicateCopies);
      const duplicates = await storedMessages(jsm, t.streams.obs, t.obs('duplicate'));
      assert.equal(duplicates.length, duplicateEvents, 'one hs.obs.duplicate record per duplicate event');
      const record = JSON.parse(Buffer.from(duplicates[0]?.data ?? []).toString()) as Record<string, unknown>;
      assert.equal(record.source, 'stripe');
      assert.equal(typeof record.first_event_id, 'string');
      assert.equal(typeof record.age_ms, 'number');
    } finally {
      await app.close();
    }
  });

  it('dedup: writes hs_lookup (idempotency key -> event) for a first delivery and its duplicate, kept 7 days', async () => {
    // Scenario: Stripe sends evt_look twice (two hookstream ids); FindEvents must find both by the provider id.
    const t = await setUp('d9');
    const app = buildApp(loadConfig(env('d9')), { logger });
    await app.run();
    try {
      const events = [
        { eventId: 'look-1', key: 'evt_look' },
        { eventId: 'look-2', key: 'evt_look' },
      ];
      await drained(jsm, t, await publishVerified(nats, t, events));
      const kv = await new Kvm(nats.nc).open(t.buckets.lookup);
      for (const e of events) {
        const entry = await kv.get(lookupKey('evt_look', e.eventId));
        assert.equal(entry?.operation, 'PUT', `an entry for ${e.eventId}`);
        const decoded = entry === null ? undefined : decodeLookupEntry(entry.value);
        assert.deepEqual({ ...decoded, at: 0 }, { event_id: e.eventId, source: 'stripe', key: 'evt_look', kind: 'idempotency_key', at: 0 });
      }
      const status = await kv.status();
      assert.equal(status.ttl, LOOKUP_TTL_MS, 'the bucket keeps entries as long as HS_RAW keeps webhooks');
    } finally {
      await app.close();
    }
  });

  it('dedup: two dedup replicas racing on the same keys let exactly one of each through', async () => {
    const t = await setUp('d2');
    // Small pulls, so both replicas get a share of the same burst.
    const replica = () => buildApp(loadConfig({ ...env('d2'), HS_DEDUP_CONCURRENCY: '2' }), { logger });
    const apps: DedupApp[] = [replica(), replica()];
    for (const app of apps) await app.run();
    try {
      // 150 keys, each sent three times with different event ids, all at once.
      const events: Planned[] = [];
      for (let i = 0; i < 150; i++) for (let copy = 0; copy < 3; copy++) events.push({ eventId: `r-${i}-${copy}`, key: `evt_race_${i}` });
      await drained(jsm, t, await publishVerified(nats, t, events));
      const keys = await uniqueKeys(jsm, t);
      assert.equal(keys.length, 150);
      assert.equal(new Set(keys).size, 150);
      assert.ok((apps[0]?.counts.unique ?? 0) > 0 && (apps[1]?.counts.unique ?? 0) > 0, 'both replicas did work');
    } finally {
      for (const app of apps) await app.close();
    }
  });

  it('dedup: concurrent claims on the real bucket: exactly one winner per key', async () => {
    const bucket = await openBucket(nats.nc, 'd3_hs_dedup', { replicas: 1, history: 1, ttlMs: 3_600_000 });
    const publisher = new AckingPublisher(nats.nc, 5_000);
    const a = new KvClaimStore(bucket, { publisher, bucket: 'd3_hs_dedup' });
    const b = new KvClaimStore(bucket);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => [
        a.create(`k.${i}`, { event_id: `a${i}`, first_seen_ms: 1 }),
        b.create(`k.${i}`, { event_id: `b${i}`, first_seen_ms: 1 }),
      ]).flat(),
    );
    const won = (r: number | undefined) => Number(r !== undefined);
    for (let i = 0; i < 100; i++) assert.equal(won(results[2 * i]) + won(results[2 * i + 1]), 1, `key ${i}`);
    // The fast path refuses an existing key too.
    assert.equal(await a.create('k.0', { event_id: 'late', first_seen_ms: 2 }), undefined);
    // Compare-and-set on both paths: the current revision wins once, a stale one never.
    const held = await a.get('k.0');
    assert.ok(held !== undefined);
    const marked = { ...held.claim, forwarded_ms: 3 };
    const next = await a.replace('k.0', marked, held.revision);
    assert.ok(next !== undefined && next > held.revision);
    assert.equal(await a.replace('k.0', marked, held.revision), undefined, 'fast path: a stale revision');
    assert.equal(await b.replace('k.0', marked, held.revision), undefined, 'client path: a stale revision');
    assert.deepEqual((await b.get('k.0'))?.claim, marked);
    publisher.close();
  });

  it('dedup: kill -9 mid-run loses nothing and passes nothing twice', async () => {
    // Scenario: the production entry point is killed with SIGKILL while it
    // works through a backlog, then started again. Every unique key must
    // reach hs.unique exactly once.
    const t = await setUp('d4');
    const { events, uniqueKeys: expected } = plan('k', 3000);
    const last = await publishVerified(nats, t, events);
    const start = async () => {
      const healthPort = await freePort();
      const child = spawn(process.execPath, [MAIN], {
        env: {
          ...process.env,
          ...env('d4'),
          HS_HEALTH_PORT: String(healthPort),
          HS_LOG_LEVEL: 'warn',
          HS_DEDUP_ACK_WAIT_MS: '2000',
          HS_DEDUP_CONCURRENCY: '1',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitForHttpOk(healthPort, '/readyz');
      return child;
    };
    const first = await start();
    await waitFor(
      'some progress',
      async () => ((await jsm.consumers.info(t.streams.pipe, 'dedup')).num_pending <= events.length - 200 ? true : undefined),
      30_000,
      5,
    );
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    const progressed = (await uniqueKeys(jsm, t)).length;
    assert.ok(progressed < expected, `killed mid-run (${progressed} of ${expected} done)`);
    const second = await start();
    try {
      await drained(jsm, t, last);
      const keys = await uniqueKeys(jsm, t);
      assert.equal(new Set(keys).size, expected, 'no unique key lost');
      assert.equal(keys.length, expected, 'no key passed twice');
    } finally {
      const gone = new Promise((resolve) => second.once('exit', resolve));
      second.kill('SIGTERM');
      await gone;
    }
  });
});
