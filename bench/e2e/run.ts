import { EndpointStore, SourceStore } from '@hookstream/models';
// End-to-end benchmark: nats-server and every pipeline service (ingest,
// verify, dedup, validate, route, deliver) as real processes, one Stripe
// source, endpoints on a local recording receiver. An open-loop generator in
// this process POSTs Stripe-signed ~1 KiB events at fixed offered rates and
// measures send -> receipt at the endpoint. Phases (BENCH_PHASES, in order):
//
// - steps: offered load step by step until saturation (the latency table;
//   at the 500 ev/s step a core NATS subscription samples when each stage
//   published its output, and /proc gives each process's CPU);
// - overload: 2x then 4x the peak sustained rate, back to back, then stop
//   offering and measure the drain; a per-event ledger of every 202;
// - isolation: 50 healthy endpoints, then the same load again with a
//   blackholed endpoint subscribed to every event next to them;
// - many: one endpoint, then the same load spread over 1,000 endpoints;
// - cpu: BENCH_CPU_RATE events/s for BENCH_CPU_S s, well below saturation:
//   CPU ms per delivered event of each process (from /proc) and in all;
// - half: half the peak sustained rate for BENCH_CPU_S s (the latency a
//   deployment sized at twice its load sees).
//
// BENCH_TARGET=floor runs bench/floor/gateway.ts (one receiver that answers
// 202 after the PubAck, one consumer that POSTs and acks) in place of the six
// services, with the same broker, events, rates and receiver: the floor the
// pipeline is measured against. BENCH_ROOT=/path runs the services of another
// checkout of hookstream (with its own node_modules), e.g. the commit before
// a change, so that before and after are measured on the same machine in the
// same hour (bench/e2e/efficiency.ts does both). BENCH_LAYOUT=combined runs
// the six stages in one process (services/pipeline) instead of six.
//
// Writes bench/e2e/results/latest.json (or BENCH_OUT) and, with the steps
// phase, bench/e2e/latency.png. See bench/REPORT.md for the method.

import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBucket, secretBoxFromEnv, topology } from '@hookstream/runtime';
import {
  connectTestNats,
  findNatsServer,
  freePort,
  httpRequest,
  startEndpoint,
  startNatsCluster,
  startNatsServer,
} from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { type ServiceProcess, startService } from '../../test/e2e/processes.ts';
import { startFloor } from '../floor/process.ts';
import { renderLineChart } from './chart.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}=${raw}: not a non-negative number`);
  return v;
};

// ---- knobs (env)
const PHASE_NAMES = ['steps', 'overload', 'isolation', 'many', 'cpu', 'half'] as const;
type Phase = (typeof PHASE_NAMES)[number];
const PHASES = (process.env.BENCH_PHASES ?? 'steps,overload')
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean) as Phase[];
for (const p of PHASES) if (!PHASE_NAMES.includes(p)) throw new Error(`BENCH_PHASES: unknown phase ${p} (known: ${PHASE_NAMES})`);
const STEP_S = envNumber('BENCH_STEP_S', 8);
const DRAIN_MAX_MS = envNumber('BENCH_DRAIN_MAX_MS', 12_000);
const RATES = (process.env.BENCH_RATES ?? '100,250,500,750,1000,1500,2000,2500,3000,4000').split(',').map(Number);
// Peak sustained rate for the overload phase; unset = found by the steps phase.
const PEAK_ENV = process.env.BENCH_PEAK_PER_S ? envNumber('BENCH_PEAK_PER_S', 0) : undefined;
const OVERLOAD_S = envNumber('BENCH_OVERLOAD_S', 30);
const OVERLOAD_DRAIN_MAX_S = envNumber('BENCH_OVERLOAD_DRAIN_MAX_S', 180);
// Before each phase: wait this long at most for every consumer to be empty.
const SETTLE_MAX_S = envNumber('BENCH_SETTLE_MAX_S', 60);
const ISO_RATE = envNumber('BENCH_ISO_RATE', 200);
const ISO_S = envNumber('BENCH_ISO_S', 20);
const ISO_HEALTHY = 50;
const MANY_ENDPOINTS = envNumber('BENCH_MANY_ENDPOINTS', 1000);
// Offered rate of both many-endpoints runs; unset = the peak.
const MANY_RATE_ENV = process.env.BENCH_MANY_RATE ? envNumber('BENCH_MANY_RATE', 0) : undefined;
const MANY_S = envNumber('BENCH_MANY_S', 20);
// Drain bound of the isolation and many-endpoints runs.
const PHASE_DRAIN_MAX_S = envNumber('BENCH_PHASE_DRAIN_MAX_S', 60);
const OUT = process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : here('./results/latest.json');
const CPU_RATE = envNumber('BENCH_CPU_RATE', 200);
const CPU_S = envNumber('BENCH_CPU_S', 20);
const TARGET = process.env.BENCH_TARGET ?? 'pipeline';
if (TARGET !== 'pipeline' && TARGET !== 'floor') throw new Error(`BENCH_TARGET=${TARGET}: pipeline or floor`);
const ROOT = process.env.BENCH_ROOT ? resolve(process.env.BENCH_ROOT) : undefined;
// services: one process per stage (the Helm chart's default); combined: the six in one (services/pipeline).
const LAYOUT = process.env.BENCH_LAYOUT ?? 'services';
if (LAYOUT !== 'services' && LAYOUT !== 'combined') throw new Error(`BENCH_LAYOUT=${LAYOUT}: services or combined`);
// Services to run with --cpu-prof (profiles in BENCH_CPU_PROF_DIR, default bench/e2e/results/profiles); see bench/e2e/profile-top.ts.
const CPU_PROF = new Set((process.env.BENCH_CPU_PROF ?? '').split(',').filter(Boolean));
const CPU_PROF_DIR = resolve(process.env.BENCH_CPU_PROF_DIR ?? here('./results/profiles'));
// The endpoints' maxConcurrency; unset = the production default (10).
const ENDPOINT_CONCURRENCY = process.env.BENCH_ENDPOINT_CONCURRENCY;

const MAX_IN_FLIGHT = 2000;
const SAMPLE_RATE = 500;
const SAMPLE_SIZE = 200;
const STEPS_BUDGET_MS = 200_000;
// Rates skip the first second of a load while the pipeline fills.
const FILL_MS = 1000;
// Overload: a sustained step delivers at least this share of its offered rate.
const SUSTAINED_SHARE = 0.95;
const STRIPE_SECRET = 'whsec_bench_secret';
const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MASTER_KEY = randomBytes(32).toString('base64');
const NS = 'bench';
const t = topology(NS);
const CLK_TCK = 100;
const DEFAULT_TYPE = 'payment_intent.succeeded';

// ---------------------------------------------------------------- helpers

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A ratio rounded to 3 digits (or `digits`); null when it cannot be computed (JSON has no NaN). */
function ratio(a: number, b: number, digits = 3): number | null {
  const r = a / b;
  return Number.isFinite(r) ? round(r, digits) : null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may contain spaces), 1-based 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

// Event ids are fixed-width so the receiver and the subscription can read
// them from the first bytes of the body without parsing JSON: the load's
// index (2 digits) and the event's index in it (6 digits).
const ID_PREFIX = '{"id":"evt_';
const idOf = (load: number, i: number): string => `evt_${pad(load, 2)}_${pad(i, 6)}`;
function parseId(bytes: Uint8Array): { load: number; i: number } | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 24)).toString('latin1');
  if (!head.startsWith(ID_PREFIX)) return undefined;
  return { load: Number(head.slice(11, 13)), i: Number(head.slice(14, 20)) };
}

interface SignedEvent {
  readonly body: Buffer;
  readonly signature: string;
}

