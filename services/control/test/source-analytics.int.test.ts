import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { applyMigrations, ClickHouseRowStore, DEFAULT_MIGRATIONS_DIR, loadMigrations } from '@hookstream/clickhouse';
import { driftRowId, receivedRowId } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { createLogger } from '@hookstream/runtime';
import { type ClickHouseServer, type NatsServer, rejectsWithStatus, startClickHouse, startNatsServer } from '@hookstream/testkit';

const TOKEN = 'drift-token-0123456789abcdef';
const DB = 'hs_drift_test';
const logger = createLogger({ service: 'test', level: 'silent' });
const HOUR = 3_600_000;

const env = (server: NatsServer) => ({
  HS_NATS_URL: server.url,
  HS_NAMESPACE: 'drift',
  HS_HEALTH_PORT: '0',
  HS_HEALTH_HOST: '127.0.0.1',
  HS_CONTROL_PORT: '0',
  HS_CONSOLE_PORT: '0',
  HS_CONTROL_HOST: '127.0.0.1',
  HS_CONTROL_TOKEN: TOKEN,
});

/** A `drift` row as the analytics sink writes one from validate's record. */
const driftRow = (eventId: string, source: string, path: string, jsonType: string, at: number) => ({
  row_id: driftRowId(eventId, path),
  event_id: eventId,
  source,
  event_type: 'order.created',
  path,
  json_type: jsonType,
  at,
});

/** A `received` row as the analytics sink writes one from ingest's record. */
const receivedRow = (requestId: string, source: string, status: number, reason: string, at: number) => ({
  row_id: receivedRowId(requestId),
  request_id: requestId,
  event_id: status === 202 ? `evt-${requestId}` : '',
  source,
  status,
  reason,
  bytes: 100,
  received_at: at - 2,
  at,
});

