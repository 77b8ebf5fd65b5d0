import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type ParsedRecord, parseRecord } from '@hookstream/analytics';
import {
  applyMigrations,
  ClickHouseRowStore,
  DEFAULT_MIGRATIONS_DIR,
  endpointStats,
  lastFailures,
  lastRejections,
  loadMigrations,
  sourceStats,
  statsSeries,
  type TableSpec,
  versionAtLeast,
} from '@hookstream/clickhouse';
import type { Logger } from '@hookstream/runtime';
import { type ClickHouseServer, startClickHouse } from '@hookstream/testkit';
import { inDatabase, QUERIES, type QueryName } from '../src/queries.ts';
import { TABLES } from '../src/records.ts';
import { ALL_RECORDS, EXPECTED, rounded, T0 } from './fixtures.ts';

const DB = 'hookstream';

function parsedAll(): ParsedRecord[] {
  return ALL_RECORDS.map((r) => {
    const parsed = parseRecord(`hs.obs.${r.kind}`, new TextEncoder().encode(JSON.stringify(r)));
    assert.ok(parsed.ok, JSON.stringify(parsed));
    return parsed;
  });
}

async function insertAll(store: ClickHouseRowStore, records: readonly ParsedRecord[]): Promise<void> {
  const byTable = new Map<TableSpec, ParsedRecord['row'][]>();
  for (const r of records) byTable.set(r.table, [...(byTable.get(r.table) ?? []), r.row]);
  for (const [table, rows] of byTable) await store.insert(table, rows);
}

