// Validate benchmark, in one run on ~1 KiB Stripe-like JSON events with a
// JSON Schema of ~10 properties (additive mode):
//   (a) the raw rate of the stream: N messages preloaded on hs.unique.bench,
//       a bare durable pull consumer (js.consumers.get(...).consume()) that
//       only acks; time until all are acked;
//   (b) the validate service (buildApp, in-process) on an identical preload
//       in another namespace; time until all are on hs.valid.bench;
//   (c) for scale, judge() alone (parse, type, schema check, drift walk) in
//       a loop on the same body: the service's pure share of the work.
// Each measured consumer runs in its own child process pinned to core 1
// (`taskset -c 1`) with nats-server pinned to core 0, when taskset exists.
// Prints a table and writes bench/validate/results/latest.json.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { parseSchemaRecord, parseSourceConfig, SchemaStore, SourceStore } from '@hookstream/models';
import { AckingPublisher, createLogger, ensureStreams, openBucket, streamConfigs, type Topology, topology } from '@hookstream/runtime';
import { SchemaCache } from '@hookstream/schema-compiler';
import { connectTestNats, startNatsServer } from '@hookstream/testkit';
import { buildApp, judge, loadConfig } from '@hookstream/validate';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const MESSAGES = Number(process.env.BENCH_SERVICE_MESSAGES ?? '20000');
const RAW_NS = 'vbr';
const SERVICE_NS = 'vbs';
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const script = fileURLToPath(import.meta.url);

/** What a measuring child prints as its last line. */
interface ChildResult {
  readonly messages: number;
  readonly ms: number;
  readonly rate: number;
  /** CPU the child used while measuring (user + system), ms. */
  readonly cpuMs: number;
  readonly rejected?: number;
}

const cpuMsSince = (start: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
};

// Both consumers get the settings the worker uses at its default concurrency (64).
const CONCURRENCY = 64;
const MAX_ACK_PENDING = Math.max(CONCURRENCY * 4, 64);
const PULL_BATCH = Math.max(CONCURRENCY * 2, 16);

async function measureRaw(url: string, n: number): Promise<ChildResult> {
  const t = topology(RAW_NS);
  const handle = await connectTestNats(url);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const jsm = await jetstreamManager(handle.nc);
  await jsm.consumers.add(t.streams.pipe, {
    durable_name: 'bench-raw',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: t.subject('hs.unique.>'),
    max_ack_pending: MAX_ACK_PENDING,
  });
  const consumer = await jetstream(handle.nc).consumers.get(t.streams.pipe, 'bench-raw');
  const messages = await consumer.consume({ max_messages: PULL_BATCH });
  let acked = 0;
  for await (const m of messages) {
    m.ack();
    if (++acked >= n) break;
  }
  await handle.nc.flush(); // the last acks have reached the server
  const ms = performance.now() - t0;
  const cpuMs = cpuMsSince(cpu0);
  await handle.drain();
  return { messages: n, ms, rate: n / (ms / 1000), cpuMs };
}

