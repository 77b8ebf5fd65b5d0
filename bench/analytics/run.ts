// Analytics benchmark, in one run against a real nats-server and ClickHouse:
//   (a) a direct @clickhouse/client batch insert of N attempt rows (5,000 per
//       INSERT, the sink's default batch) into delivery_attempts: the ceiling;
//   (b) the analytics service (its production entry point) draining N
//       preloaded `hs.obs.attempt` records: fetch, parse, INSERT, ack.
// Both write into identical freshly migrated databases (views included).
// Prints rows/s and b/a; writes bench/analytics/results/latest.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseRecord, TABLES } from '@hookstream/analytics';
import { applyMigrations, ClickHouseRowStore, DEFAULT_MIGRATIONS_DIR, loadMigrations } from '@hookstream/clickhouse';
import { ensureStreams, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, startClickHouse, startNatsServer, waitForHttpOk } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { drainRate, preload } from '../shared.ts';

const N = Number(process.env.BENCH_MESSAGES ?? '100000');
const BATCH = 5_000;
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const [nats, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
const handle = await connectTestNats(nats.url);
const jsm = await jetstreamManager(handle.nc);
const T0 = Date.now() - 3_600_000;
const OUTCOMES = ['success', 'success', 'success', 'http_5xx', 'timeout'] as const;
const record = (i: number) => ({
  kind: 'attempt',
  event_id: `0191bench${i}`,
  endpoint_id: `ep${i % 20}`,
  source: 'shop',
  event_type: 'order.created',
  attempt: 1 + (i % 3),
  status: i % 5 === 4 ? null : i % 5 === 3 ? 503 : 200,
  outcome: OUTCOMES[i % 5],
  latency_ms: 20 + (i % 200),
  e2e_ms: 100 + (i % 5_000),
  next_retry_at: i % 5 >= 3 ? T0 + i + 5_000 : null,
  response_excerpt: 'ok',
  at: T0 + i,
});
const count = async (db: string): Promise<number> => Number((await clickhouse.query(`SELECT count() FROM ${db}.delivery_attempts`)).trim());

async function migrated(db: string): Promise<ClickHouseRowStore> {
  const store = new ClickHouseRowStore({ url: clickhouse.url, database: db, user: 'default', password: '', requestTimeoutMs: 60_000 });
  await applyMigrations(store, db, loadMigrations(DEFAULT_MIGRATIONS_DIR, db));
  return store;
}

console.log(
  `analytics benchmark: ${N} attempt records, batches of ${BATCH}, ClickHouse ${(await clickhouse.query('SELECT version()')).trim()}`,
);

// (a) direct client inserts of the same rows (parsed once, outside the timing).
const direct = await migrated('bench_direct');
const rows = Array.from({ length: N }, (_, i) => {
  const parsed = parseRecord('hs.obs.attempt', new TextEncoder().encode(JSON.stringify(record(i))));
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.row;
});
const startedA = performance.now();
for (let i = 0; i < N; i += BATCH) await direct.insert(TABLES.attempt, rows.slice(i, i + BATCH));
const a = N / ((performance.now() - startedA) / 1000);
if ((await count('bench_direct')) !== N) throw new Error('direct insert lost rows');
await direct.close();
console.log(`(a) @clickhouse/client insert   ${a.toFixed(0)} rows/s`);

// (b) the service draining the same records from JetStream.
const t = topology('bench');
await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
await preload(handle, N, (i, h) => {
  h.set('Nats-Msg-Id', `${i}`);
  return { subject: t.obs('attempt'), body: new TextEncoder().encode(JSON.stringify(record(i))) };
});
const healthPort = await freePort();
const service: ChildProcess = spawn(process.execPath, [here('../../services/analytics/src/main.ts')], {
  env: {
    ...process.env,
    HS_NATS_URL: nats.url,
    HS_NAMESPACE: 'bench',
    HS_HEALTH_PORT: String(healthPort),
    HS_HEALTH_HOST: '127.0.0.1',
    HS_LOG_LEVEL: 'warn',
    HS_CLICKHOUSE_URL: clickhouse.url,
    HS_CLICKHOUSE_DATABASE: 'bench_sink',
    HS_ANALYTICS_BATCH_SIZE: String(BATCH),
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
await waitForHttpOk(healthPort, '/readyz', 60_000);
const b = await drainRate(jsm, t.streams.obs, 'analytics', N, 110_000);
const stored = await count('bench_sink');
const gone = new Promise((r) => service.once('exit', r));
service.kill('SIGTERM');
await gone;
if (stored !== N) throw new Error(`the service stored ${stored} rows, expected ${N}`);
console.log(`(b) analytics service          ${b.toFixed(0)} rows/s   b/a = ${(b / a).toFixed(2)}`);

mkdirSync(here('./results'), { recursive: true });
writeFileSync(
  here('./results/latest.json'),
  JSON.stringify({ at: new Date().toISOString(), records: N, batch: BATCH, directInsert: a, analytics: b, ratio: b / a }, null, 2),
);
await handle.drain();
await Promise.all([nats.stop(), clickhouse.stop()]);