function makeEvent(load: number, i: number, ts: number, type = DEFAULT_TYPE): SignedEvent {
  const head = `{"id":"${idOf(load, i)}","object":"event","api_version":"2024-06-20","created":${ts},"type":"${type}","livemode":false,"pending_webhooks":1,"request":{"id":"req_${i}","idempotency_key":null},"data":{"object":{"id":"pi_3NG8Dt2eZvKYlo2C${i}","object":"payment_intent","amount":2000,"currency":"usd","status":"succeeded","metadata":{"order":"`;
  const tail = '"}}}}';
  const body = `${head}${'x'.repeat(Math.max(0, 1024 - head.length - tail.length))}${tail}`;
  const v1 = createHmac('sha256', STRIPE_SECRET).update(`${ts}.${body}`).digest('hex');
  return { body: Buffer.from(body), signature: `t=${ts},v1=${v1}` };
}

// ---------------------------------------------------------------- set-up

// The broker: one nats-server with R1 streams (the local stack), or
// BENCH_NATS_NODES=3, a 3-node cluster with R3 streams and KV buckets (what
// production runs). BENCH_NATS_SYNC is JetStream's sync_interval: `always`
// (fsync before every PubAck, the recommended setting) or e.g. `2m` (the
// server's default) to measure what fsync costs.
const NATS_NODES = envNumber('BENCH_NATS_NODES', 1);
const NATS_SYNC = process.env.BENCH_NATS_SYNC ?? 'always';
const REPLICAS = NATS_NODES >= 3 ? 3 : 1;
const started = performance.now();
const broker =
  NATS_NODES > 1
    ? await (async () => {
        const c = await startNatsCluster({ size: NATS_NODES, syncInterval: NATS_SYNC });
        return { url: c.urls.join(','), pids: () => c.nodes.map((n) => n.process.pid), stop: () => c.stop() };
      })()
    : await (async () => {
        const n = await startNatsServer({ syncInterval: NATS_SYNC });
        return { url: n.url, pids: () => [n.pid], stop: () => n.stop() };
      })();
const nats = { url: broker.url, stop: broker.stop };
const handle = await connectTestNats(nats.url);
const box = secretBoxFromEnv({ HS_MASTER_KEY: MASTER_KEY });
await new SourceStore(await openBucket(handle.nc, t.buckets.sources, { replicas: REPLICAS }), box).put({
  id: 'stripe',
  provider: 'stripe',
  secrets: [{ id: 'k1', value: STRIPE_SECRET }],
});
// One receiver for every endpoint; endpoints other than `sink` POST to
// `/hook/{endpoint id}`, so a receipt says which endpoint it was for.
const endpoint = await startEndpoint();
const endpointStore = new EndpointStore(await openBucket(handle.nc, t.buckets.endpoints, { replicas: REPLICAS }), box);
const concurrency = ENDPOINT_CONCURRENCY ? { maxConcurrency: Number(ENDPOINT_CONCURRENCY) } : {};
const SINK_PATH = new URL(endpoint.url).pathname;
// `sink` takes only the default event type, so the multi-endpoint phases' events do not reach it.
await endpointStore.put({
  id: 'sink',
  url: endpoint.url,
  eventTypes: [DEFAULT_TYPE],
  secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
  ...concurrency,
});
const ingestPort = await freePort();
const env = { HS_NATS_URL: nats.url, HS_NAMESPACE: NS, HS_MASTER_KEY: MASTER_KEY, HS_STREAM_REPLICAS: String(REPLICAS) };
const services: ServiceProcess[] = [];
if (TARGET === 'floor') {
  services.push(
    await startFloor({ FLOOR_NATS_URL: nats.url, FLOOR_PORT: String(ingestPort), FLOOR_TARGET: endpoint.url, FLOOR_CONCURRENCY: '64' }),
  );
} else {
  const opts = (name: string) => ({
    ...(ROOT !== undefined ? { root: ROOT } : {}),
    ...(CPU_PROF.has(name) ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] } : {}),
  });
  const ingestEnv = { HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' };
  const deliverEnv = { HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' };
  if (LAYOUT === 'combined') {
    services.push(await startService('pipeline', { ...env, ...ingestEnv, ...deliverEnv }, opts('pipeline')));
  } else {
    services.push(await startService('ingest', { ...env, ...ingestEnv }, opts('ingest')));
    for (const name of ['verify', 'dedup', 'validate', 'route']) services.push(await startService(name, env, opts(name)));
    services.push(await startService('deliver', { ...env, ...deliverEnv }, opts('deliver')));
  }
}
// Experiment, not a product setting: BENCH_NICE_INTAKE=n lowers the CPU
// priority of ingest, verify, dedup, validate and route by n (renice), as if
// intake ran on other nodes than deliver and nats-server, to separate what
// flow control does from what CPU contention on one node does.
const NICE_INTAKE = Number(process.env.BENCH_NICE_INTAKE ?? '0');
if (NICE_INTAKE > 0) {
  for (const s of services.filter((x) => x.name !== 'deliver')) {
    spawnSync('renice', ['-n', String(NICE_INTAKE), '-p', String(s.child.pid)]);
  }
}
const processes: { name: string; pid: () => number | undefined }[] = [
  ...broker.pids().map((_, i) => ({ name: NATS_NODES > 1 ? `nats-server-${i + 1}` : 'nats-server', pid: () => broker.pids()[i] })),
  ...services.map((s) => ({ name: s.name, pid: () => s.child.pid })),
];
console.log(
  `e2e benchmark (${TARGET === 'floor' ? 'floor' : LAYOUT}${ROOT ? ` from ${ROOT}` : ''}): ${services.length} services + nats-server up in ${round((performance.now() - started) / 1000)} s; phases ${PHASES.join(',')}`,
);

const jsm = await jetstreamManager(handle.nc);
const watchedStreams = TARGET === 'floor' ? ['FLOOR'] : [t.streams.raw, t.streams.pipe, t.streams.delivery];
// Per-consumer counters of the delivery stream only up to this many consumers (deliver may run one per endpoint).
const PER_CONSUMER_MAX = 8;

/**
 * Counters that explain a load: each service's settled messages by outcome
 * and mean handler time (its /metrics), the JetStream consumers'
 * delivered/redelivered counts (every consumer of each stream; the delivery
 * stream's also summed as `{stream}/*`), and the delivery stream's last
 * sequence (every task or retry message published to it). Totals so far.
 */
async function counters(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const delivered = new Map<string, number>();
  deliveredByConsumer.set(out, delivered);
  for (const s of services) {
    const answer = await httpRequest({ port: s.healthPort, path: '/metrics' }).catch(() => undefined);
    for (const line of answer?.body.split('\n') ?? []) {
      if (!/^hookstream_(stage_messages_total|delivery_attempts_total|stage_duration_seconds_(sum|count))\{/.test(line)) continue;
      // Per-endpoint attempt counters would be thousands of keys in the many-endpoints phase.
      if (line.startsWith('hookstream_delivery_attempts_total') && !line.includes('endpoint="sink"')) continue;
      const space = line.lastIndexOf(' ');
      // The combined process serves every stage's series: key each by its stage, as if apart.
      const owner =
        s.name === 'pipeline'
          ? (/stage="(\w+)"/.exec(line)?.[1] ?? (line.startsWith('hookstream_delivery_') ? 'deliver' : s.name))
          : s.name;
      out[`${owner} ${line.slice(0, space)}`] = Number(line.slice(space + 1));
    }
  }
  for (const stream of watchedStreams) {
    const all = { delivered: 0, redelivered: 0, ack_pending: 0, pending: 0, consumers: 0 };
    const each: Record<string, number> = {};
    for await (const c of jsm.consumers.list(stream)) {
      each[`${stream}/${c.name} delivered`] = c.delivered.consumer_seq;
      if (stream === t.streams.delivery) delivered.set(c.name, c.delivered.consumer_seq);
      each[`${stream}/${c.name} redelivered`] = c.num_redelivered;
      each[`${stream}/${c.name} ack_pending`] = c.num_ack_pending;
      each[`${stream}/${c.name} pending`] = c.num_pending;
      all.delivered += c.delivered.consumer_seq;
      all.redelivered += c.num_redelivered;
      all.ack_pending += c.num_ack_pending;
      all.pending += c.num_pending;
      all.consumers++;
    }
    if (stream !== t.streams.delivery || all.consumers <= PER_CONSUMER_MAX) Object.assign(out, each);
    if (stream === t.streams.delivery) {
      for (const [k, v] of Object.entries(all)) out[`${stream}/* ${k}`] = v;
      out[`${stream} last_seq`] = (await jsm.streams.info(stream)).state.last_seq;
    }
  }
  return out;
}

// Each snapshot's delivery-stream consumers and their delivered counts, for
// sums that stay right when consumers come and go (deliver may run one per endpoint).
const deliveredByConsumer = new WeakMap<Record<string, number>, Map<string, number>>();

// Gauges are reported as they are; everything else as an increase.
const isGauge = (k: string): boolean => k.endsWith('pending') || k.endsWith(' redelivered') || k.endsWith(' consumers');

function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const change = isGauge(k) ? v : round(v - (before[k] ?? 0), 4);
    if (change !== 0) d[k] = change;
  }
  return d;
}