async function measureService(url: string, n: number): Promise<ChildResult> {
  const t = topology(SERVICE_NS);
  const probe = await connectTestNats(url);
  const jsm = await jetstreamManager(probe.nc);
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const app = buildApp(
    loadConfig({ HS_NATS_URL: url, HS_NAMESPACE: SERVICE_NS, HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1', HS_LOG_LEVEL: 'warn' }),
    { logger },
  );
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await app.run();
  const settled = (): number => app.counters().valid + app.counters().rejected;
  while (settled() < n) await sleep(5);
  // Every message published downstream; wait for the last acks to land.
  for (;;) {
    const info = await jsm.consumers.info(t.streams.pipe, 'validate');
    if (info.num_pending === 0 && info.num_ack_pending === 0) break;
    await sleep(2);
  }
  const ms = performance.now() - t0;
  const cpuMs = cpuMsSince(cpu0);
  const { rejected } = app.counters();
  await app.close();
  await probe.drain();
  return { messages: n, ms, rate: n / (ms / 1000), cpuMs, rejected };
}

function measureJudge(n: number): ChildResult {
  const source = parseSourceConfig({ id: 'bench', provider: 'stripe' });
  const record = parseSchemaRecord({ source: 'bench', eventType: 'charge.succeeded', version: 1, schema });
  const cache = new SchemaCache();
  const envelope: Record<string, string> = { [Header.eventId]: 'e1', [Header.source]: 'bench', 'hs-h-content-type': 'application/json' };
  const msg = { subject: 'hs.unique.bench', data: body, header: (name: string) => envelope[name] };
  const deps = { schema: () => record, compiled: cache.compiled.bind(cache), maxDepth: 128 };
  const iterations = n * 10;
  for (let i = 0; i < 10_000; i++) judge(msg, source, deps); // warm-up
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    if (judge(msg, source, deps).kind !== 'valid') throw new Error('the benchmark event does not validate');
  }
  const ms = performance.now() - t0;
  return { messages: iterations, ms, rate: iterations / (ms / 1000), cpuMs: cpuMsSince(cpu0) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const body = Buffer.from(
  JSON.stringify({
    id: 'evt_1OaBcDeFgHiJkLmN',
    object: 'event',
    api_version: '2024-06-20',
    created: 1_700_000_000,
    type: 'charge.succeeded',
    livemode: false,
    pending_webhooks: 1,
    request: { id: 'req_AbCdEfGhIjKl', idempotency_key: '6b1f2c4e-8a7d-4c1e-9f3a-2d5b7e9c1a3f' },
    data: {
      object: {
        id: 'ch_3OaBcDeFgHiJkLmN',
        object: 'charge',
        amount: 2000,
        currency: 'usd',
        status: 'succeeded',
        customer: 'cus_PqRsTuVwXyZ',
        description: 'x'.repeat(560),
        metadata: { order_id: 'ord_12345' },
      },
    },
  }),
);
const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['id', 'type', 'created', 'data'],
  properties: {
    id: { type: 'string', pattern: '^evt_' },
    object: { const: 'event' },
    api_version: { type: 'string' },
    created: { type: 'integer' },
    type: { type: 'string' },
    livemode: { type: 'boolean' },
    pending_webhooks: { type: 'integer', minimum: 0 },
    request: { type: 'object', properties: { id: { type: ['string', 'null'] }, idempotency_key: { type: ['string', 'null'] } } },
    data: {
      type: 'object',
      required: ['object'],
      properties: {
        object: {
          type: 'object',
          required: ['id', 'amount', 'currency', 'status'],
          properties: {
            id: { type: 'string' },
            object: { type: 'string' },
            amount: { type: 'integer', minimum: 0 },
            currency: { type: 'string', minLength: 3, maxLength: 3 },
            status: { enum: ['succeeded', 'pending', 'failed'] },
            customer: { type: 'string' },
            description: { type: 'string' },
            metadata: { type: 'object', additionalProperties: { type: 'string' } },
          },
        },
      },
    },
  },
};

if (process.argv[2] === 'child') {
  const [mode, url, n] = process.argv.slice(3);
  if (url === undefined || n === undefined) throw new Error('usage: run.ts child raw|service|judge <url> <messages>');
  const result =
    mode === 'raw' ? await measureRaw(url, Number(n)) : mode === 'service' ? await measureService(url, Number(n)) : measureJudge(Number(n));
  console.log(JSON.stringify(result));
  process.exit(0);
}

// ---- the parent: server, preload, children, report ----

/** The pid of the nats-server listening on `port` (testkit names it hs-test-{port}). */
function natsServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(`hs-test-${port}`)) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}

const hasTaskset = ['/usr/bin/taskset', '/bin/taskset'].some((p) => existsSync(p));

