import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AnalyticsApp,
  buildApp,
  type ClickHouseRowStore,
  inDatabase,
  loadConfig,
  QUERIES,
  type QueryName,
  type RowStore,
} from '@hookstream/analytics';
import {
  AckingPublisher,
  createLogger,
  ensureStreams,
  Header,
  type NatsHandle,
  ObsPublisher,
  streamConfigs,
  type Topology,
  topology,
} from '@hookstream/runtime';
import {
  type ClickHouseServer,
  connectTestNats,
  httpRequest,
  type NatsServer,
  startClickHouse,
  startNatsServer,
  storedMessages,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { ALL_RECORDS, ATTEMPTS, EXPECTED, rounded, T0 } from './fixtures.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('analytics against a real nats-server and ClickHouse', () => {
  let nats: NatsServer;
  let clickhouse: ClickHouseServer;
  let nc: NatsHandle;
  let jsm: JetStreamManager;

  before(async () => {
    [nats, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    nc = await connectTestNats(nats.url);
    jsm = await jetstreamManager(nc.nc);
  });

  after(async () => {
    await nc?.drain();
    await Promise.all([nats?.stop(), clickhouse?.stop()]);
  });

  async function setUp(ns: string): Promise<Topology> {
    const t = topology(ns);
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    return t;
  }

  const env = (ns: string, db: string) => ({
    HS_NATS_URL: nats.url,
    HS_NAMESPACE: ns,
    HS_HEALTH_PORT: '0',
    HS_HEALTH_HOST: '127.0.0.1',
    HS_CLICKHOUSE_URL: clickhouse.url,
    HS_CLICKHOUSE_DATABASE: db,
    HS_ANALYTICS_BATCH_INTERVAL_MS: '1000',
    HS_ANALYTICS_ACK_WAIT_MS: '5000',
    HS_CLICKHOUSE_TIMEOUT_MS: '3000',
  });

  async function drained(t: Topology): Promise<void> {
    await waitFor(
      'hs.obs to drain',
      async () => {
        const info = await jsm.consumers.info(t.streams.obs, 'analytics').catch(() => undefined);
        return info && info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      },
      60_000,
      100,
    );
  }

  async function count(db: string, sql: string): Promise<number> {
    return Number((await clickhouse.query(inDatabase(sql, db))).trim());
  }

  it('analytics: records of every kind become rows, the views aggregate them, bad records are dead-lettered', async () => {
    const t = await setUp('a1');
    const app = buildApp(loadConfig(env('a1', 'hs_it')), { logger });
    await app.run();
    const publisher = new AckingPublisher(nc.nc, 10_000);
    try {
      const obs = new ObsPublisher(publisher, t);
      await Promise.all(ALL_RECORDS.map((r, i) => obs.record(r.kind, r, `rec-${i}`)));
      // A producer's retry after the stream's duplicate window: same record, new Nats-Msg-Id.
      await obs.record('attempt', ATTEMPTS[0] as object, 'rec-0-again');
      const bad = (subject: string, body: string, id: string) => {
        const h = headers();
        h.set('Nats-Msg-Id', id);
        h.set(Header.eventId, id);
        return publisher.publish(t.obs(subject), new TextEncoder().encode(body), h);
      };
      await bad('attempt', '{not json', 'bad-1');
      await bad('bogus', JSON.stringify({ kind: 'bogus', event_id: 'b', at: T0 }), 'bad-2');
      await bad('attempt', JSON.stringify({ ...ATTEMPTS[0], outcome: 'teapot', event_id: 'b3' }), 'bad-3');
      await drained(t);

      const tables = { delivery_attempts: 10, rejections: 4, duplicates: 3, schema_failures: 2, drift: 4, delivery_skipped: 1 };
      for (const [table, n] of Object.entries(tables)) {
        assert.equal(await count('hs_it', `SELECT count() FROM hookstream.${table}`), n, table);
      }
      for (const name of Object.keys(QUERIES) as QueryName[]) {
        const rows = await app.clickhouse().select(inDatabase(QUERIES[name].sql, 'hs_it'));
        assert.deepEqual(rounded(rows), rounded(EXPECTED[name]), `query ${name}`);
      }
      assert.equal(await count('hs_it', 'SELECT countMerge(duplicates) FROM hookstream.source_duplicates_minute'), 3);

      const dlq = await storedMessages(jsm, t.streams.dlq, t.dlq('analytics', 'obs'));
      assert.deepEqual(dlq.map((m) => m.header.get(Header.dlqReason)).sort(), ['invalid_record', 'unknown_kind', 'unparseable']);
      assert.equal(app.sink().counts.deadLettered, 3);
      const ready = await httpRequest({ port: app.healthPort(), path: '/readyz' });
      assert.equal(ready.status, 200);
    } finally {
      publisher.close();
      await app.close();
    }
  });

  // Scenario: the client gives up on an INSERT (a timeout) that ClickHouse
  // goes on to apply 600 ms later. The store below sends the first INSERT
  // late, after reporting it failed, and reports its query id as running
  // until it is applied; storage and existence checks are the real
  // ClickHouse. The sink's retry must wait for that INSERT, see its rows and
  // send nothing twice.
  it('analytics: a retry waits for a failed INSERT that ClickHouse is still running, so no row is written twice', async () => {
    const t = await setUp('a3');
    const db = 'hs_late';
    let real: ClickHouseRowStore | undefined;
    const late = new Set<string>();
    let delayed = 0;
    const store: RowStore = {
      insert: async (table, rows, queryId) => {
        if (real === undefined) throw new Error('not ready');
        if (delayed === 0 && queryId !== undefined) {
          delayed++;
          late.add(queryId);
          const target = real;
          setTimeout(() => {
            void target.insert(table, rows, queryId).finally(() => late.delete(queryId));
          }, 600);
          throw new Error('Timeout error (the client gave up)');
        }
        return real.insert(table, rows, queryId);
      },
      existingIds: (table, rows) => (real as ClickHouseRowStore).existingIds(table, rows),
      running: async (ids) => new Set([...(await (real as ClickHouseRowStore).running(ids)), ...ids.filter((id) => late.has(id))]),
    };
    const app = buildApp(loadConfig(env('a3', db)), { logger, store, retryDelayMs: () => 50 });
    await app.run();
    real = app.clickhouse();
    const publisher = new AckingPublisher(nc.nc, 10_000);
    try {
      const obs = new ObsPublisher(publisher, t);
      const records = Array.from({ length: 200 }, (_, n) => ({ ...ATTEMPTS[n % ATTEMPTS.length], event_id: `late${n}`, at: T0 + n }));
      await Promise.all(records.map((r, n) => obs.record('attempt', r, `late${n}`)));
      await drained(t);
      assert.equal(delayed, 1, 'the first INSERT was the late one');
      await waitFor('the late INSERT to land', () => (late.size === 0 ? true : undefined));
      assert.equal(await count(db, 'SELECT count() FROM hookstream.delivery_attempts'), 200, 'raw rows, no FINAL');
      assert.equal(await count(db, 'SELECT countMerge(attempts) FROM hookstream.endpoint_minute'), 200, 'view');
      assert.ok(app.sink().counts.settleWaits > 0, 'the retry waited for it');
    } finally {
      publisher.close();
      await app.close();
    }
  });

  // Scenario: attempt records keep arriving while ClickHouse is killed for
  // 10 s mid-run and restarted. The outage backs up in JetStream, /readyz
  // says so, and after the restart everything drains: every record is a row
  // exactly once, in the raw table (without FINAL) and in the view.
  it('analytics: a 10 s ClickHouse outage loses no row and doubles none', { timeout: 120_000 }, async () => {
    const t = await setUp('a2');
    const app: AnalyticsApp = buildApp(loadConfig(env('a2', 'hs_out')), { logger, retryDelayMs: () => 200 });
    await app.run();
    const publisher = new AckingPublisher(nc.nc, 10_000);
    const obs = new ObsPublisher(publisher, t);
    let sent = 0;
    let publishing = true;
    const producer = (async () => {
      while (publishing) {
        const batch: Promise<void>[] = [];
        for (let i = 0; i < 50; i++, sent++) {
          const n = sent;
          const record = { ...ATTEMPTS[n % ATTEMPTS.length], event_id: `o${n}`, at: T0 + n * 10 };
          batch.push(obs.record('attempt', record, `o${n}`));
        }
        await Promise.all(batch);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    try {
      await waitFor(
        'rows before the outage',
        async () => ((await count('hs_out', 'SELECT count() FROM hookstream.delivery_attempts')) > 500 ? true : undefined),
        30_000,
        50,
      );
      await clickhouse.kill();
      await waitFor(
        '/readyz to report the outage',
        async () => ((await httpRequest({ port: app.healthPort(), path: '/readyz' })).status === 503 ? true : undefined),
        10_000,
        50,
      );
      await new Promise((r) => setTimeout(r, 10_000));
      const backlog = await jsm.consumers.info(t.streams.obs, 'analytics');
      assert.ok(backlog.num_pending + backlog.num_ack_pending > 0, 'records wait in JetStream during the outage');
      await clickhouse.restart();
      await new Promise((r) => setTimeout(r, 2_000));
      publishing = false;
      await producer;
      await drained(t);
      assert.ok(app.sink().counts.insertFailures > 0, 'inserts failed during the outage');
      assert.equal(await count('hs_out', 'SELECT count() FROM hookstream.delivery_attempts'), sent, 'raw rows, no FINAL');
      assert.equal(await count('hs_out', 'SELECT uniqExact(row_id) FROM hookstream.delivery_attempts'), sent);
      assert.equal(await count('hs_out', 'SELECT countMerge(attempts) FROM hookstream.endpoint_minute'), sent, 'view');
      assert.equal(await count('hs_out', 'SELECT countMerge(attempts) FROM hookstream.endpoint_outcome_minute'), sent, 'outcome view');
      const ready = await httpRequest({ port: app.healthPort(), path: '/readyz' });
      assert.equal(ready.status, 200);
    } finally {
      publishing = false;
      await producer.catch(() => undefined);
      publisher.close();
      await app.close();
    }
  });
});