/** Sum of a service's metric samples (from {@link counters}) whose labels include every given one. */
function metricSum(c: Record<string, number>, service: string, metric: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const [k, v] of Object.entries(c)) {
    if (!k.startsWith(`${service} ${metric}{`)) continue;
    if (Object.entries(labels).every(([name, value]) => k.includes(`${name}="${value}"`))) sum += v;
  }
  return sum;
}

/** What the deliver side did between two {@link counters} snapshots. */
function deliverWork(before: Record<string, number>, after: Record<string, number>) {
  const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  const naks = (c: Record<string, number>) =>
    metricSum(c, 'deliver', 'hookstream_stage_messages_total', { stage: 'deliver', outcome: 'nak' });
  const outcomes: Record<string, number> = {};
  for (const outcome of ['ack', 'nak', 'term', 'error']) {
    const n =
      metricSum(after, 'deliver', 'hookstream_stage_messages_total', { stage: 'deliver', outcome }) -
      metricSum(before, 'deliver', 'hookstream_stage_messages_total', { stage: 'deliver', outcome });
    if (n !== 0) outcomes[outcome] = n;
  }
  return {
    naks: naks(after) - naks(before),
    settledByOutcome: outcomes,
    // Messages JetStream handed to deliver's consumers (first deliveries and redeliveries),
    // summed per consumer (a consumer created since `before` counts from 0; one deleted since is missing).
    consumerDeliveries: [...(deliveredByConsumer.get(after) ?? [])].reduce(
      (sum, [name, n]) => sum + n - (deliveredByConsumer.get(before)?.get(name) ?? 0),
      0,
    ),
    // Messages published to the delivery stream (tasks from route, plus retries if deliver republishes).
    deliveryStreamPublished: d(`${t.streams.delivery} last_seq`),
    consumers: after[`${t.streams.delivery}/* consumers`] ?? 0,
  };
}

// ---------------------------------------------------------------- CPU

interface CpuMark {
  readonly at: number;
  readonly procs: number[];
  readonly bench: NodeJS.CpuUsage;
  readonly machine: { busy: number; total: number };
}

function cpuMark(): CpuMark {
  return {
    at: performance.now(),
    procs: processes.map((p) => cpuSeconds(p.pid())),
    bench: process.cpuUsage(),
    machine: machineJiffies(),
  };
}

/** CPU per process between two marks, in % of one core (200 = both cores busy). */
function cpuBetween(a: CpuMark, b: CpuMark): Record<string, number> {
  const s = Math.max(1e-3, (b.at - a.at) / 1000);
  const out: Record<string, number> = {};
  processes.forEach((p, k) => {
    out[p.name] = round((((b.procs[k] ?? 0) - (a.procs[k] ?? 0)) / s) * 100, 0);
  });
  const bench = b.bench.user + b.bench.system - a.bench.user - a.bench.system;
  out['bench (generator+receiver)'] = round((bench / 1e6 / s) * 100, 0);
  // The whole machine: shows load from outside this run.
  out['machine (all processes)'] = round(((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * 200, 0);
  return out;
}

// ---------------------------------------------------------------- load

const agent = new Agent({ keepAlive: true, maxSockets: 128 });
let inFlight = 0;

/** One open-loop load: `n` events at `rate`/s, and the ledger of what became of each. */
interface Load {
  readonly idx: number;
  readonly label: string;
  readonly rate: number;
  readonly n: number;
  /** Tasks route makes of one accepted event (endpoints it matches). */
  readonly fanout: number;
  /** The receiver path event i must arrive at. */
  readonly pathOf: (i: number) => string;
  events: SignedEvent[] | undefined;
  readonly sentAt: Float64Array;
  readonly ackAt: Float64Array;
  /** First receipt at the endpoint; 0 = none yet. */
  readonly deliveredAt: Float64Array;
  /** Receipts at the endpoint (capped at 255). */
  readonly deliveries: Uint8Array;
  /** Ingest's HTTP status; 0 = no answer (yet), 1 = request error, 2 = shed by the generator. */
  readonly status: Uint16Array;
  /** Scheduled start and time the last event was issued. */
  start: number;
  end: number;
  accepted: number;
  rejected: number;
  requestErrors: number;
  shed: number;
  delivered: number;
  duplicates: number;
  misrouted: number;
  lastDeliveryAt: number;
  maxLagMs: number;
}

const loads = new Map<number, Load>();
let nextLoadIdx = 0;

function newLoad(
  label: string,
  rate: number,
  seconds: number,
  opts: { type?: (i: number) => string; pathOf?: (i: number) => string; fanout?: number } = {},
): Load {
  const idx = nextLoadIdx++;
  if (idx > 99) throw new Error('more than 100 loads in one run: event ids have two digits for the load');
  const n = Math.round(rate * seconds);
  if (n >= 1_000_000) throw new Error(`${label}: ${n} events; event ids have six digits for the index`);
  const ts = Math.floor(Date.now() / 1000);
  const type = opts.type;
  const l: Load = {
    idx,
    label,
    rate,
    n,
    fanout: opts.fanout ?? 1,
    pathOf: opts.pathOf ?? (() => SINK_PATH),
    events: Array.from({ length: n }, (_, i) => makeEvent(idx, i, ts, type?.(i))),
    sentAt: new Float64Array(n),
    ackAt: new Float64Array(n),
    deliveredAt: new Float64Array(n),
    deliveries: new Uint8Array(n),
    status: new Uint16Array(n),
    start: 0,
    end: 0,
    accepted: 0,
    rejected: 0,
    requestErrors: 0,
    shed: 0,
    delivered: 0,
    duplicates: 0,
    misrouted: 0,
    lastDeliveryAt: 0,
    maxLagMs: 0,
  };
  loads.set(idx, l);
  return l;
}

// Stage stamps for sampled events: stage -> time seen on a core subscription.
const samples = new Map<number, Record<string, number>>();
let sampleLoad: Load | undefined;

// Receipts at the endpoint: consumed incrementally from endpoint.received.
let receivedCursor = 0;
function collectReceipts(): void {
  const received = endpoint.received;
  for (; receivedCursor < received.length; receivedCursor++) {
    const r = received[receivedCursor];
    if (!r) continue;
    const id = parseId(r.body);
    const l = id && loads.get(id.load);
    if (!id || !l || id.i >= l.n) continue;
    const count = l.deliveries[id.i] ?? 0;
    if (count < 255) l.deliveries[id.i] = count + 1;
    if (count > 0) l.duplicates++;
    else {
      l.deliveredAt[id.i] = r.at;
      l.delivered++;
      if (r.at > l.lastDeliveryAt) l.lastDeliveryAt = r.at;
    }
    if (r.path !== l.pathOf(id.i)) l.misrouted++;
    const sample = l === sampleLoad ? samples.get(id.i) : undefined;
    if (sample && sample.endpoint === undefined) sample.endpoint = r.at;
  }
  // The receiver keeps every request; drop what is counted to bound memory.
  if (receivedCursor > 50_000) {
    received.splice(0, receivedCursor);
    receivedCursor = 0;
  }
}

function send(l: Load, i: number, ev: SignedEvent): void {
  inFlight++;
  l.sentAt[i] = performance.now();
  const req = request(
    {
      host: '127.0.0.1',
      port: ingestPort,
      path: '/v1/webhooks/stripe',
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'content-length': ev.body.length,
        'stripe-signature': ev.signature,
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
    },
    (res) => {
      res.resume();
      res.on('end', () => {
        inFlight--;
        l.ackAt[i] = performance.now();
        l.status[i] = res.statusCode ?? 0;
        if (res.statusCode === 202) l.accepted++;
        else l.rejected++;
      });
    },
  );
  req.on('error', () => {
    inFlight--;
    l.status[i] = 1;
    l.requestErrors++;
  });
  req.end(ev.body);
}

/**
 * Offers the loads open loop, back to back (each starts when the previous
 * one's schedule ends): a 1 ms timer sends however many POSTs are due,
 * without waiting for answers; past MAX_IN_FLIGHT an event is shed (not sent).
 */
async function offer(
  list: readonly Load[],
  hooks: { onTick?: (l: Load, next: number) => void; onSwitch?: (l: Load) => void } = {},
): Promise<void> {
  let k = 0;
  let next = 0;
  let segStart = performance.now();
  const first = list[0];
  if (!first) return;
  first.start = segStart;
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const now = performance.now();
      for (;;) {
        const l = list[k];
        if (!l) break;
        const due = Math.min(l.n, Math.floor(((now - segStart) / 1000) * l.rate) + 1);
        if (next < due) l.maxLagMs = Math.max(l.maxLagMs, now - (segStart + (next / l.rate) * 1000));
        for (; next < due; next++) {
          const ev = l.events?.[next];
          if (!ev) continue;
          if (inFlight >= MAX_IN_FLIGHT) {
            l.shed++;
            l.status[next] = 2;
          } else send(l, next, ev);
        }
        hooks.onTick?.(l, next);
        if (next < l.n) break;
        l.end = now;
        l.events = undefined;
        segStart += (l.n / l.rate) * 1000;
        k++;
        next = 0;
        const following = list[k];
        if (!following) {
          clearInterval(timer);
          done();
          break;
        }
        following.start = segStart;
        hooks.onSwitch?.(following);
      }
      collectReceipts();
    }, 1);
  });
}

