import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { applyMigrations, ClickHouseRowStore, DEFAULT_MIGRATIONS_DIR, loadMigrations } from '@hookstream/clickhouse';
import { duplicateNoteKey, encodeLookupEntry, Header, LOOKUP_TTL_MS, lookupKey } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { encodeDuplicateNote } from '@hookstream/models';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { createLogger, type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import {
  type ClickHouseServer,
  connectTestNats,
  type NatsServer,
  rejectsWithStatus,
  startClickHouse,
  startNatsServer,
} from '@hookstream/testkit';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const NS = 'fd';
const t = topology(NS);
const TOKEN = 'find-token-0123456789abcdef';
const DB = 'hs_find_test';
const logger = createLogger({ service: 'test', level: 'silent' });

/** A UUIDv7 minted at `ms`, like ingest's event ids. */
function uuidV7(ms: number, n: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

describe('control: FindEvents and the events list against a real nats-server and ClickHouse', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let clickhouse: ClickHouseServer;
  let store: ClickHouseRowStore;
  let control: ControlApp;
  let api: ControlApi;

  /** Stores an event on HS_EVENTS exactly as route does. */
  async function event(id: string, source: string, type: string): Promise<number> {
    const h = headers();
    h.set(Header.eventId, id);
    h.set(Header.source, source);
    h.set(Header.eventType, type);
    h.set(Header.receivedAt, String(Date.now()));
    return (await jetstream(nats.nc).publish(t.events(source, type), '{}', { headers: h, msgID: `${id}:route` })).seq;
  }

  /** Stores a dead letter as a stage does; resolves to its HS_DLQ sequence. */
  async function deadLetter(id: string, stage: string, key: string, reason: string, detail: string, endpointId = ''): Promise<number> {
    const h = headers();
    h.set(Header.eventId, id);
    h.set(Header.source, 'stripe');
    h.set(Header.receivedAt, String(Date.now()));
    if (endpointId !== '') h.set(Header.endpointId, endpointId);
    h.set(Header.dlqStage, stage);
    h.set(Header.dlqReason, reason);
    h.set(Header.dlqDetail, detail);
    h.set(Header.dlqAt, String(Date.now()));
    return (await jetstream(nats.nc).publish(t.dlq(stage, key), '{"id":"x"}', { headers: h })).seq;
  }

  /** Indexes `key` -> `eventId` exactly as dedup does. */
  async function indexed(key: string, eventId: string): Promise<void> {
    const kv = await openBucket(nats.nc, t.buckets.lookup, { replicas: 1, history: 1, ttlMs: LOOKUP_TTL_MS });
    await kv.put(
      lookupKey(key, eventId),
      encodeLookupEntry({ event_id: eventId, source: 'stripe', key, kind: 'idempotency_key', at: Date.now() }),
    );
  }

  /** One delivery_attempts row as analytics writes it. */
  async function attempt(
    eventId: string,
    endpointId: string,
    n: number,
    outcome: string,
    at: number,
    nextRetryAt: number | null,
    excerpt = '',
    replay = '',
  ) {
    await store.client.insert({
      table: `${DB}.delivery_attempts`,
      values: [
        {
          row_id: replay === '' ? `${eventId}:${endpointId}:attempt:${n}` : `${eventId}:${endpointId}:${replay}:attempt:${n}:req-${n}`,
          event_id: eventId,
          endpoint_id: endpointId,
          source: 'stripe',
          event_type: 'charge.succeeded',
          attempt: n,
          status: outcome === 'success' ? 200 : outcome === 'http_5xx' ? 503 : null,
          outcome,
          latency_ms: 12,
          e2e_ms: 40,
          next_retry_at: nextRetryAt,
          response_excerpt: excerpt,
          at,
        },
      ],
      format: 'JSONEachRow',
    });
  }

  before(async () => {
    [server, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    nats = await connectTestNats(server.url);
    store = new ClickHouseRowStore({ url: clickhouse.url, database: DB, user: 'default', password: '', requestTimeoutMs: 10_000 });
    await applyMigrations(store, DB, loadMigrations(DEFAULT_MIGRATIONS_DIR, DB));
    const env = {
      HS_NATS_URL: server.url,
      HS_NAMESPACE: NS,
      HS_HEALTH_PORT: '0',
      HS_HEALTH_HOST: '127.0.0.1',
      HS_CONTROL_PORT: '0',
      HS_CONSOLE_PORT: '0',
      HS_CONTROL_HOST: '127.0.0.1',
      HS_CONTROL_TOKEN: TOKEN,
      HS_CLICKHOUSE_URL: clickhouse.url,
      HS_CLICKHOUSE_DATABASE: DB,
    };
    control = buildApp(loadConfig(env), { logger });
    await control.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await control?.close();
    await store?.close();
    await nats?.drain();
    await Promise.all([server?.stop(), clickhouse?.stop()]);
  });

  it('control: FindEvents answers "raw only: rejected at verify" with the reason, by event id, DLQ sequence and provider id', async () => {
    const id = uuidV7(Date.now(), 1);
    const seq = await deadLetter(id, 'verify', 'stripe', 'bad_signature', 'no v1 signature matches');
    // Verify indexes a rejected webhook's provider id (it never reaches dedup).
    await indexed('evt_forged_1', id);
    for (const [text, matchedBy] of [
      [id, 'event_id'],
      [String(seq), 'dead_letter_sequence'],
      ['evt_forged_1', 'idempotency_key'],
    ] as const) {
      const { found } = await api.findEvents({ text });
      assert.equal(found.length, 1, text);
      assert.equal(found[0]?.matchedBy, matchedBy);
      assert.equal(found[0]?.event?.eventId, id);
      assert.equal(found[0]?.event?.state?.state, 'dead_lettered');
      assert.equal(found[0]?.event?.state?.reason, 'bad_signature');
      assert.equal(found[0]?.summary, `raw only: rejected at verify (bad_signature: no v1 signature matches), DLQ sequence ${seq}`);
    }
  });

  it('control: FindEvents by a provider id answers the first delivery and its duplicate ("duplicate of X")', async () => {
    const [first, dup] = [uuidV7(Date.now(), 2), uuidV7(Date.now(), 3)];
    await event(first, 'stripe', 'charge.succeeded');
    await attempt(first, 'ep-a', 1, 'success', Date.now(), null, 'ok');
    const kv = await openBucket(nats.nc, t.buckets.dedup, { replicas: 1, history: 1, ttlMs: 72 * 3_600_000 });
    await kv.put(
      duplicateNoteKey(dup),
      encodeDuplicateNote({
        event_id: dup,
        source: 'stripe',
        idempotency_key: 'evt_dup_1',
        first_event_id: first,
        received_at: Date.now(),
        at: Date.now(),
      }),
    );
    await indexed('evt_dup_1', first);
    await indexed('evt_dup_1', dup);
    const { found } = await api.findEvents({ text: 'evt_dup_1' });
    assert.deepEqual(found.map((f) => f.matchedBy).sort(), ['idempotency_key', 'idempotency_key']);
    const byId = new Map(found.map((f) => [f.event?.eventId, f]));
    assert.equal(byId.get(dup)?.event?.duplicateOf, first);
    assert.match(
      byId.get(dup)?.summary ?? '',
      new RegExp(`^duplicate of ${first} \\(idempotency key evt_dup_1\\), which reached ${NS}\\.events\\.stripe\\.charge\\.succeeded`),
    );
    assert.deepEqual(
      byId.get(first)?.endpoints.map((e) => [e.endpointId, e.state, e.attempts]),
      [['ep-a', 'delivered', 1]],
    );
    assert.match(byId.get(first)?.summary ?? '', /endpoints: 1 delivered$/);
  });

  it('control: FindEvents says per endpoint: delivered, retrying with the next attempt time, dead-lettered with the last error', async () => {
    const id = uuidV7(Date.now(), 4);
    await event(id, 'stripe', 'charge.succeeded');
    await indexed('evt_multi', id);
    const now = Date.now();
    await attempt(id, 'ok', 1, 'success', now - 3_000, null, 'ok');
    await attempt(id, 'slow', 1, 'http_5xx', now - 2_000, now + 60_000, 'upstream down');
    await attempt(id, 'dead', 1, 'timeout', now - 1_000, null);
    await deadLetter(id, 'deliver', 'dead', 'max_attempts', 'timeout after 10000 ms', 'dead');
    const { found } = await api.findEvents({ text: 'evt_multi' });
    assert.equal(found.length, 1);
    const endpoints = found[0]?.endpoints ?? [];
    assert.deepEqual(
      endpoints.map((e) => ({ id: e.endpointId, state: e.state, next: e.nextAttemptAtMs, error: e.lastError, reason: e.reason })),
      [
        { id: 'dead', state: 'dead_lettered', next: 0, error: 'timeout after 10000 ms', reason: 'max_attempts' },
        { id: 'ok', state: 'delivered', next: 0, error: '', reason: '' },
        { id: 'slow', state: 'retrying', next: now + 60_000, error: 'http_5xx: HTTP 503: upstream down', reason: '' },
      ],
    );
    assert.match(found[0]?.summary ?? '', /endpoints: 1 dead-lettered, 1 delivered, 1 retrying$/);
  });

  it('control: FindEvents shows a dead-lettered delivery that a DLQ replay then delivered as delivered, with the replay', async () => {
    const id = uuidV7(Date.now(), 6);
    await event(id, 'stripe', 'charge.succeeded');
    await indexed('evt_replayed', id);
    const now = Date.now();
    await attempt(id, 'back', 1, 'connect', now - 5_000, null);
    const seq = await deadLetter(id, 'deliver', 'back', 'max_attempts', 'connection refused', 'back');
    await attempt(id, 'back', 1, 'success', Date.now() + 1_000, null, 'ok', `dlq-${seq}`);
    const { found } = await api.findEvents({ text: 'evt_replayed' });
    assert.deepEqual(
      found[0]?.endpoints.map((e) => ({ id: e.endpointId, state: e.state, attempts: e.attempts, replay: e.replay })),
      [{ id: 'back', state: 'delivered', attempts: 2, replay: `dlq-${seq}` }],
    );
  });

  it('control: FindEvents answers NOT_FOUND with a clear message for an unknown text', async () => {
    await rejectsWithStatus(
      api.findEvents({ text: 'evt_never_seen' }),
      status.NOT_FOUND,
      /nothing found for "evt_never_seen": .*provider id/,
    );
    await rejectsWithStatus(api.findEvents({ text: uuidV7(Date.now(), 999) }), status.NOT_FOUND, /nothing found/);
    await rejectsWithStatus(api.findEvents({ text: '999999999' }), status.NOT_FOUND, /nothing found/);
  });

  it('control: FindEvents refuses hostile input (10 KB, wildcards, control characters, empty) with INVALID_ARGUMENT', async () => {
    for (const text of ['x'.repeat(10_240), '>', '*', 'evt_*', 'hs.dlq.>', 'evt\n1', '', '   ']) {
      await rejectsWithStatus(api.findEvents({ text }), status.INVALID_ARGUMENT, /^text: /);
    }
  });

  it('control: ListEvents filters by delivery status and pages newest first with a cursor', async () => {
    // Scenario: five events of source "pager", delivered / failing / pending; pages of two, newest first.
    const ids = [0, 1, 2, 3, 4].map((n) => uuidV7(Date.now(), 500 + n));
    for (const id of ids) await event(id, 'pager', 'order.created');
    const now = Date.now();
    await attempt(ids[0] as string, 'ep', 1, 'success', now, null);
    await attempt(ids[1] as string, 'ep', 1, 'http_5xx', now, now + 1_000);
    await attempt(ids[3] as string, 'ep', 1, 'http_5xx', now - 1_000, null);
    await attempt(ids[3] as string, 'ep', 2, 'success', now, null);
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await api.listEvents({ source: 'pager', newestFirst: true, pageSize: 2, pageToken: token });
      seen.push(...page.events.map((e) => `${e.eventId}=${e.deliveryStatus}`));
      token = page.nextPageToken;
      pages++;
    } while (token !== '' && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [`${ids[4]}=pending`, `${ids[3]}=delivered`, `${ids[2]}=pending`, `${ids[1]}=failing`, `${ids[0]}=delivered`]);
    const delivered = await api.listEvents({ source: 'pager', newestFirst: true, pageSize: 50, status: 'delivered' });
    assert.deepEqual(
      delivered.events.map((e) => e.eventId),
      [ids[3], ids[0]],
    );
    const failing = await api.listEvents({ source: 'pager', sinceMs: now - 60_000, pageSize: 50, status: 'failing' });
    assert.deepEqual(
      failing.events.map((e) => e.eventId),
      [ids[1]],
    );
    await rejectsWithStatus(api.listEvents({ source: 'pager', status: 'lost' }), status.INVALID_ARGUMENT, /^status: must be one of/);
    await rejectsWithStatus(api.listEvents({ newestFirst: true, pageToken: 'abc' }), status.INVALID_ARGUMENT, /^page_token/);
  });
});
