import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { applyMigrations, ClickHouseRowStore, DEFAULT_MIGRATIONS_DIR, loadMigrations } from '@hookstream/clickhouse';
import { duplicateNoteKey, encodeEndpointState, Header } from '@hookstream/contracts';
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
  storedMessages,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { NO_CLICKHOUSE_NOTE } from '../src/attempts.ts';

const NS = 'ev';
const t = topology(NS);
const TOKEN = 'events-token-0123456789abcdef';
const SECRETS = [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }];
const logger = createLogger({ service: 'test', level: 'silent' });

/**
 * Resolves once the wall clock has left the millisecond it was called in.
 * nats-server stamps a stored message with the same clock, so a time read
 * after this is later than every message acknowledged before the call, and
 * a message published after it is later than every time read before.
 */
async function clockTick(): Promise<void> {
  const calledAt = Date.now();
  await waitFor('the clock to pass the last stored message', () => (Date.now() > calledAt ? true : undefined), 1_000, 1);
}

/** A UUIDv7 minted at `ms`, like ingest's event ids. */
function uuidV7(ms: number, n: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

const env = (server: NatsServer) => ({
  HS_NATS_URL: server.url,
  HS_NAMESPACE: NS,
  HS_HEALTH_PORT: '0',
  HS_HEALTH_HOST: '127.0.0.1',
  HS_CONTROL_PORT: '0',
  HS_CONSOLE_PORT: '0',
  HS_CONTROL_HOST: '127.0.0.1',
  HS_CONTROL_TOKEN: TOKEN,
});

describe('control: events and replay against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let control: ControlApp;
  let api: ControlApi;

  /** Stores an event on HS_EVENTS exactly as route does. */
  async function event(id: string, source: string, type: string, body: string): Promise<number> {
    const h = headers();
    h.set(Header.eventId, id);
    h.set(Header.source, source);
    h.set(Header.eventType, type);
    h.set(Header.receivedAt, String(Date.now()));
    h.set('hs-h-content-type', 'application/json');
    const ack = await jetstream(nats.nc).publish(t.events(source, type), body, { headers: h, msgID: `${id}:route` });
    return ack.seq;
  }

  const tasks = async (endpoint: string) => storedMessages(jsm, t.streams.delivery, t.deliver(endpoint));

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    control = buildApp(loadConfig(env(server)), { logger });
    await control.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await control?.close();
    await nats?.drain();
    await server?.stop();
  });

  it('control: GetEvent finds an event by id (UUIDv7 or not) with headers, subject and body; attempts need ClickHouse', async () => {
    const id = uuidV7(Date.now(), 1);
    const seq = await event(id, 'stripe', 'charge.succeeded', '{"id":"ch_1"}');
    await event('legacy-id-1', 'github', 'push', '{"ref":"main"}');
    const got = await api.getEvent({ eventId: id });
    assert.equal(got.sequence, seq);
    assert.equal(got.subject, `${NS}.events.stripe.charge.succeeded`);
    assert.equal(got.source, 'stripe');
    assert.equal(got.eventType, 'charge.succeeded');
    assert.equal(Buffer.from(got.payload).toString(), '{"id":"ch_1"}');
    assert.ok(got.headers.some((h) => h.name === 'hs-h-content-type' && h.value === 'application/json'));
    assert.deepEqual(got.attempts, []);
    assert.equal(got.attemptsNote, NO_CLICKHOUSE_NOTE);
    const legacy = await api.getEvent({ eventId: 'legacy-id-1' });
    assert.equal(Buffer.from(legacy.payload).toString(), '{"ref":"main"}');
    await rejectsWithStatus(api.getEvent({ eventId: uuidV7(Date.now(), 99) }), status.NOT_FOUND);
    await rejectsWithStatus(api.getEvent({ eventId: 'nope' }), status.NOT_FOUND);
    await rejectsWithStatus(api.getEvent({}), status.INVALID_ARGUMENT, /^event_id/);
  });

  it('control: GetEvent answers a duplicate with "duplicate of" the first event and where that one is; a dead-lettered id answers from its dead letter', async () => {
    // Scenario: dedup noted three dropped duplicates (as it does in hs_dedup). The first of one was
    // dead-lettered at validate, another reached HS_EVENTS through a DLQ replay, the third is nowhere.
    const now = Date.now();
    const kv = await openBucket(nats.nc, t.buckets.dedup, { replicas: 1, history: 1, ttlMs: 72 * 3_600_000 });
    const note = async (dup: string, first: string) =>
      kv.put(
        duplicateNoteKey(dup),
        encodeDuplicateNote({
          event_id: dup,
          source: 'demo',
          idempotency_key: 'sha256:ab',
          first_event_id: first,
          received_at: now,
          at: now + 5,
        }),
      );
    const [deadFirst, replayedFirst, goneFirst] = [uuidV7(now, 201), uuidV7(now, 202), uuidV7(now, 203)];
    await note('dup-a', deadFirst);
    await note('dup-b', replayedFirst);
    await note('dup-c', goneFirst);
    const dl = headers();
    dl.set(Header.eventId, deadFirst);
    dl.set(Header.source, 'demo');
    dl.set(Header.receivedAt, String(now));
    dl.set(Header.dlqStage, 'validate');
    dl.set(Header.dlqReason, 'missing_event_type');
    dl.set(Header.dlqDetail, 'the source names no event type locator');
    dl.set(Header.dlqAt, String(now + 3));
    const dlSeq = (await jetstream(nats.nc).publish(t.dlq('validate', 'demo'), '{"type":"demo.ping"}', { headers: dl })).seq;
    const ev = headers();
    ev.set(Header.eventId, replayedFirst);
    ev.set(Header.source, 'demo');
    ev.set(Header.eventType, 'demo.ping');
    ev.set(Header.receivedAt, String(now));
    ev.set(Header.replay, 'dlq-7');
    await jetstream(nats.nc).publish(t.events('demo', 'demo.ping'), '{}', { headers: ev });

    const a = await api.getEvent({ eventId: 'dup-a' });
    assert.equal(a.duplicateOf, deadFirst);
    assert.equal(a.idempotencyKey, 'sha256:ab');
    assert.equal(a.source, 'demo');
    assert.equal(a.receivedAtMs, now);
    assert.deepEqual(a.attempts, []);
    assert.match(a.attemptsNote, /duplicate of .* dead-lettered at validate\/missing_event_type/);
    assert.deepEqual(a.state, {
      eventId: deadFirst,
      state: 'dead_lettered',
      subject: '',
      replay: '',
      stage: 'validate',
      reason: 'missing_event_type',
      detail: 'the source names no event type locator',
      deadLetterSequence: dlSeq,
      deadLetteredAtMs: now + 3,
    });
    const b = await api.getEvent({ eventId: 'dup-b' });
    assert.equal(b.duplicateOf, replayedFirst);
    assert.equal(b.state?.state, 'events');
    assert.equal(b.state?.subject, `${NS}.events.demo.demo.ping`);
    assert.equal(b.state?.replay, 'dlq-7');
    const c = await api.getEvent({ eventId: 'dup-c' });
    assert.equal(c.duplicateOf, goneFirst);
    assert.equal(c.state?.state, 'unknown');

    // The first events themselves: one answers from HS_EVENTS, the other from its dead letter.
    const stored = await api.getEvent({ eventId: replayedFirst });
    assert.equal(stored.duplicateOf, '');
    assert.equal(stored.state?.state, 'events');
    const dead = await api.getEvent({ eventId: deadFirst });
    assert.equal(dead.duplicateOf, '');
    assert.equal(dead.state?.state, 'dead_lettered');
    assert.equal(dead.state?.reason, 'missing_event_type');
    assert.equal(dead.source, 'demo');
    assert.equal(Buffer.from(dead.payload).toString(), '{"type":"demo.ping"}');
    await rejectsWithStatus(api.getEvent({ eventId: goneFirst }), status.NOT_FOUND, /not a duplicate/);
  });

  it('control: ListEvents filters by source, type pattern and time window, and pages', async () => {
    await clockTick();
    const since = Date.now();
    await event('l-1', 'shop', 'order.created', '{}');
    await event('l-2', 'shop', 'order.paid', '{}');
    await event('l-3', 'shop', 'refund.created', '{}');
    await event('l-4', 'other', 'order.created', '{}');
    await clockTick();
    const middle = Date.now();
    await clockTick();
    await event('l-5', 'shop', 'order.created', '{"late":true}');
    const ids = (r: { events: { eventId: string }[] }) => r.events.map((e) => e.eventId);
    assert.deepEqual(ids(await api.listEvents({ sinceMs: since })), ['l-1', 'l-2', 'l-3', 'l-4', 'l-5']);
    assert.deepEqual(ids(await api.listEvents({ sinceMs: since, source: 'shop' })), ['l-1', 'l-2', 'l-3', 'l-5']);
    assert.deepEqual(ids(await api.listEvents({ sinceMs: since, eventType: 'order.*' })), ['l-1', 'l-2', 'l-4', 'l-5']);
    assert.deepEqual(ids(await api.listEvents({ sinceMs: since, eventType: '*.created', source: 'shop' })), ['l-1', 'l-3', 'l-5']);
    assert.deepEqual(ids(await api.listEvents({ sinceMs: since, untilMs: middle })), ['l-1', 'l-2', 'l-3', 'l-4']);
    const first = await api.listEvents({ sinceMs: since, pageSize: 2 });
    assert.deepEqual(ids(first), ['l-1', 'l-2']);
    assert.notEqual(first.nextPageToken, '');
    const second = await api.listEvents({ sinceMs: since, pageSize: 3, pageToken: first.nextPageToken });
    assert.deepEqual(ids(second), ['l-3', 'l-4', 'l-5']);
    assert.equal(second.nextPageToken, '');
    const [one] = (await api.listEvents({ sinceMs: middle })).events;
    assert.equal(one?.payload.length, 0, 'no body in a listing');
    assert.equal(one?.payloadSize, 13);
    assert.deepEqual(ids(await api.listEvents({ sinceMs: Date.now() + 60_000 })), []);
    await rejectsWithStatus(api.listEvents({ pageToken: 'x' }), status.INVALID_ARGUMENT, /^page_token/);
    await rejectsWithStatus(api.listEvents({ sinceMs: 10, untilMs: 5 }), status.INVALID_ARGUMENT, /^until_ms/);
  });

  it('control: ReplayToEndpoint publishes delivery tasks with {event}:{endpoint}:replay:{request}; a repeat is a duplicate', async () => {
    // Scenario: three events in the window, one the endpoint does not subscribe to;
    // a replay makes two tasks, the same request again none, a new request two more.
    await api.createEndpoint({
      configJson: JSON.stringify({ id: 'warehouse', url: 'https://wh.example/h', eventTypes: ['invoice.*'], secrets: SECRETS }),
    });
    await clockTick();
    const since = Date.now();
    await event('r-1', 'billing', 'invoice.paid', '{"n":1}');
    await event('r-2', 'billing', 'customer.created', '{"n":2}');
    await event('r-3', 'billing', 'invoice.voided', '{"n":3}');
    const started = Date.now();
    const first = await api.replayToEndpoint({ endpointId: 'warehouse', sinceMs: since, requestId: 'req-1', maxPerSecond: 10 });
    assert.ok(Date.now() - started >= 90, 'two at 10/s take at least 100 ms (less timer slack)');
    assert.deepEqual(first, { replayed: 2, duplicates: 0, skipped: 1, requestId: 'req-1', truncated: false });
    const stored = await tasks('warehouse');
    assert.deepEqual(
      stored.map((m) => m.header.get('Nats-Msg-Id')),
      ['r-1:warehouse:replay:req-1', 'r-3:warehouse:replay:req-1'],
    );
    const [task] = stored;
    assert.equal(task?.subject, `${NS}.hs.deliver.warehouse`);
    assert.equal(Buffer.from(task?.data ?? []).toString(), '{"n":1}');
    assert.equal(task?.header.get(Header.endpointId), 'warehouse');
    assert.equal(task?.header.get(Header.eventId), 'r-1');
    assert.equal(task?.header.get('hs-h-content-type'), 'application/json');
    const again = await api.replayToEndpoint({ endpointId: 'warehouse', sinceMs: since, requestId: 'req-1' });
    assert.deepEqual([again.replayed, again.duplicates], [0, 2]);
    assert.equal((await tasks('warehouse')).length, 2);
    const other = await api.replayToEndpoint({ endpointId: 'warehouse', sinceMs: since, typePattern: 'invoice.paid', limit: 5 });
    assert.equal(other.replayed, 1);
    assert.match(other.requestId, /^[0-9a-f-]{36}$/);
    const limited = await api.replayToEndpoint({ endpointId: 'warehouse', sinceMs: since, limit: 1, requestId: 'req-2' });
    assert.deepEqual([limited.replayed, limited.truncated], [1, true]);
    assert.equal((await tasks('warehouse')).length, 4);
  });

  it('control: ReplayToEndpoint sends only what route would: the filter runs on the body, and nothing goes to an endpoint deliver disabled on a 410', async () => {
    // Scenario: three orders in the window; the endpoint's filter wants totals
    // over 100, one body is not JSON (the filter fails: skipped, as route
    // dead-letters it for that endpoint). Then deliver marks the endpoint gone
    // (hs_endpoint_state) and a replay of the window, or of one event, sends nothing.
    await api.createEndpoint({
      configJson: JSON.stringify({
        id: 'big-orders',
        url: 'https://big.example/h',
        eventTypes: ['order.*'],
        filter: 'data.total >= 100',
        secrets: SECRETS,
      }),
    });
    const since = Date.now();
    await event('f-1', 'shop', 'order.created', '{"total":500}');
    await event('f-2', 'shop', 'order.created', '{"total":5}');
    await event('f-3', 'shop', 'order.created', 'not json');
    const first = await api.replayToEndpoint({ endpointId: 'big-orders', source: 'shop', sinceMs: since, requestId: 'req-f' });
    assert.deepEqual(first, { replayed: 1, duplicates: 0, skipped: 2, requestId: 'req-f', truncated: false });
    assert.deepEqual(
      (await tasks('big-orders')).map((m) => m.header.get('Nats-Msg-Id')),
      ['f-1:big-orders:replay:req-f'],
    );
    const small = await api.replayToEndpoint({ endpointId: 'big-orders', eventId: 'f-2', requestId: 'req-s' });
    assert.deepEqual([small.replayed, small.skipped], [0, 1]);

    const state = await openBucket(nats.nc, t.buckets.endpointState, { replicas: 1 });
    await state.put('big-orders', encodeEndpointState({ disabled: true, reason: 'gone', at: Date.now() }));
    await waitFor('control sees the 410 state', async () =>
      (await api.endpointHealth({ endpoint: 'big-orders' })).endpoints[0]?.disabledReason === 'gone' ? true : undefined,
    );
    const gone = await api.replayToEndpoint({ endpointId: 'big-orders', source: 'shop', sinceMs: since, requestId: 'req-g' });
    assert.deepEqual(gone, { replayed: 0, duplicates: 0, skipped: 3, requestId: 'req-g', truncated: false });
    const one = await api.replayToEndpoint({ endpointId: 'big-orders', eventId: 'f-1', requestId: 'req-o' });
    assert.deepEqual([one.replayed, one.skipped], [0, 1]);
    assert.equal((await tasks('big-orders')).length, 1);
  });

  it('control: ReplayToEndpoint refuses an unknown (NOT_FOUND) or disabled (FAILED_PRECONDITION) endpoint and a missing since', async () => {
    await rejectsWithStatus(api.replayToEndpoint({ endpointId: 'ghost', sinceMs: 1 }), status.NOT_FOUND);
    await api.createEndpoint({ configJson: JSON.stringify({ id: 'off', url: 'https://off.example/h', enabled: false, secrets: SECRETS }) });
    await rejectsWithStatus(api.replayToEndpoint({ endpointId: 'off', sinceMs: 1 }), status.FAILED_PRECONDITION, /disabled/);
    await rejectsWithStatus(api.replayToEndpoint({ endpointId: 'off' }), status.INVALID_ARGUMENT, /^since_ms/);
    await rejectsWithStatus(
      api.replayToEndpoint({ endpointId: 'off', sinceMs: 1, requestId: 'a b' }),
      status.INVALID_ARGUMENT,
      /^request_id/,
    );
  });
});