/** Every request answered and every accepted (202) event received at least once. */
function complete(list: readonly Load[]): boolean {
  for (const l of list) {
    if (l.accepted + l.rejected + l.requestErrors + l.shed < l.n) return false;
    if (l.delivered < l.accepted) return false;
  }
  // The cheap check passed; an event answered other than 202 may still have been delivered, so check each 202.
  return list.every((l) => undelivered(l) === 0);
}

/** Accepted (202) events not received at the endpoint. */
function undelivered(l: Load): number {
  let n = 0;
  for (let i = 0; i < l.n; i++) if (l.status[i] === 202 && l.deliveries[i] === 0) n++;
  return n;
}

/** Accepted events received more than once; and events received without a 202. */
function ledger(l: Load): { lost: number; duplicated: number; extraDeliveries: number; deliveredNotAccepted: number } {
  let lost = 0;
  let duplicated = 0;
  let extra = 0;
  let notAccepted = 0;
  for (let i = 0; i < l.n; i++) {
    const c = l.deliveries[i] ?? 0;
    if (c > 1) extra += c - 1;
    if (l.status[i] === 202) {
      if (c === 0) lost++;
      if (c > 1) duplicated++;
    } else if (c > 0) notAccepted++;
  }
  return { lost, duplicated, extraDeliveries: extra, deliveredNotAccepted: notAccepted };
}

/** Waits until {@link complete} or the deadline; collects receipts meanwhile. */
async function drain(list: readonly Load[], deadline: number): Promise<boolean> {
  for (;;) {
    collectReceipts();
    if (complete(list)) return true;
    if (performance.now() >= deadline) return false;
    await sleep(20);
  }
}

/** First receipts of any event (any load) with from <= at <= to. */
function deliveriesBetween(from: number, to: number): number {
  let n = 0;
  for (const l of loads.values()) for (const d of l.deliveredAt) if (d >= from && d <= to) n++;
  return n;
}

/** First receipts per second during a load's offering, skipping its first second. */
function goodputPerS(l: Load): number {
  const from = l.start + FILL_MS;
  return deliveriesBetween(from, l.end) / Math.max(1e-3, (l.end - from) / 1000);
}

/**
 * End-to-end latency of a load's accepted events sent at or after `from`;
 * an accepted event not received counts as (now - sent), a lower bound.
 */
function e2eOf(l: Load, from = 0): { p50: number; p95: number; p99: number; max: number; count: number } {
  const now = performance.now();
  const e2e: number[] = [];
  for (let i = 0; i < l.n; i++) {
    const sent = l.sentAt[i] ?? 0;
    if (sent === 0 || sent < from) continue;
    const d = l.deliveredAt[i] ?? 0;
    if (d !== 0) e2e.push(d - sent);
    else if (l.status[i] === 202) e2e.push(now - sent);
  }
  e2e.sort((a, b) => a - b);
  return {
    p50: round(percentile(e2e, 50)),
    p95: round(percentile(e2e, 95)),
    p99: round(percentile(e2e, 99)),
    max: round(e2e.at(-1) ?? Number.NaN),
    count: e2e.length,
  };
}