function runChild(mode: 'raw' | 'service' | 'judge', url: string): Promise<ChildResult> {
  const args = [script, 'child', mode, url, String(MESSAGES)];
  const child = hasTaskset ? spawn('taskset', ['-c', '1', process.execPath, ...args]) : spawn(process.execPath, args);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.pipe(process.stderr);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${mode} child exited with ${code}: ${out}`));
      else resolve(JSON.parse(last) as ChildResult);
    });
  });
}

async function preload(publisher: AckingPublisher, t: Topology): Promise<void> {
  const receivedAt = String(Date.now());
  for (let start = 0; start < MESSAGES; start += 1000) {
    const batch = [];
    for (let i = start; i < Math.min(MESSAGES, start + 1000); i++) {
      const h = headers();
      h.set('Nats-Msg-Id', `e${i}:dedup`);
      h.set(Header.eventId, `e${i}`);
      h.set(Header.source, 'bench');
      h.set(Header.receivedAt, receivedAt);
      h.set('hs-h-content-type', 'application/json');
      batch.push(publisher.publish(t.unique('bench'), body, h));
    }
    await Promise.all(batch);
  }
}

const started = performance.now();
const nats = await startNatsServer();
const natsPid = natsServerPid(nats.port);
let placement = 'unpinned: taskset not found; nats-server, the measured consumer and the parent share the cores';
if (hasTaskset && natsPid !== undefined) {
  execFileSync('taskset', ['-a', '-cp', '0', String(natsPid)], { stdio: 'ignore' });
  placement = 'nats-server (all threads) on core 0; each measured consumer in a child process on core 1';
} else if (hasTaskset) {
  placement = 'measured consumer on core 1; nats-server pid not found, so it is not pinned';
}
const handle = await connectTestNats(nats.url);
const jsm = await jetstreamManager(handle.nc);
const raw = topology(RAW_NS);
const svc = topology(SERVICE_NS);
await ensureStreams(jsm, streamConfigs(raw, { replicas: 1, eventsMaxAgeHours: 24 }));
await ensureStreams(jsm, streamConfigs(svc, { replicas: 1, eventsMaxAgeHours: 24 }));
await new SourceStore(await openBucket(handle.nc, svc.buckets.sources, { replicas: 1 })).put({ id: 'bench', provider: 'stripe' });
await new SchemaStore(await openBucket(handle.nc, svc.buckets.schemas, { replicas: 1 })).put('bench', 'charge.succeeded', schema);
const publisher = new AckingPublisher(handle.nc, 10_000);
await preload(publisher, raw);
await preload(publisher, svc);
publisher.close();

// CPU seconds nats-server has used (utime + stime from /proc, in clock ticks of 10 ms).
function natsCpuMs(): number | undefined {
  if (natsPid === undefined) return undefined;
  const fields = readFileSync(`/proc/${natsPid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Runs one child and also measures nats-server's CPU over the same span. */
async function measured(mode: 'raw' | 'service' | 'judge'): Promise<ChildResult & { natsCpuMs: number | undefined }> {
  const before = natsCpuMs();
  const result = await runChild(mode, nats.url);
  const after = natsCpuMs();
  return { ...result, natsCpuMs: before === undefined || after === undefined ? undefined : after - before };
}

const LABEL = 54;
const busy = (cpuMs: number | undefined, ms: number, width: number): string =>
  (cpuMs === undefined ? 'n/a' : `${((cpuMs / ms) * 100).toFixed(0)}%`).padStart(width);
const row = (label: string, r: ChildResult & { natsCpuMs: number | undefined }, unit = 'msg/s'): string =>
  `| ${label.padEnd(LABEL)} | ${`${Math.round(r.rate).toLocaleString('en-US')} ${unit}`.padStart(14)} | ${busy(r.cpuMs, r.ms, 12)} | ${busy(r.natsCpuMs, r.ms, 15)} |`;

console.log(`validate benchmark: ${MESSAGES} messages of ${body.length} bytes, schema of ~10 properties (additive mode)`);
console.log(`placement: ${placement}`);
const a = await measured('raw');
const b = await measured('service');
const c = await measured('judge');
const info = await jsm.streams.info(svc.streams.pipe, { subjects_filter: svc.valid('bench') });
const onValid = info.state.subjects?.[svc.valid('bench')] ?? 0;
console.log(`| ${'run'.padEnd(LABEL)} | ${'throughput'.padStart(14)} | consumer CPU | nats-server CPU |`);
console.log(`| ${'-'.repeat(LABEL)} | ${'-'.repeat(14)} | ${'-'.repeat(12)} | ${'-'.repeat(15)} |`);
console.log(row('(a) bare pull consumer, ack only', a));
console.log(row('(b) validate service (consume, validate, publish, ack)', b));
console.log(row('(c) judge() alone, same body and schema', c, 'ops/s'));
console.log(`b/a = ${(b.rate / a.rate).toFixed(2)}   c/b = ${(c.rate / b.rate).toFixed(1)}`);
console.log(
  `on hs.valid.bench: ${onValid} of ${MESSAGES}; rejected: ${b.rejected ?? 0}; total run ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
if (onValid !== MESSAGES) throw new Error(`expected ${MESSAGES} messages on hs.valid.bench, found ${onValid}`);
mkdirSync(here('./results'), { recursive: true });
writeFileSync(
  here('./results/latest.json'),
  JSON.stringify(
    {
      at: new Date().toISOString(),
      bodyBytes: body.length,
      messages: MESSAGES,
      placement,
      raw: { rate: a.rate, ms: a.ms, consumerCpuMs: a.cpuMs, natsCpuMs: a.natsCpuMs },
      service: { rate: b.rate, ms: b.ms, consumerCpuMs: b.cpuMs, natsCpuMs: b.natsCpuMs },
      judge: { rate: c.rate },
      ratio: b.rate / a.rate,
    },
    null,
    2,
  ),
);
await handle.drain();
await nats.stop();
