import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClickHouseRowStore, RowStore } from '@hookstream/clickhouse';
import { Header, type RecordKind } from '@hookstream/contracts';
import {
  AckingPublisher,
  createLogger,
  ensureStreams,
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
  waitConsumed,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { type AnalyticsApp, buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { inDatabase, QUERIES, type QueryName } from '../src/queries.ts';
import { ALL_RECORDS, ATTEMPTS, DUPLICATES, EXPECTED, REJECTIONS, rounded, T0 } from './fixtures.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

// The fixtures hold records as the sink may find them, those from before
// `request_id` included (their row ids keep the short form): published as
// they are, past the producers' record types, with the test's own msg ids.
const legacyObs = (obs: ObsPublisher) => ({
  record: (kind: string, record: object, msgId: string) => obs.record(kind as RecordKind, record as never, msgId),
});

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

  /** Waits until analytics (filter hs.obs.>, the whole stream) has consumed everything stored so far. */
  async function drained(t: Topology): Promise<void> {
    const { last_seq } = (await jsm.streams.info(t.streams.obs)).state;
    await waitConsumed(jsm, t.streams.obs, 'analytics', last_seq, 60_000);
  }

  async function count(db: string, sql: string): Promise<number> {
    return Number((await clickhouse.query(inDatabase(sql, db))).trim());
  }

  // Each per-minute view, read as an analyst reads it, and the same numbers
  // computed from its table (FINAL: every row once).
  const VIEW_CHECKS = [
    {
      view: 'endpoint_minute',
      read: `SELECT endpoint_id, toUInt32(minute) AS m, countMerge(attempts) AS n, sumMerge(successes) AS ok, sumMerge(latency_sum) AS latency
             FROM hookstream.endpoint_minute GROUP BY endpoint_id, m ORDER BY endpoint_id, m`,
      truth: `SELECT endpoint_id, toUInt32(toStartOfMinute(dt)) AS m, count() AS n, sum(toUInt64(outcome = 'success')) AS ok, sum(toUInt64(latency_ms)) AS latency
              FROM hookstream.delivery_attempts FINAL GROUP BY endpoint_id, m ORDER BY endpoint_id, m`,
    },
    {
      view: 'endpoint_outcome_minute',
      read: `SELECT endpoint_id, toUInt32(minute) AS m, toString(outcome) AS o, countMerge(attempts) AS n
             FROM hookstream.endpoint_outcome_minute GROUP BY endpoint_id, m, o ORDER BY endpoint_id, m, o`,
      truth: `SELECT endpoint_id, toUInt32(toStartOfMinute(dt)) AS m, toString(outcome) AS o, count() AS n
              FROM hookstream.delivery_attempts FINAL GROUP BY endpoint_id, m, o ORDER BY endpoint_id, m, o`,
    },
    {
      view: 'source_rejections_minute',
      read: `SELECT source, toUInt32(minute) AS m, stage, reason, countMerge(rejected) AS n
             FROM hookstream.source_rejections_minute GROUP BY source, m, stage, reason ORDER BY source, m, stage, reason`,
      truth: `SELECT source, toUInt32(toStartOfMinute(dt)) AS m, stage, reason, count() AS n
              FROM hookstream.rejections FINAL GROUP BY source, m, stage, reason ORDER BY source, m, stage, reason`,
    },
    {
      view: 'source_duplicates_minute',
      read: `SELECT source, toUInt32(minute) AS m, countMerge(duplicates) AS n
             FROM hookstream.source_duplicates_minute GROUP BY source, m ORDER BY source, m`,
      truth: `SELECT source, toUInt32(toStartOfMinute(dt)) AS m, count() AS n
              FROM hookstream.duplicates FINAL GROUP BY source, m ORDER BY source, m`,
    },
  ];

  /** Asserts that every per-minute view holds exactly what its table holds. */
  async function assertViewsAgree(app: AnalyticsApp, db: string): Promise<void> {
    for (const check of VIEW_CHECKS) {
      const [read, truth] = await Promise.all([
        app.clickhouse().select(inDatabase(check.read, db)),
        app.clickhouse().select(inDatabase(check.truth, db)),
      ]);
      assert.deepEqual(read, truth, `${check.view} agrees with its table`);
    }
  }

  it('analytics: records of every kind become rows, the views aggregate them, bad records are dead-lettered', async () => {
    const t = await setUp('a1');
    const app = buildApp(loadConfig(env('a1', 'hs_it')), { logger });
    await app.run();
    const publisher = new AckingPublisher(nc.nc, 10_000);
    try {
      const obs = legacyObs(new ObsPublisher(publisher, t));
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

      const tables = {
        delivery_attempts: 10,
        rejections: 4,
        duplicates: 3,
        schema_failures: 2,
        drift: 4,
        delivery_skipped: 1,
        received: 9,
      };
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
          // The fault under test: ClickHouse applies the INSERT 600 ms after the client gave up on it.
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
      const obs = legacyObs(new ObsPublisher(publisher, t));
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

  // Scenario: ClickHouse dies inside an INSERT after it wrote the table's
  // part and before it wrote every view's (a materialized view is a separate
  // INSERT that ClickHouse runs after the table's part is committed, one
  // view after another; a crash between them keeps the table's rows and
  // loses the views'). To stop ClickHouse at exactly that point, not by
  // luck, the first INSERT into each table is sent with
  // max_rows_to_group_by = 1: writing the table's part needs no GROUP BY,
  // aggregating a batch for a per-minute view with more than one key does,
  // so anything aggregated at insert time fails there, after the part is
  // committed. Then the server is SIGKILLed and restarted, and the sink is
  // told the INSERT failed (as a dropped connection tells it). Its retry
  // finds the rows stored and sends none again; every view must still count
  // every row exactly once.
  it('analytics: ClickHouse dying inside an INSERT after the table is written leaves every view equal to its table', {
    timeout: 120_000,
  }, async () => {
    const t = await setUp('a4');
    const db = 'hs_crash';
    let real: ClickHouseRowStore | undefined;
    const crashedIn: string[] = [];
    const store: RowStore = {
      insert: async (table, rows, queryId) => {
        if (real === undefined) throw new Error('not ready');
        if (crashedIn.includes(table.name) || rows.length === 0) return real.insert(table, rows, queryId);
        crashedIn.push(table.name);
        await real.client
          .insert({
            table: `${db}.${table.name}`,
            values: rows as Record<string, unknown>[],
            format: 'JSONEachRow',
            ...(queryId !== undefined ? { query_id: queryId } : {}),
            clickhouse_settings: { max_rows_to_group_by: '1' },
          })
          // Whether ClickHouse answered (it fails here only where a view aggregates at insert time), the server dies now.
          .catch(() => undefined);
        await clickhouse.kill();
        await clickhouse.restart();
        throw new Error('socket hang up (ClickHouse was killed during the INSERT)');
      },
      existingIds: (table, rows) => (real as ClickHouseRowStore).existingIds(table, rows),
      running: (ids) => (real as ClickHouseRowStore).running(ids),
    };
    // The records wait in the stream before the sink starts, so they come in one batch.
    const publisher = new AckingPublisher(nc.nc, 10_000);
    const outcomes = ['success', 'http_5xx', 'timeout', 'success', 'connect'];
    const attempts = Array.from({ length: 300 }, (_, n) => ({
      ...ATTEMPTS[0],
      event_id: `c${n}`,
      endpoint_id: 'crash',
      outcome: outcomes[n % outcomes.length],
      latency_ms: n,
      // One endpoint, one minute: endpoint_minute aggregates the batch into one key, the other views into several.
      at: T0 + n * 100,
    }));
    const rejections = Array.from({ length: 20 }, (_, n) => ({
      ...REJECTIONS[0],
      event_id: `cr${n}`,
      source: n % 2 === 0 ? 'stripe' : 'github',
      at: T0 + n * 1_000,
    }));
    const duplicates = Array.from({ length: 20 }, (_, n) => ({
      ...DUPLICATES[0],
      event_id: `cd${n}`,
      source: n % 2 === 0 ? 'stripe' : 'github',
      at: T0 + n * 1_000,
    }));
    try {
      const obs = legacyObs(new ObsPublisher(publisher, t));
      await Promise.all([
        ...attempts.map((r, n) => obs.record('attempt', r, `c${n}`)),
        ...rejections.map((r, n) => obs.record('rejection', r, `cr${n}`)),
        ...duplicates.map((r, n) => obs.record('duplicate', r, `cd${n}`)),
      ]);
      const app = buildApp(loadConfig(env('a4', db)), { logger, store, retryDelayMs: () => 50 });
      try {
        await app.run();
        real = app.clickhouse();
        await drained(t);
        assert.deepEqual(
          [...crashedIn].sort(),
          ['delivery_attempts', 'duplicates', 'rejections'],
          'ClickHouse died inside one INSERT per table',
        );
        assert.equal(app.sink().counts.inserted, 0, 'every retry found its rows stored and sent none again');
        assert.equal(await count(db, 'SELECT count() FROM hookstream.delivery_attempts'), attempts.length, 'raw rows, no FINAL');
        assert.equal(await count(db, 'SELECT count() FROM hookstream.rejections'), rejections.length, 'raw rows, no FINAL');
        assert.equal(await count(db, 'SELECT count() FROM hookstream.duplicates'), duplicates.length, 'raw rows, no FINAL');
        await assertViewsAgree(app, db);
        assert.equal(
          await count(db, 'SELECT countMerge(attempts) FROM hookstream.endpoint_outcome_minute'),
          attempts.length,
          'outcome view',
        );
      } finally {
        await app.close();
      }
    } finally {
      publisher.close();
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
    const obs = legacyObs(new ObsPublisher(publisher, t));
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
        // Pacing, not a wait: records keep arriving at a steady rate before, during and after the outage.
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
      // The outage itself is the scenario: ClickHouse stays down for 10 s while records keep arriving.
      await new Promise((r) => setTimeout(r, 10_000));
      const backlog = await jsm.consumers.info(t.streams.obs, 'analytics');
      assert.ok(backlog.num_pending + backlog.num_ack_pending > 0, 'records wait in JetStream during the outage');
      await clickhouse.restart();
      // Records go on arriving until the sink has written one published after the restart.
      const sentAtRestart = sent;
      await waitFor(
        'rows published after the restart',
        async () => ((await count('hs_out', 'SELECT count() FROM hookstream.delivery_attempts')) > sentAtRestart ? true : undefined),
        60_000,
        100,
      );
      publishing = false;
      await producer;
      await drained(t);
      assert.ok(app.sink().counts.insertFailures > 0, 'inserts failed during the outage');
      assert.equal(await count('hs_out', 'SELECT count() FROM hookstream.delivery_attempts'), sent, 'raw rows, no FINAL');
      assert.equal(await count('hs_out', 'SELECT uniqExact(row_id) FROM hookstream.delivery_attempts'), sent);
      assert.equal(await count('hs_out', 'SELECT countMerge(attempts) FROM hookstream.endpoint_minute'), sent, 'view');
      assert.equal(await count('hs_out', 'SELECT countMerge(attempts) FROM hookstream.endpoint_outcome_minute'), sent, 'outcome view');
      await assertViewsAgree(app, 'hs_out');
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