describe('control: GetEvent attempts from a real ClickHouse', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let clickhouse: ClickHouseServer;
  let store: ClickHouseRowStore;
  let control: ControlApp;
  let api: ControlApi;
  const DB = 'hs_control_test';

  before(async () => {
    [server, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    nats = await connectTestNats(server.url);
    store = new ClickHouseRowStore({ url: clickhouse.url, database: DB, user: 'default', password: '', requestTimeoutMs: 10_000 });
    await applyMigrations(store, DB, loadMigrations(DEFAULT_MIGRATIONS_DIR, DB));
    control = buildApp(loadConfig({ ...env(server), HS_CLICKHOUSE_URL: clickhouse.url, HS_CLICKHOUSE_DATABASE: DB }), { logger });
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

  it('control: Stats answers success rate, percentiles and outcome counts per endpoint from the views', async () => {
    // Scenario: endpoint "st" had 4 attempts a minute ago: 3 successes (10, 20, 30 ms) and a timeout (3000 ms).
    const at = Date.now() - 60_000;
    const row = (n: number, outcome: string, latency: number) => ({
      row_id: `st-${n}`,
      event_id: `st-${n}`,
      endpoint_id: 'st',
      source: 'stripe',
      event_type: 'charge.succeeded',
      attempt: 1,
      status: outcome === 'success' ? 200 : null,
      outcome,
      latency_ms: latency,
      e2e_ms: latency + 5,
      next_retry_at: null,
      response_excerpt: '',
      at,
    });
    await store.client.insert({
      table: `${DB}.delivery_attempts`,
      values: [row(1, 'success', 10), row(2, 'success', 20), row(3, 'success', 30), row(4, 'timeout', 3_000)],
      format: 'JSONEachRow',
    });
    const got = await api.stats({ source: '', endpoint: 'st', sinceMs: 0, untilMs: 0 });
    assert.equal(got.endpoints.length, 1);
    const st = got.endpoints[0];
    assert.equal(st?.endpointId, 'st');
    assert.equal(st?.attempts, 4);
    assert.equal(st?.successes, 3);
    assert.equal(st?.successRate, 0.75);
    assert.ok((st?.latencyP50Ms ?? 0) >= 20 && (st?.latencyP50Ms ?? 0) <= 30, `p50 ${st?.latencyP50Ms}`);
    assert.ok((st?.latencyP99Ms ?? 0) > 1_000, `p99 ${st?.latencyP99Ms}`);
    assert.deepEqual(st?.outcomes, { success: 3, timeout: 1 });
    assert.ok(got.untilMs - got.sinceMs === 3_600_000, 'defaults to the last hour');
    const none = await api.stats({ source: '', endpoint: 'nobody', sinceMs: 0, untilMs: 0 });
    assert.deepEqual(none.endpoints, []);
  });

  it('control: GetEvent lists the event delivery_attempts rows, oldest first, with the replay each belongs to', async () => {
    // Rows from before request ids (`…:attempt:{n}`) and after (`…:attempt:{n}:{request}`),
    // including attempt 1 of the replay twice: two HTTP requests, two rows.
    const h = headers();
    h.set(Header.eventId, 'evt-ch');
    h.set(Header.source, 'stripe');
    h.set(Header.eventType, 'charge.succeeded');
    await jetstream(nats.nc).publish(t.events('stripe', 'charge.succeeded'), '{}', { headers: h });
    const row = (attempt: number, outcome: string, st: number | null, at: number, replay = '', request = '') => ({
      row_id: `${replay === '' ? `evt-ch:wh:attempt:${attempt}` : `evt-ch:wh:${replay}:attempt:${attempt}`}${request === '' ? '' : `:${request}`}`,
      event_id: 'evt-ch',
      endpoint_id: 'wh',
      source: 'stripe',
      event_type: 'charge.succeeded',
      attempt,
      status: st,
      outcome,
      latency_ms: 12,
      e2e_ms: 40,
      next_retry_at: outcome === 'success' ? null : at + 1_000,
      response_excerpt: outcome === 'success' ? 'ok' : 'bad gateway',
      at,
    });
    await store.client.insert({
      table: `${DB}.delivery_attempts`,
      values: [
        row(2, 'http_4xx', 400, 2_000, '', '6b1f0e7a-0c52-4d8e-9f3a-1c2b3d4e5f60'),
        row(1, 'http_5xx', 502, 1_000),
        row(1, 'success', 200, 3_000, 'dlq-9', '0f8c2a9e-5d1b-4c3e-9a7f-2b6d8e1c4f30'),
        row(1, 'success', 200, 4_000, 'dlq-9', '9d2e4b1c-7a3f-4e8d-b5c6-0a1b2c3d4e5f'),
      ],
      format: 'JSONEachRow',
    });
    const got = await api.getEvent({ eventId: 'evt-ch' });
    assert.equal(got.attemptsNote, '');
    assert.deepEqual(got.attempts, [
      {
        endpointId: 'wh',
        attempt: 1,
        status: 502,
        outcome: 'http_5xx',
        latencyMs: 12,
        atMs: 1_000,
        nextRetryAtMs: 2_000,
        responseExcerpt: 'bad gateway',
        replay: '',
        error: '',
      },
      {
        endpointId: 'wh',
        attempt: 2,
        status: 400,
        outcome: 'http_4xx',
        latencyMs: 12,
        atMs: 2_000,
        nextRetryAtMs: 3_000,
        responseExcerpt: 'bad gateway',
        replay: '',
        error: '',
      },
      {
        endpointId: 'wh',
        attempt: 1,
        status: 200,
        outcome: 'success',
        latencyMs: 12,
        atMs: 3_000,
        nextRetryAtMs: 0,
        responseExcerpt: 'ok',
        replay: 'dlq-9',
        error: '',
      },
      {
        endpointId: 'wh',
        attempt: 1,
        status: 200,
        outcome: 'success',
        latencyMs: 12,
        atMs: 4_000,
        nextRetryAtMs: 0,
        responseExcerpt: 'ok',
        replay: 'dlq-9',
        error: '',
      },
    ]);
  });
});