function statusCounts(l: Load): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of l.status) {
    const k = s === 0 ? 'no answer' : s === 1 ? 'request error' : s === 2 ? 'shed by generator' : String(s);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Waits until every consumer of the watched streams is empty (nothing pending or unacked), at most SETTLE_MAX_S. */
async function settle(label: string): Promise<{ settled: boolean; ms: number }> {
  const from = performance.now();
  for (;;) {
    collectReceipts();
    let busy = 0;
    for (const stream of watchedStreams) {
      for await (const c of jsm.consumers.list(stream)) busy += c.num_pending + c.num_ack_pending;
    }
    const ms = round(performance.now() - from, 0);
    if (busy === 0) return { settled: true, ms };
    if (ms >= SETTLE_MAX_S * 1000) {
      console.log(`${label}: pipeline not idle after ${SETTLE_MAX_S} s (${busy} messages pending or unacked); going on`);
      return { settled: false, ms };
    }
    await sleep(250);
  }
}

/** Puts endpoints `{prefix}{k}` on the receiver's `/hook/{id}`, each taking type `{typePrefix}{k}`, 100 at a time. */
async function putEndpoints(ids: readonly string[], typeOf: (k: number) => readonly string[]): Promise<void> {
  for (let from = 0; from < ids.length; from += 100) {
    await Promise.all(
      ids.slice(from, from + 100).map((id, j) =>
        endpointStore.put({
          id,
          url: `${endpoint.url}/${id}`,
          eventTypes: typeOf(from + j),
          secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
          ...concurrency,
        }),
      ),
    );
  }
}

async function deleteEndpoints(ids: readonly string[]): Promise<void> {
  for (let from = 0; from < ids.length; from += 100) await Promise.all(ids.slice(from, from + 100).map((id) => endpointStore.delete(id)));
}

// Route and deliver watch the endpoints bucket; give them time to see a change.
const CONFIG_PROPAGATION_MS = 2000;

// ---------------------------------------------------------------- phase: steps

const stageSubjects: Record<string, string> = {
  raw: t.raw('stripe'),
  verified: t.verified('stripe'),
  unique: t.unique('stripe'),
  valid: t.valid('stripe'),
  event: t.subject('events.>'),
  task: t.deliver('sink'),
};

function subscribeStages(l: Load): Subscription[] {
  return Object.entries(stageSubjects).map(([stage, subject]) =>
    handle.nc.subscribe(subject, {
      callback: (_err, msg) => {
        const at = performance.now();
        const id = parseId(msg.data);
        if (!id || id.load !== l.idx) return;
        const sample = samples.get(id.i);
        if (sample && sample[stage] === undefined) sample[stage] = at;
      },
    }),
  );
}

interface StepResult {
  offered: number;
  sent: number;
  accepted: number;
  delivered: number;
  achieved: number;
  e2eP50: number;
  e2eP95: number;
  e2eP99: number;
  e2eMax: number;
  ingestP50: number;
  ingestP99: number;
  errors: number;
  shed: number;
  duplicates: number;
  undeliveredAfterDrain: number;
  drainMs: number;
  generatorMaxLagMs: number;
  cpuPercent: Record<string, number>;
  counters: Record<string, number>;
}

async function runStep(label: string, rate: number, seconds = STEP_S): Promise<StepResult> {
  const l = newLoad(label, rate, seconds);
  const sampling = rate === SAMPLE_RATE && sampleLoad === undefined && label !== 'warm-up';
  const sampleFrom = Math.floor(l.n / 2);
  if (sampling) {
    sampleLoad = l;
    for (let i = sampleFrom; i < sampleFrom + SAMPLE_SIZE; i++) samples.set(i, {});
  }
  let subs: Subscription[] = [];
  let unsubscribed = false;

  const countersBefore = await counters();
  const cpuBefore = cpuMark();
  await offer([l], {
    onTick: (_l, next) => {
      // Sample the stages for ~0.4 s of traffic in the middle of the step.
      if (sampling && subs.length === 0 && next >= sampleFrom - rate / 4) subs = subscribeStages(l);
      if (!unsubscribed && subs.length > 0 && [...samples.values()].every((x) => x.endpoint !== undefined)) {
        for (const sub of subs) sub.unsubscribe();
        unsubscribed = true;
      }
    },
  });
  const cpuAfter = cpuMark();
  // Drain: until every accepted event arrived, or the bound.
  await drain([l], l.end + DRAIN_MAX_MS);
  if (!unsubscribed) for (const sub of subs) sub.unsubscribe();
  collectReceipts();
  const stepCounters = delta(countersBefore, await counters());
  const drainMs = performance.now() - l.end;

  const ingest: number[] = [];
  for (let i = 0; i < l.n; i++) {
    const sent = l.sentAt[i] ?? 0;
    const ack = l.ackAt[i] ?? 0;
    if (ack !== 0 && sent !== 0) ingest.push(ack - sent);
  }
  ingest.sort((a, b) => a - b);
  // Achieved rate: every delivery at the endpoint (any load) in the window,
  // skipping the first second while the pipeline fills.
  const achieved = goodputPerS(l);
  // Latency over delivered events only, as before (undelivered ones are counted apart).
  const delivered: number[] = [];
  for (let i = 0; i < l.n; i++) {
    const d = l.deliveredAt[i] ?? 0;
    const sent = l.sentAt[i] ?? 0;
    if (d !== 0 && sent !== 0) delivered.push(d - sent);
  }
  delivered.sort((a, b) => a - b);
  return {
    offered: rate,
    sent: l.n - l.shed,
    accepted: l.accepted,
    delivered: delivered.length,
    achieved: round(achieved, 0),
    e2eP50: round(percentile(delivered, 50)),
    e2eP95: round(percentile(delivered, 95)),
    e2eP99: round(percentile(delivered, 99)),
    e2eMax: round(delivered.at(-1) ?? Number.NaN),
    ingestP50: round(percentile(ingest, 50), 2),
    ingestP99: round(percentile(ingest, 99), 2),
    errors: l.rejected + l.requestErrors,
    shed: l.shed,
    duplicates: l.duplicates,
    undeliveredAfterDrain: undelivered(l),
    drainMs: round(drainMs, 0),
    generatorMaxLagMs: round(l.maxLagMs, 1),
    cpuPercent: cpuBetween(cpuBefore, cpuAfter),
    counters: stepCounters,
  };
}

const results: StepResult[] = [];
let saturation: { offered: number; reason: string } | undefined;

async function runSteps(): Promise<void> {
  const phaseStart = performance.now();
  for (const rate of RATES) {
    if (performance.now() - phaseStart > STEPS_BUDGET_MS) {
      console.log('steps: time budget spent; stopping');
      break;
    }
    const r = await runStep(`step ${rate}/s`, rate);
    results.push(r);
    console.log(
      `offered ${String(rate).padStart(5)}/s  achieved ${String(r.achieved).padStart(5)}/s  e2e p50 ${r.e2eP50} p95 ${r.e2eP95} p99 ${r.e2eP99} max ${r.e2eMax} ms  ` +
        `ingest p50 ${r.ingestP50} p99 ${r.ingestP99} ms  errors ${r.errors} shed ${r.shed} dup ${r.duplicates} undelivered ${r.undeliveredAfterDrain} ` +
        `drain ${r.drainMs} ms lag ${r.generatorMaxLagMs} ms  cpu ${JSON.stringify(r.cpuPercent)}`,
    );
    console.log(`  counters: ${JSON.stringify(r.counters)}`);
    const reasons = [
      r.achieved < 0.9 * rate ? `achieved ${r.achieved}/s < 90% of offered` : '',
      r.e2eP99 > 2000 ? `p99 ${r.e2eP99} ms > 2 s` : '',
      r.undeliveredAfterDrain > 0 ? `${r.undeliveredAfterDrain} accepted events not delivered ${DRAIN_MAX_MS / 1000} s after the step` : '',
    ].filter(Boolean);
    if (reasons.length > 0) {
      saturation = { offered: rate, reason: reasons.join('; ') };
      console.log(`saturated at ${rate}/s: ${saturation.reason}`);
      break;
    }
  }
}

/**
 * The peak sustained rate: the highest step whose achieved rate was at least
 * SUSTAINED_SHARE of its offered rate, with every accepted event delivered
 * once within the step's drain, no request failed and none shed. The
 * offered rate of that step is the peak (a lower bound of the capacity: the
 * next step up was not sustained, or not run).
 */
function peakFromSteps(): { perS: number; step: StepResult } | undefined {
  const ok = results.filter(
    (r) =>
      r.achieved >= SUSTAINED_SHARE * r.offered && r.undeliveredAfterDrain === 0 && r.duplicates === 0 && r.errors === 0 && r.shed === 0,
  );
  const best = ok.reduce<StepResult | undefined>((a, r) => (a === undefined || r.offered > a.offered ? r : a), undefined);
  return best ? { perS: best.offered, step: best } : undefined;
}

// ---------------------------------------------------------------- phase: overload

async function runOverload(peak: number, peakSource: string) {
  const settled = await settle('overload');
  console.log(`overload: peak ${peak}/s (${peakSource}); offering ${2 * peak}/s then ${4 * peak}/s for ${OVERLOAD_S} s each`);
  const x2 = newLoad('overload 2x', 2 * peak, OVERLOAD_S);
  const x4 = newLoad('overload 4x', 4 * peak, OVERLOAD_S);
  const both = [x2, x4];
  const c0 = await counters();
  const m0 = cpuMark();
  let mSwitch = m0;
  await offer(both, { onSwitch: () => (mSwitch = cpuMark()) });
  const offerEnd = performance.now();
  const mOffered = cpuMark();
  collectReceipts();
  const backlogAtOfferEnd = x2.accepted + x4.accepted - x2.delivered - x4.delivered;
  console.log(
    `overload: offering done; ${backlogAtOfferEnd} accepted events not yet delivered; draining (at most ${OVERLOAD_DRAIN_MAX_S} s)`,
  );
  const drained = await drain(both, offerEnd + OVERLOAD_DRAIN_MAX_S * 1000);
  const drainEnd = drained ? Math.max(offerEnd, x2.lastDeliveryAt, x4.lastDeliveryAt) : performance.now();
  const mDrained = cpuMark();
  // Late duplicates (redeliveries of events already received) for 2 more seconds.
  await sleep(2000);
  collectReceipts();
  const c1 = await counters();

  const goodput2 = goodputPerS(x2);
  const goodput4 = goodputPerS(x4);
  const drainS = (drainEnd - offerEnd) / 1000;
  const drainDeliveries = deliveriesBetween(offerEnd, drainEnd);
  const drainPerS = drainS > 0 ? drainDeliveries / drainS : Number.NaN;
  const l2 = ledger(x2);
  const l4 = ledger(x4);
  const work = deliverWork(c0, c1);
  const tasks = (x2.accepted + x4.accepted) * x2.fanout;
  const out = {
    peak_per_s: peak,
    goodput_ratio_2x: ratio(goodput2, peak),
    goodput_ratio_4x: ratio(goodput4, peak),
    // Less than a tenth of a second of backlog at the end of offering: no drain to measure.
    drain_ratio: backlogAtOfferEnd >= peak / 10 ? ratio(drainPerS, peak) : null,
    naks_per_task: ratio(work.naks, tasks, 4),
    lost: l2.lost + l4.lost,
    duplicated: l2.duplicated + l4.duplicated,
    detail: {
      peakSource,
      targets: {} as Record<string, boolean>,
      segments: [x2, x4].map((l) => ({
        label: l.label,
        offeredPerS: l.rate,
        seconds: round((l.end - l.start) / 1000, 2),
        events: l.n,
        accepted: l.accepted,
        ingestAnswers: statusCounts(l),
        goodputPerS: round(goodputPerS(l), 0),
        e2e: e2eOf(l),
        delivered: l.delivered,
        generatorMaxLagMs: round(l.maxLagMs, 1),
      })),
      drain: {
        backlogAtStart: backlogAtOfferEnd,
        complete: drained,
        seconds: round(drainS, 2),
        deliveries: drainDeliveries,
        perS: round(drainPerS, 0),
      },
      ledger: {
        accepted: x2.accepted + x4.accepted,
        lost: l2.lost + l4.lost,
        duplicated: l2.duplicated + l4.duplicated,
        extraDeliveries: l2.extraDeliveries + l4.extraDeliveries,
        deliveredWithoutA202: l2.deliveredNotAccepted + l4.deliveredNotAccepted,
        misrouted: x2.misrouted + x4.misrouted,
      },
      deliver: { tasks, ...work },
      cpuPercent: {
        '2x': cpuBetween(m0, mSwitch),
        '4x': cpuBetween(mSwitch, mOffered),
        drain: cpuBetween(mOffered, mDrained),
        whole: cpuBetween(m0, mDrained),
      },
      settleBefore: settled,
      counters: delta(c0, c1),
    },
  };
  const ok = (v: number | null, min: number) => v !== null && v >= min;
  out.detail.targets = {
    goodputRatio2x: ok(out.goodput_ratio_2x, 0.9),
    goodputRatio4x: ok(out.goodput_ratio_4x, 0.9),
    drainRatio: ok(out.drain_ratio, 0.9),
    naksPerTask: out.naks_per_task !== null && out.naks_per_task <= 0.05,
    lost: out.lost === 0,
    duplicated: out.duplicated === 0,
  };
  const cpu = out.detail.cpuPercent.whole;
  console.log(
    `OVERLOAD peak ${peak}/s (${peakSource}) | 2x ${2 * peak}/s: accepted ${x2.accepted}/${x2.n}, goodput ${round(goodput2, 0)}/s ratio ${out.goodput_ratio_2x} | ` +
      `4x ${4 * peak}/s: accepted ${x4.accepted}/${x4.n}, goodput ${round(goodput4, 0)}/s ratio ${out.goodput_ratio_4x} | ` +
      `drain ${backlogAtOfferEnd} in ${round(drainS, 1)} s${drained ? '' : ' (INCOMPLETE)'}: ${round(drainPerS, 0)}/s ratio ${out.drain_ratio} | ` +
      `naks ${work.naks} / tasks ${tasks} = ${out.naks_per_task} | lost ${out.lost} duplicated ${out.duplicated} | ` +
      `targets ${
        Object.values(out.detail.targets).every(Boolean)
          ? 'MET'
          : `missed: ${Object.entries(out.detail.targets)
              .filter(([, v]) => !v)
              .map(([k]) => k)
              .join(', ')}`
      } | cpu ${JSON.stringify(cpu)}`,
  );
  return out;
}

// ---------------------------------------------------------------- phase: isolation

/**
 * 50 healthy endpoints, each taking its own event type, events spread over
 * them round robin. Run A: that alone. Run B: the same load with an endpoint
 * that accepts TCP connections and never answers, subscribed to every one of
 * these events (so it gets as many tasks as the 50 together). The healthy
 * endpoints' e2e p99 (events sent after the first second) in B against A.
 */
async function runIsolation() {
  const healthy = Array.from({ length: ISO_HEALTHY }, (_, k) => `iso-h${pad(k, 2)}`);
  await putEndpoints(healthy, (k) => [`bench.iso.h${pad(k, 2)}`]);
  await sleep(CONFIG_PROPAGATION_MS);
  const opts = (fanout: number) => ({
    type: (i: number) => `bench.iso.h${pad(i % ISO_HEALTHY, 2)}`,
    pathOf: (i: number) => `${SINK_PATH}/iso-h${pad(i % ISO_HEALTHY, 2)}`,
    fanout,
  });
  const run = async (label: string, fanout: number) => {
    const settled = await settle(label);
    const l = newLoad(label, ISO_RATE, ISO_S, opts(fanout));
    const c0 = await counters();
    const m0 = cpuMark();
    await offer([l]);
    const m1 = cpuMark();
    const drained = await drain([l], l.end + PHASE_DRAIN_MAX_S * 1000);
    const c1 = await counters();
    const e2e = e2eOf(l, l.start + FILL_MS);
    const work = deliverWork(c0, c1);
    const r = {
      offeredPerS: l.rate,
      accepted: l.accepted,
      healthyDelivered: l.delivered,
      healthyGoodputPerS: round(goodputPerS(l), 0),
      healthyE2e: e2e,
      drained,
      ...ledger(l),
      misrouted: l.misrouted,
      deliver: { tasks: l.accepted * fanout, ...work },
      cpuPercent: cpuBetween(m0, m1),
      settleBefore: settled,
    };
    console.log(
      `isolation ${label}: ${l.rate}/s, healthy e2e p50 ${e2e.p50} p99 ${e2e.p99} max ${e2e.max} ms, lost ${r.lost} dup ${r.duplicated}, naks ${work.naks}`,
    );
    return r;
  };
  const without = await run('without blackhole', 1);

  const sockets: Socket[] = [];
  const hole = createTcpServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
  const holePort = (hole.address() as { port: number }).port;
  await endpointStore.put({
    id: 'iso-hole',
    url: `http://127.0.0.1:${holePort}/`,
    eventTypes: ['bench.iso.*'],
    secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
    ...concurrency,
  });
  await sleep(CONFIG_PROPAGATION_MS);
  const withHole = await run('with blackhole', 2);
  await deleteEndpoints(['iso-hole', ...healthy]);
  for (const s of sockets) s.destroy();
  hole.close();

  const out = {
    healthy_p99_ms_without: without.healthyE2e.p99,
    healthy_p99_ms_with: withHole.healthyE2e.p99,
    ratio: ratio(withHole.healthyE2e.p99, without.healthyE2e.p99),
    detail: { healthyEndpoints: ISO_HEALTHY, blackhole: 'subscribed to every event of the phase', without, with: withHole },
  };
  console.log(
    `ISOLATION healthy p99 ${out.healthy_p99_ms_without} ms without, ${out.healthy_p99_ms_with} ms with a blackhole: ratio ${out.ratio} (target <= 2)`,
  );
  return out;
}

// ---------------------------------------------------------------- phase: many endpoints

/**
 * The same offered rate to one endpoint, then spread round robin over
 * MANY_ENDPOINTS endpoints (each taking its own event type). Throughput =
 * first receipts per second during the offering, skipping its first second.
 * At the default rate (the peak) the ratio cannot much exceed 1: it says
 * whether many endpoints sustain what one endpoint sustains.
 */
async function runMany(rate: number) {
  const run = async (label: string, l: () => Load) => {
    const settled = await settle(label);
    const load = l();
    const c0 = await counters();
    const m0 = cpuMark();
    await offer([load]);
    const m1 = cpuMark();
    const drained = await drain([load], load.end + PHASE_DRAIN_MAX_S * 1000);
    const c1 = await counters();
    const r = {
      offeredPerS: load.rate,
      accepted: load.accepted,
      throughputPerS: round(goodputPerS(load), 0),
      e2e: e2eOf(load),
      drained,
      ...ledger(load),
      misrouted: load.misrouted,
      deliver: { tasks: load.accepted, ...deliverWork(c0, c1) },
      cpuPercent: cpuBetween(m0, m1),
      settleBefore: settled,
    };
    console.log(
      `many ${label}: offered ${load.rate}/s, throughput ${r.throughputPerS}/s, e2e p99 ${r.e2e.p99} ms, lost ${r.lost} dup ${r.duplicated}, naks ${r.deliver.naks}`,
    );
    return r;
  };
  const one = await run('one endpoint', () => newLoad('many: one endpoint', rate, MANY_S));
  const ids = Array.from({ length: MANY_ENDPOINTS }, (_, k) => `many-${pad(k, 4)}`);
  const putStart = performance.now();
  await putEndpoints(ids, (k) => [`bench.many.${pad(k, 4)}`]);
  const putMs = round(performance.now() - putStart, 0);
  await sleep(CONFIG_PROPAGATION_MS);
  const many = await run(`${MANY_ENDPOINTS} endpoints`, () =>
    newLoad(`many: ${MANY_ENDPOINTS} endpoints`, rate, MANY_S, {
      type: (i) => `bench.many.${pad(i % MANY_ENDPOINTS, 4)}`,
      pathOf: (i) => `${SINK_PATH}/many-${pad(i % MANY_ENDPOINTS, 4)}`,
    }),
  );
  await deleteEndpoints(ids);
  const out = {
    one_endpoint_per_s: one.throughputPerS,
    thousand_endpoints_per_s: many.throughputPerS,
    ratio: ratio(many.throughputPerS, one.throughputPerS),
    detail: { endpoints: MANY_ENDPOINTS, offeredPerS: rate, endpointsPutMs: putMs, one, many },
  };
  console.log(
    `MANY ENDPOINTS offered ${rate}/s: one endpoint ${out.one_endpoint_per_s}/s, ${MANY_ENDPOINTS} endpoints ${out.thousand_endpoints_per_s}/s: ratio ${out.ratio} (target >= 0.8)`,
  );
  return out;
}

// ---------------------------------------------------------------- phase: cpu

/**
 * BENCH_CPU_RATE events/s for BENCH_CPU_S s, well below saturation, so every
 * process does the work of each event once and nothing queues. Between the
 * end of the first second and the end of offering: each process's CPU time
 * (/proc) over the events first received at the endpoint in that window.
 * `gateway` sums the gateway's processes (nats-server and the services, or
 * the floor); the bench's own generator and receiver are apart.
 */
async function runCpu() {
  const settled = await settle('cpu');
  const l = newLoad(`cpu ${CPU_RATE}/s`, CPU_RATE, CPU_S);
  const offering = offer([l]);
  await sleep(FILL_MS);
  const a = cpuMark();
  await offering;
  const b = cpuMark();
  const drained = await drain([l], l.end + DRAIN_MAX_MS);
  const delivered = deliveriesBetween(a.at, b.at);
  const seconds = (b.at - a.at) / 1000;
  const msPerEvent: Record<string, number> = {};
  let gateway = 0;
  processes.forEach((p, k) => {
    const used = (b.procs[k] ?? 0) - (a.procs[k] ?? 0);
    gateway += used;
    msPerEvent[p.name] = round((used * 1000) / Math.max(1, delivered), 3);
  });
  const bench = (b.bench.user + b.bench.system - a.bench.user - a.bench.system) / 1e6;
  const result = {
    settled,
    rate: CPU_RATE,
    seconds: round(seconds, 1),
    delivered,
    deliveredPerS: round(delivered / seconds, 0),
    cpuMsPerEvent: { ...msPerEvent, gateway: round((gateway * 1000) / Math.max(1, delivered), 3) },
    benchCpuMsPerEvent: round((bench * 1000) / Math.max(1, delivered), 3),
    cpuPercent: cpuBetween(a, b),
    e2e: e2eOf(l, l.start + FILL_MS),
    drained,
    ledger: ledger(l),
  };
  console.log(
    `cpu: ${CPU_RATE}/s for ${CPU_S} s, ${delivered} delivered in the window; CPU ms per event ${JSON.stringify(result.cpuMsPerEvent)} ` +
      `(bench ${result.benchCpuMsPerEvent}); e2e p99 ${result.e2e.p99} ms; ledger ${JSON.stringify(result.ledger)}`,
  );
  return result;
}

// ---------------------------------------------------------------- run

// Warm-up (JIT, connections, consumers), not reported.
await runStep('warm-up', 100, 3);
const countersAtStart = await counters();
const firstReportedLoad = nextLoadIdx;

const needPeak = PHASES.includes('overload') || PHASES.includes('half') || (PHASES.includes('many') && MANY_RATE_ENV === undefined);
const runStepsPhase = PHASES.includes('steps') || (needPeak && PEAK_ENV === undefined);
if (runStepsPhase) {
  if (!PHASES.includes('steps')) console.log('steps: run to find the peak sustained rate (BENCH_PEAK_PER_S unset)');
  await runSteps();
}
const stepPeak = peakFromSteps();
const peak = PEAK_ENV !== undefined ? { perS: PEAK_ENV, source: 'BENCH_PEAK_PER_S' } : stepPeak && { perS: stepPeak.perS, source: 'steps' };
if (needPeak) {
  console.log(
    peak
      ? `peak sustained rate: ${peak.perS}/s (${peak.source === 'steps' ? `highest step with achieved >= ${SUSTAINED_SHARE} x offered, drained, no errors` : peak.source})`
      : 'no sustained step: no peak rate',
  );
}

let overload: Awaited<ReturnType<typeof runOverload>> | { error: string } | null = null;
let isolation: Awaited<ReturnType<typeof runIsolation>> | null = null;
let manyEndpoints: Awaited<ReturnType<typeof runMany>> | { error: string } | null = null;
let cpu: Awaited<ReturnType<typeof runCpu>> | null = null;
let half: (StepResult & { peak: number }) | { error: string } | null = null;
for (const phase of PHASES) {
  if (phase === 'steps') continue;
  if (phase === 'cpu') cpu = await runCpu();
  if (phase === 'half') {
    if (peak === undefined) half = { error: 'no peak sustained rate found' };
    else {
      await settle('half');
      const rate = Math.max(1, Math.round(peak.perS / 2));
      half = { peak: peak.perS, ...(await runStep(`half ${rate}/s`, rate, CPU_S)) };
      console.log(`half of the peak: ${rate}/s, e2e p50 ${half.e2eP50} p99 ${half.e2eP99} ms, achieved ${half.achieved}/s`);
    }
  }
  if (phase === 'overload') overload = peak ? await runOverload(peak.perS, peak.source) : { error: 'no peak sustained rate found' };
  if (phase === 'isolation') isolation = await runIsolation();
  if (phase === 'many') {
    const rate = MANY_RATE_ENV ?? peak?.perS;
    manyEndpoints = rate ? await runMany(rate) : { error: 'no peak sustained rate found and BENCH_MANY_RATE unset' };
  }
}

// Deliver's naks over everything after the warm-up, per task.
collectReceipts();
const countersAtEnd = await counters();
const runWork = deliverWork(countersAtStart, countersAtEnd);
let runTasks = 0;
for (const l of loads.values()) if (l.idx >= firstReportedLoad) runTasks += l.accepted * l.fanout;

// Stage breakdown from the sampled events.
const hops: [string, string, string][] = [
  ['send -> ingest published (hs.raw)', 'sent', 'raw'],
  ['hs.raw -> hs.verified (verify)', 'raw', 'verified'],
  ['hs.verified -> hs.unique (dedup)', 'verified', 'unique'],
  ['hs.unique -> hs.valid (validate)', 'unique', 'valid'],
  ['hs.valid -> hs.deliver task (route)', 'valid', 'task'],
  ['task -> endpoint receipt (deliver)', 'task', 'endpoint'],
];
const completeSamples: Record<string, number>[] = [];
for (const [i, stamps] of samples) {
  const sent = sampleLoad?.sentAt[i];
  if (sent && ['raw', 'verified', 'unique', 'valid', 'task', 'endpoint'].every((k) => stamps[k] !== undefined)) {
    completeSamples.push({ sent, ...stamps });
  }
}
const stages = hops.map(([label, from, to]) => {
  const d = completeSamples.map((s) => (s[to] ?? 0) - (s[from] ?? 0)).sort((a, b) => a - b);
  return {
    hop: label,
    meanMs: round(d.reduce((a, b) => a + b, 0) / Math.max(1, d.length), 2),
    p50Ms: round(percentile(d, 50), 2),
    p99Ms: round(percentile(d, 99), 2),
  };
});
const sampleTotal = completeSamples.map((s) => (s.endpoint ?? 0) - (s.sent ?? 0));
if (completeSamples.length > 0) {
  console.log(`stage breakdown at ${SAMPLE_RATE}/s over ${completeSamples.length} sampled events:`);
  for (const s of stages) console.log(`  ${s.hop.padEnd(40)} mean ${s.meanMs} ms  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms`);
}

// Shut down.
const exitCodes: Record<string, number | null> = {};
for (const s of [...services].reverse()) exitCodes[s.name] = await s.stop();
agent.destroy();
await endpoint.close();
await handle.drain();
await nats.stop();

const at500 = results.find((r) => r.offered === 500);
const sustained = results.filter((r) => r !== results.find((x) => x.offered === saturation?.offered));
const maxSustained = Math.max(0, ...sustained.map((r) => r.offered));
const summary = {
  at: new Date().toISOString(),
  node: process.version,
  cores: 2,
  phases: PHASES,
  target: TARGET,
  layout: TARGET === 'floor' ? null : LAYOUT,
  root: ROOT ?? null,
  nats: { version: findNatsServer().version, nodes: NATS_NODES, replicas: REPLICAS, syncInterval: NATS_SYNC },
  stepSeconds: STEP_S,
  bodyBytes: makeEvent(1, 0, 0).body.length,
  endpointMaxConcurrency: ENDPOINT_CONCURRENCY ? Number(ENDPOINT_CONCURRENCY) : 'default (10)',
  knobs: {
    BENCH_RATES: RATES,
    BENCH_STEP_S: STEP_S,
    BENCH_DRAIN_MAX_MS: DRAIN_MAX_MS,
    BENCH_PEAK_PER_S: PEAK_ENV ?? null,
    BENCH_OVERLOAD_S: OVERLOAD_S,
    BENCH_OVERLOAD_DRAIN_MAX_S: OVERLOAD_DRAIN_MAX_S,
    BENCH_SETTLE_MAX_S: SETTLE_MAX_S,
    BENCH_ISO_RATE: ISO_RATE,
    BENCH_ISO_S: ISO_S,
    BENCH_MANY_ENDPOINTS: MANY_ENDPOINTS,
    BENCH_MANY_RATE: MANY_RATE_ENV ?? null,
    BENCH_MANY_S: MANY_S,
    BENCH_PHASE_DRAIN_MAX_S: PHASE_DRAIN_MAX_S,
    BENCH_NICE_INTAKE: NICE_INTAKE,
    BENCH_NATS_NODES: NATS_NODES,
    BENCH_NATS_SYNC: NATS_SYNC,
    BENCH_CPU_RATE: CPU_RATE,
    BENCH_CPU_S: CPU_S,
  },
  steps: results,
  saturation: saturation ?? null,
  maxSustainedOffered: maxSustained,
  stageBreakdown: {
    rate: SAMPLE_RATE,
    sampled: completeSamples.length,
    totalMeanMs: round(sampleTotal.reduce((a, b) => a + b, 0) / Math.max(1, sampleTotal.length), 2),
    hops: stages,
    cpuPercent: at500?.cpuPercent ?? {},
  },
  targets: {
    sustained1000: maxSustained >= 1000,
    p99Under100msAt500: at500 !== undefined && at500.e2eP99 < 100,
  },
  overload,
  isolation,
  many_endpoints: manyEndpoints,
  cpu,
  half,
  // Deliver's naks over every load after the warm-up (all phases), per task.
  wholeRun: { naks: runWork.naks, tasks: runTasks, naksPerTask: ratio(runWork.naks, runTasks, 4) },
  exitCodes,
  wallSeconds: round((performance.now() - started) / 1000, 0),
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify(summary, null, 2)}\n`);

// The chart of the step table, only for a run that writes the default results file.
if (results.length > 0 && process.env.BENCH_OUT === undefined) {
  const ticks = results.map((r) => r.offered);
  writeFileSync(
    here('./latency.png'),
    renderLineChart({
      title: 'HOOKSTREAM END-TO-END LATENCY VS OFFERED LOAD (2 CORES)',
      xLabel: 'OFFERED LOAD (EVENTS/S)',
      yLabel: 'LATENCY (MS, LOG SCALE)',
      xTicks: ticks,
      series: [
        { label: 'P50', color: [40, 110, 200], points: results.map((r) => [r.offered, Math.max(r.e2eP50, 1)] as const) },
        { label: 'P95', color: [230, 150, 30], points: results.map((r) => [r.offered, Math.max(r.e2eP95, 1)] as const) },
        { label: 'P99', color: [200, 40, 40], points: results.map((r) => [r.offered, Math.max(r.e2eP99, 1)] as const) },
      ],
      hline: { y: 100, label: 'P99 TARGET 100 MS' },
      ...(saturation ? { marker: { x: saturation.offered, label: 'SATURATED' } } : {}),
    }),
  );
}
console.log(
  `wrote ${OUT}${results.length > 0 && process.env.BENCH_OUT === undefined ? ' and bench/e2e/latency.png' : ''} in ${summary.wallSeconds} s`,
);