describe('control: ListDrift and SourceHealth rejections against a real ClickHouse', () => {
  let server: NatsServer;
  let clickhouse: ClickHouseServer;
  let store: ClickHouseRowStore;
  let control: ControlApp;
  let api: ControlApi;
  const now = Date.now();

  before(async () => {
    [server, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    store = new ClickHouseRowStore({ url: clickhouse.url, database: DB, user: 'default', password: '', requestTimeoutMs: 10_000 });
    await applyMigrations(store, DB, loadMigrations(DEFAULT_MIGRATIONS_DIR, DB));
    // Scenario: source "shop" sent $.customer.tier (a string) in three events over the last three hours,
    // one of them inserted twice (the sink's retry); $.total (a number) once; $.legacy ten days ago
    // (outside the default week); source "crm" sent $.owner once.
    await store.client.insert({
      table: `${DB}.drift`,
      values: [
        driftRow('e1', 'shop', '$.customer.tier', 'string', now - 3 * HOUR),
        driftRow('e1', 'shop', '$.customer.tier', 'string', now - 3 * HOUR),
        driftRow('e2', 'shop', '$.customer.tier', 'string', now - 2 * HOUR),
        driftRow('e3', 'shop', '$.customer.tier', 'string', now - HOUR),
        driftRow('e2', 'shop', '$.total', 'number', now - 2 * HOUR),
        driftRow('e0', 'shop', '$.legacy', 'boolean', now - 240 * HOUR),
        driftRow('c1', 'crm', '$.owner', 'object', now - 30 * 60_000),
      ],
      format: 'JSONEachRow',
    });
    control = buildApp(loadConfig({ ...env(server), HS_CLICKHOUSE_URL: clickhouse.url, HS_CLICKHOUSE_DATABASE: DB }), { logger });
    await control.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await control?.close();
    await store?.close();
    await Promise.all([server?.stop(), clickhouse?.stop()]);
  });

  it('control: ListDrift answers one source fields with counts, first/last seen and the newest example, newest first', async () => {
    const got = await api.listDrift({ source: 'shop', sinceMs: 0, untilMs: 0, limit: 0 });
    assert.deepEqual(got.fields, [
      {
        source: 'shop',
        eventType: 'order.created',
        path: '$.customer.tier',
        jsonType: 'string',
        count: 3,
        firstSeenMs: now - 3 * HOUR,
        lastSeenMs: now - HOUR,
        exampleEventId: 'e3',
      },
      {
        source: 'shop',
        eventType: 'order.created',
        path: '$.total',
        jsonType: 'number',
        count: 1,
        firstSeenMs: now - 2 * HOUR,
        lastSeenMs: now - 2 * HOUR,
        exampleEventId: 'e2',
      },
    ]);
    assert.equal(got.untilMs - got.sinceMs, 7 * 24 * HOUR, 'defaults to the last 7 days');
  });

  it('control: ListDrift without a source answers every source; a window and a limit narrow it', async () => {
    const all = await api.listDrift({ source: '', sinceMs: 0, untilMs: 0, limit: 0 });
    assert.deepEqual(
      all.fields.map((f) => `${f.source}${f.path}`),
      ['crm$.owner', 'shop$.customer.tier', 'shop$.total'],
    );
    const old = await api.listDrift({ source: '', sinceMs: now - 300 * HOUR, untilMs: now - 200 * HOUR, limit: 0 });
    assert.deepEqual(
      old.fields.map((f) => [f.path, f.jsonType, f.count]),
      [['$.legacy', 'boolean', 1]],
    );
    const one = await api.listDrift({ source: '', sinceMs: 0, untilMs: 0, limit: 1 });
    assert.deepEqual(
      one.fields.map((f) => f.path),
      ['$.owner'],
    );
    const none = await api.listDrift({ source: 'nobody', sinceMs: 0, untilMs: 0, limit: 0 });
    assert.deepEqual(none.fields, []);
  });

  it('control: SourceHealth of one source lists its recent rejections newest first; of every source only the last; received and accepted requests count the window', async () => {
    // Scenario: "shop" had two verify rejections and a schema failure in the last hour; "crm" none.
    // Ingest answered shop q1 and q2 with 202 and q3 with 401 in the last hour (q1 written twice by the
    // sink's retry, counted once), and q0 with 202 two hours ago (outside the default hour).
    await api.createSource({
      configJson: JSON.stringify({ id: 'shop', provider: 'stripe', secrets: [{ id: 'k1', value: 'whsec_c2hvcA==' }] }),
    });
    await store.client.insert({
      table: `${DB}.rejections`,
      values: [
        {
          row_id: 'r1',
          event_id: 'r1',
          source: 'shop',
          stage: 'verify',
          reason: 'bad_signature',
          detail: 'no match',
          received_at: now - 50 * 60_000,
          at: now - 50 * 60_000,
        },
        {
          row_id: 'r2',
          event_id: 'r2',
          source: 'shop',
          stage: 'verify',
          reason: 'stale',
          detail: 'too old',
          received_at: now - 20 * 60_000,
          at: now - 20 * 60_000,
        },
      ],
      format: 'JSONEachRow',
    });
    await store.client.insert({
      table: `${DB}.schema_failures`,
      values: [
        {
          row_id: 's1',
          event_id: 's1',
          source: 'shop',
          stage: 'validate',
          event_type: 'order.created',
          reason: 'schema',
          errors: '[{"path":"/total"}]',
          error_count: 1,
          received_at: now - 30 * 60_000,
          at: now - 30 * 60_000,
        },
      ],
      format: 'JSONEachRow',
    });
    await store.client.insert({
      table: `${DB}.received`,
      values: [
        receivedRow('q1', 'shop', 202, '', now - 40 * 60_000),
        receivedRow('q1', 'shop', 202, '', now - 40 * 60_000),
        receivedRow('q2', 'shop', 202, '', now - 25 * 60_000),
        receivedRow('q3', 'shop', 401, 'bad_signature', now - 10 * 60_000),
        receivedRow('q0', 'shop', 202, '', now - 2 * HOUR),
      ],
      format: 'JSONEachRow',
    });
    const one = await api.sourceHealth({ source: 'shop', sinceMs: 0, untilMs: 0 });
    const shop = one.sources[0];
    assert.deepEqual([shop?.received, shop?.acceptedRequests], [3, 2]);
    const wide = await api.sourceHealth({ source: 'shop', sinceMs: now - 3 * HOUR, untilMs: now });
    assert.deepEqual([wide.sources[0]?.received, wide.sources[0]?.acceptedRequests], [4, 3], 'q0 is in a 3-hour window');
    assert.deepEqual(
      shop?.recentRejections.map((r) => [r.eventId, r.stage, r.reason, r.detail]),
      [
        ['r2', 'verify', 'stale', 'too old'],
        ['s1', 'validate', 'schema', '[{"path":"/total"}]'],
        ['r1', 'verify', 'bad_signature', 'no match'],
      ],
    );
    assert.equal(shop?.lastRejection?.eventId, 'r2');
    assert.deepEqual(shop?.rejections, { 'verify/bad_signature': 1, 'verify/stale': 1, 'validate/schema': 1 });
    const all = await api.sourceHealth({ source: '', sinceMs: 0, untilMs: 0 });
    assert.equal(all.sources.find((s) => s.sourceId === 'shop')?.lastRejection?.eventId, 'r2');
    assert.deepEqual(all.sources.find((s) => s.sourceId === 'shop')?.recentRejections, []);
    assert.deepEqual(
      all.sources.map((s) => [s.sourceId, s.received, s.acceptedRequests]),
      [['shop', 3, 2]],
    );
  });

  it('control: ListDrift refuses a bad source id, a reversed window and a limit over 500', async () => {
    await rejectsWithStatus(api.listDrift({ source: 'a b', sinceMs: 0, untilMs: 0, limit: 0 }), status.INVALID_ARGUMENT, /source/);
    await rejectsWithStatus(api.listDrift({ source: '', sinceMs: 2_000, untilMs: 1_000, limit: 0 }), status.INVALID_ARGUMENT, /since_ms/);
    await rejectsWithStatus(api.listDrift({ source: '', sinceMs: 0, untilMs: 0, limit: 501 }), status.INVALID_ARGUMENT, /limit/);
  });
});

describe('control: ListDrift without ClickHouse', () => {
  let server: NatsServer;
  let control: ControlApp;
  let api: ControlApi;

  before(async () => {
    server = await startNatsServer();
    control = buildApp(loadConfig(env(server)), { logger });
    await control.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await control?.close();
    await server?.stop();
  });

  it('control: ListDrift is UNIMPLEMENTED and says to set HS_CLICKHOUSE_URL', async () => {
    await rejectsWithStatus(api.listDrift({ source: '', sinceMs: 0, untilMs: 0, limit: 0 }), status.UNIMPLEMENTED, /HS_CLICKHOUSE_URL/);
  });
});