describe('analytics SQL against a real ClickHouse', () => {
  let server: ClickHouseServer;
  let store: ClickHouseRowStore;
  // Table TTL (0005_retention) needs 19.6; the local server is 18.16, CI may run a current one.
  let ttl: boolean;
  let allVersions: number[];

  before(async () => {
    server = await startClickHouse();
    store = new ClickHouseRowStore({ url: server.url, database: DB, user: 'default', password: '', requestTimeoutMs: 10_000 });
    const [row] = await store.select<{ v: string }>('SELECT version() AS v');
    ttl = versionAtLeast(row?.v ?? '', [19, 6]);
    allVersions = ttl ? [1, 2, 3, 4, 5] : [1, 2, 3, 4];
  });

  after(async () => {
    await store?.close();
    await server?.stop();
  });

  it('analytics: migrations apply in order once, and a second run applies nothing', async () => {
    const migrations = loadMigrations(DEFAULT_MIGRATIONS_DIR, DB);
    assert.deepEqual(
      migrations.map((m) => [m.version, m.requires]),
      [
        [1, undefined],
        [2, undefined],
        [3, undefined],
        [4, undefined],
        [5, [19, 6]],
      ],
    );
    const skipped: unknown[] = [];
    const logger = { info: () => undefined, warn: (o: unknown) => skipped.push(o) } as unknown as Logger;
    assert.deepEqual(await applyMigrations(store, DB, migrations, logger), allVersions);
    assert.equal(skipped.length, ttl ? 0 : 1, 'a skipped migration is logged');
    // A skipped migration is not recorded, so it is tried again (and applies once the server is upgraded).
    assert.deepEqual(await applyMigrations(store, DB, migrations), []);
    // Forgetting a migration was recorded re-runs it harmlessly (IF NOT EXISTS, 0003 drops what 0002 creates
    // again, and an ADD COLUMN of a column that exists counts as done).
    await store.command(`TRUNCATE TABLE ${DB}.hs_migrations`);
    assert.deepEqual(await applyMigrations(store, DB, migrations), allVersions);
    const rows = await store.select<{ version: number; name: string }>(
      `SELECT version, name FROM ${DB}.hs_migrations FINAL ORDER BY version`,
    );
    assert.deepEqual(
      rows,
      [
        { version: 1, name: 'tables' },
        { version: 2, name: 'minute_views' },
        { version: 3, name: 'views_from_tables' },
        { version: 4, name: 'received_and_times' },
        { version: 5, name: 'retention' },
      ].filter((r) => allVersions.includes(r.version)),
    );
    const tables = await store.select<{ name: string; engine: string }>(
      `SELECT name, engine FROM system.tables WHERE database = '${DB}' ORDER BY name`,
    );
    assert.deepEqual(
      tables.map((t) => [t.name, t.engine]),
      [
        ['delivery_attempts', 'ReplacingMergeTree'],
        ['delivery_skipped', 'ReplacingMergeTree'],
        ['drift', 'ReplacingMergeTree'],
        ['duplicates', 'ReplacingMergeTree'],
        ['endpoint_minute', 'View'],
        ['endpoint_outcome_minute', 'View'],
        ['hs_migrations', 'ReplacingMergeTree'],
        ['received', 'ReplacingMergeTree'],
        ['rejections', 'ReplacingMergeTree'],
        ['schema_failures', 'ReplacingMergeTree'],
        ['source_duplicates_minute', 'View'],
        ['source_rejections_minute', 'View'],
      ],
    );
  });

  // Scenario: an install on 0001-0002 (materialized views) in which
  // ClickHouse died inside an INSERT after writing the table's part: the
  // table holds the batch, the outcome view lost it. (max_rows_to_group_by
  // = 1 stops ClickHouse exactly there: only a view's insert-time GROUP BY
  // trips it.) Migrating to 0003 brings every view back in line with its
  // table; the rows inserted afterwards are counted too.
  it('analytics: migrating an install whose view lost a batch makes every view equal to its table', async () => {
    const db = 'upgrade';
    const up = new ClickHouseRowStore({ url: server.url, database: db, user: 'default', password: '', requestTimeoutMs: 10_000 });
    try {
      const all = loadMigrations(DEFAULT_MIGRATIONS_DIR, db);
      assert.deepEqual(
        await applyMigrations(
          up,
          db,
          all.filter((m) => m.version <= 2),
        ),
        [1, 2],
      );
      const attempts = parsedAll().filter((p) => p.kind === 'attempt');
      const table = attempts[0]?.table as TableSpec;
      await assert.rejects(
        up.client.insert({
          table: `${db}.${table.name}`,
          values: attempts.map((p) => p.row) as Record<string, unknown>[],
          format: 'JSONEachRow',
          clickhouse_settings: { max_rows_to_group_by: '1' },
        }),
        /GROUP BY/,
      );
      const totals = async () =>
        (
          await up.select<{ raw: number; view: number; outcomes: number }>(
            `SELECT
               (SELECT count() FROM ${db}.delivery_attempts) AS raw,
               (SELECT countMerge(attempts) FROM ${db}.endpoint_minute) AS view,
               (SELECT countMerge(attempts) FROM ${db}.endpoint_outcome_minute) AS outcomes`,
          )
        )[0];
      assert.deepEqual(await totals(), { raw: 10, view: 0, outcomes: 0 }, 'before: the table has the batch, the views do not');
      assert.deepEqual(await applyMigrations(up, db, all), ttl ? [3, 4, 5] : [3, 4]);
      assert.deepEqual(await totals(), { raw: 10, view: 10, outcomes: 10 }, 'after: the views count the table');
      // Rows stored before 0004 have the readable time too (computed on read).
      assert.deepEqual(await up.select(`SELECT at, toString(at_time) AS t FROM ${db}.delivery_attempts ORDER BY at LIMIT 1`), [
        { at: T0 + 10_000, t: '2026-01-01 00:00:10' },
      ]);
      await insertAll(
        up,
        parsedAll().filter((p) => p.kind !== 'attempt'),
      );
      for (const name of Object.keys(QUERIES) as QueryName[]) {
        const rows = await up.select(inDatabase(QUERIES[name].sql, db));
        assert.deepEqual(rounded(rows), rounded(EXPECTED[name]), `query ${name}`);
      }
      // The retention cleanup docs/analytics.md gives for servers without TTL
      // (every fixture is in January 2026), run as written.
      const doc = readFileSync(new URL('../../../docs/analytics.md', import.meta.url), 'utf8');
      const drops = [...doc.matchAll(/^ALTER TABLE hookstream\.(\w+) DROP PARTITION 202601;$/gm)];
      assert.equal(drops.length, 6);
      for (const m of drops) await up.command(inDatabase(m[0].slice(0, -1), db));
      for (const m of drops) assert.equal((await up.select(`SELECT count() AS n FROM ${db}.${m[1]}`))[0]?.n, 0, `${m[1]} emptied`);
      assert.equal((await up.select(`SELECT count() AS n FROM ${db}.drift`))[0]?.n, 4, 'drift keeps its rows longer');
    } finally {
      await up.close();
    }
  });

  it('analytics: every analyst query in docs/analytics.md gives the known answer for known rows', async () => {
    await insertAll(store, parsedAll());
    for (const name of Object.keys(QUERIES) as QueryName[]) {
      const rows = await store.select(inDatabase(QUERIES[name].sql, DB));
      assert.deepEqual(rounded(rows), rounded(EXPECTED[name]), `query ${name}`);
    }
  });

  it('analytics: every table has a readable DateTime beside each millisecond time, and a TTL where the server has TTL', async () => {
    // Runs after the migrations test.
    const columns = await store.select<{ table: string; name: string; type: string; default_kind: string }>(
      `SELECT table, name, type, default_kind FROM system.columns WHERE database = '${DB}' AND name IN ('at', 'received_at', 'at_time', 'received_time') ORDER BY table, name`,
    );
    const tables = Object.values(TABLES).map((t) => t.name);
    for (const table of tables) {
      const mine = columns.filter((c) => c.table === table);
      for (const ms of mine.filter((c) => c.type === 'UInt64')) {
        const readable = mine.find((c) => c.name === ms.name.replace(/_at$|^at$/, (m) => (m === 'at' ? 'at_time' : '_time')));
        assert.deepEqual([readable?.type, readable?.default_kind], ['DateTime', 'MATERIALIZED'], `${table}.${ms.name}`);
      }
      assert.ok(
        mine.some((c) => c.name === 'at_time'),
        `${table}.at_time`,
      );
    }
    const engines = await store.select<{ name: string; engine_full: string }>(
      `SELECT name, engine_full FROM system.tables WHERE database = '${DB}' AND name IN (${tables.map((t) => `'${t}'`).join(', ')})`,
    );
    assert.equal(engines.length, tables.length);
    for (const e of engines) assert.equal(/\bTTL\b/.test(e.engine_full), ttl, `${e.name}: ${e.engine_full}`);
  });

  it('analytics: endpoint stats (the control plane Stats answer) give the per-minute numbers of whole minutes', async () => {
    // Runs after the fixtures were inserted by the test above.
    const stats = await endpointStats(store, DB, { sinceMs: T0 - 60_000, untilMs: T0 + 3_600_000 });
    const billing = stats.find((s) => s.endpointId === 'billing');
    const crm = stats.find((s) => s.endpointId === 'crm');
    assert.equal(billing?.attempts, 5);
    assert.equal(billing?.successes, 3);
    assert.equal(billing?.successRate, 0.6);
    assert.equal(billing?.latencyP50Ms, 60);
    assert.ok((billing?.latencyP99Ms ?? 0) > 100 && (billing?.latencyP99Ms ?? 0) <= 3_000);
    assert.deepEqual(billing?.outcomes, { success: 3, http_5xx: 1, timeout: 1 });
    assert.deepEqual(crm?.outcomes, { http_4xx: 1, connect: 2, rate_limited: 1, success: 1 });
    const one = await endpointStats(store, DB, { endpointId: 'crm', sinceMs: T0, untilMs: T0 + 3_600_000 });
    assert.deepEqual(
      one.map((s) => [s.endpointId, s.attempts, s.successRate]),
      [['crm', 5, 0.2]],
    );
    assert.deepEqual(await endpointStats(store, DB, { sinceMs: T0 + 7_200_000, untilMs: T0 + 7_300_000 }), []);
  });

  it('analytics: the stats series (console charts) buckets the per-minute numbers by step, and lastFailures finds the newest failure', async () => {
    // Runs after the fixtures were inserted, before anything is inserted twice.
    const window = { sinceMs: T0, untilMs: T0 + 3_600_000 };
    const perMinute = await statsSeries(store, DB, { ...window, stepSeconds: 60 });
    assert.deepEqual(
      perMinute.map((p) => [p.atMs - T0, p.attempts, p.successes, p.outcomes]),
      [
        [0, 6, 1, { http_5xx: 1, timeout: 1, success: 1, http_4xx: 1, connect: 2 }],
        [60_000, 4, 3, { success: 3, rate_limited: 1 }],
      ],
    );
    const twoMinutes = await statsSeries(store, DB, { ...window, stepSeconds: 120 });
    assert.deepEqual(
      twoMinutes.map((p) => [p.atMs - T0, p.attempts, p.successes]),
      [[0, 10, 4]],
    );
    const billing = await statsSeries(store, DB, { ...window, endpointId: 'billing', stepSeconds: 60 });
    assert.deepEqual(
      billing.map((p) => [p.atMs - T0, p.attempts, p.latencyP50Ms]),
      [
        [0, 3, 100],
        [60_000, 2, 40],
      ],
    );
    assert.ok((billing[0]?.latencyP99Ms ?? 0) > 2_000);
    await assert.rejects(statsSeries(store, DB, { ...window, stepSeconds: 90 }), /multiple of 60/);

    const failures = await lastFailures(store, DB, window);
    assert.deepEqual(
      failures.map((f) => [f.endpointId, f.eventId, f.attempt, f.status, f.outcome, f.atMs - T0]),
      [
        ['billing', 'e2', 1, 0, 'timeout', 20_000],
        ['crm', 'e4', 3, 429, 'rate_limited', 90_000],
      ],
    );
    assert.deepEqual(await lastFailures(store, DB, { ...window, endpointId: 'billing', untilMs: T0 + 15_000 }), [
      {
        endpointId: 'billing',
        eventId: 'e1',
        attempt: 1,
        status: 503,
        outcome: 'http_5xx',
        atMs: T0 + 10_000,
        responseExcerpt: 'HTTP 503',
      },
    ]);
  });

  it("analytics: source stats (hs health, console) count every stage's rejections, schema failures included, by stage and reason, duplicates, and requests received and accepted per source; lastRejections finds the newest", async () => {
    const window = { sinceMs: T0, untilMs: T0 + 3_600_000 };
    // Scenario: the sink's retry writes shop's received r1 (a 202) a second time with the same row id; it counts once.
    const r1 = parsedAll().find((p) => p.kind === 'received');
    assert.equal(r1?.row.request_id, 'r1');
    await store.insert(r1?.table as TableSpec, [r1?.row as ParsedRecord['row']]);
    const [raw] = await store.select<{ n: number }>(`SELECT count() AS n FROM ${DB}.received WHERE source = 'shop'`);
    assert.equal(Number(raw?.n), 6, 'the copy is stored: five shop rows and r1 again');
    // Received (RECEIVED fixtures): shop r1 r2 r4 (202) and r3 (413) in the hour, r9 (202) a day later, outside it;
    // stripe r5 (202) and r6 (401); the mistyped "shpo" r7 and r8 (404).
    assert.deepEqual(await sourceStats(store, DB, window), [
      { source: 'github', rejected: 1, rejections: { 'verify/bad_signature': 1 }, duplicates: 1, received: 0, acceptedRequests: 0 },
      { source: 'shop', rejected: 0, rejections: {}, duplicates: 0, received: 4, acceptedRequests: 3 },
      {
        source: 'shopify',
        rejected: 1,
        rejections: { 'validate/malformed_body': 1 },
        duplicates: 0,
        received: 0,
        acceptedRequests: 0,
      },
      { source: 'shpo', rejected: 0, rejections: {}, duplicates: 0, received: 2, acceptedRequests: 0 },
      {
        source: 'stripe',
        rejected: 4,
        rejections: { 'verify/bad_signature': 2, 'verify/stale_timestamp': 1, 'validate/schema_violation': 1 },
        duplicates: 2,
        received: 2,
        acceptedRequests: 1,
      },
    ]);
    // A window over both days takes r9 in.
    assert.deepEqual(
      (await sourceStats(store, DB, { source: 'shop', sinceMs: T0, untilMs: T0 + 2 * 86_400_000 })).map((s) => [
        s.received,
        s.acceptedRequests,
      ]),
      [[5, 4]],
    );
    assert.deepEqual(await sourceStats(store, DB, { ...window, source: 'github', untilMs: T0 + 30_000 }), [
      { source: 'github', rejected: 1, rejections: { 'verify/bad_signature': 1 }, duplicates: 0, received: 0, acceptedRequests: 0 },
    ]);
    // Whole minutes, as the views: a schema failure at +6 s is in the minute that ends at +59.999 s, not in a window from +60 s.
    assert.deepEqual(await sourceStats(store, DB, { ...window, source: 'shopify', untilMs: T0 + 1_000 }), [
      {
        source: 'shopify',
        rejected: 1,
        rejections: { 'validate/malformed_body': 1 },
        duplicates: 0,
        received: 0,
        acceptedRequests: 0,
      },
    ]);
    assert.deepEqual(await sourceStats(store, DB, { ...window, source: 'shopify', sinceMs: T0 + 60_000 }), []);
    assert.deepEqual(
      (await lastRejections(store, DB, window)).map((r) => [r.source, r.eventId, r.stage, r.reason, r.atMs - T0]),
      [
        ['github', 'r4', 'verify', 'bad_signature', 3_000],
        ['shopify', 's2', 'validate', 'malformed_body', 7_010],
        ['stripe', 'r3', 'verify', 'stale_timestamp', 61_000],
      ],
    );
    assert.deepEqual(await lastRejections(store, DB, { ...window, source: 'stripe', untilMs: T0 + 1_500 }), [
      { source: 'stripe', eventId: 'r1', stage: 'verify', reason: 'bad_signature', detail: 'bad_signature detail', atMs: T0 + 1_000 },
    ]);
  });

  it('analytics: "Events stuck in the DLQ" lists retries_exhausted dead letters recorded in delivery_skipped after attempts that planned a retry', async () => {
    // Scenario: on endpoint ops, r1 failed twice, each time with a retry planned; its retry window then
    // closed while it was held back, so deliver dead-lettered it retries_exhausted with a skipped
    // record and no third attempt. r2 is still being retried. r3 was dead-lettered without an attempt
    // and then delivered by a replay. Only r1 is stuck.
    const db = 'stuck';
    const stuck = new ClickHouseRowStore({ url: server.url, database: db, user: 'default', password: '', requestTimeoutMs: 10_000 });
    try {
      await applyMigrations(stuck, db, loadMigrations(DEFAULT_MIGRATIONS_DIR, db));
      const attempt = (event: string, n: number, outcome: string, status: number | null, at: number, next: number | null) => ({
        kind: 'attempt',
        event_id: event,
        endpoint_id: 'ops',
        source: 'shop',
        event_type: 'order.created',
        attempt: n,
        status,
        outcome,
        latency_ms: 10,
        e2e_ms: at,
        next_retry_at: next === null ? null : T0 + next,
        response_excerpt: '',
        at: T0 + at,
      });
      const skipped = (event: string, reason: string, attempts: number, at: number) => ({
        kind: 'skipped',
        event_id: event,
        endpoint_id: 'ops',
        source: 'shop',
        event_type: 'order.created',
        reason,
        attempts,
        at: T0 + at,
      });
      const records = [
        attempt('r1', 1, 'http_5xx', 503, 1_000, 60_000),
        attempt('r1', 2, 'timeout', null, 60_000, 600_000),
        skipped('r1', 'retries_exhausted', 2, 700_000),
        attempt('r2', 1, 'http_5xx', 502, 2_000, 90_000),
        skipped('r3', 'no_active_secret', 0, 3_000),
        { ...attempt('r3', 1, 'success', 200, 4_000, null), replay: 'dlq-9' },
      ].map((r) => {
        const parsed = parseRecord(`hs.obs.${r.kind}`, new TextEncoder().encode(JSON.stringify(r)));
        assert.ok(parsed.ok, JSON.stringify(parsed));
        return parsed;
      });
      await insertAll(stuck, records);
      assert.deepEqual(await stuck.select(inDatabase(QUERIES.stuckInDlq.sql, db)), [
        {
          endpoint_id: 'ops',
          event_id: 'r1',
          attempts: 2,
          last_outcome: 'retries_exhausted',
          last_status: null,
          dead_lettered_at: T0 + 700_000,
        },
      ]);
    } finally {
      await stuck.close();
    }
  });

  it('analytics: every field of an attempt record lands in delivery_attempts', async () => {
    const rows = await store.select(
      `SELECT row_id, event_id, endpoint_id, source, event_type, attempt, status, outcome, latency_ms, e2e_ms, next_retry_at, response_excerpt, at, toUnixTimestamp(dt) AS dt FROM ${DB}.delivery_attempts WHERE row_id = 'e1:billing:attempt:1'`,
    );
    assert.deepEqual(rows, [
      {
        row_id: 'e1:billing:attempt:1',
        event_id: 'e1',
        endpoint_id: 'billing',
        source: 'shop',
        event_type: 'order.created',
        attempt: 1,
        status: 503,
        outcome: 'http_5xx',
        latency_ms: 100,
        e2e_ms: 10_000,
        next_retry_at: T0 + 40_000,
        response_excerpt: 'HTTP 503',
        at: T0 + 10_000,
        dt: (T0 + 10_000) / 1000,
      },
    ]);
  });

  // Scenario: a batch is sent again after ClickHouse may already have stored
  // it. existingIds finds exactly the stored rows, and even a blind repeat is
  // hidden by FINAL in the raw table and in the views.
  it('analytics: existingIds finds stored rows, and FINAL collapses a row written twice, in the table and the views', async () => {
    const parsed = parsedAll().filter((p) => p.kind === 'attempt');
    const table = parsed[0]?.table as TableSpec;
    const fresh = { ...parsed[0]?.row, row_id: 'new:billing:attempt:1', event_id: 'new' } as ParsedRecord['row'];
    const found = await store.existingIds(table, [...parsed.map((p) => p.row), fresh]);
    assert.equal(found.size, parsed.length);
    assert.equal(found.has('new:billing:attempt:1'), false);
    await store.insert(table, [parsed[0]?.row as ParsedRecord['row']]);
    const [raw] = await store.select<{ n: number }>(`SELECT count() AS n FROM ${DB}.delivery_attempts`);
    const [final] = await store.select<{ n: number }>(`SELECT count() AS n FROM ${DB}.delivery_attempts FINAL`);
    assert.equal(raw?.n, parsed.length + 1);
    assert.equal(final?.n, parsed.length);
    // The views read the table with FINAL: the copy is not counted there either.
    const [view] = await store.select<{ n: number }>(`SELECT countMerge(attempts) AS n FROM ${DB}.endpoint_minute`);
    const [outcomes] = await store.select<{ n: number }>(`SELECT countMerge(attempts) AS n FROM ${DB}.endpoint_outcome_minute`);
    assert.equal(view?.n, parsed.length);
    assert.equal(outcomes?.n, parsed.length);
  });
});
