// End-to-end benchmark: nats-server and every pipeline service (ingest,
// verify, dedup, validate, route, deliver) as real processes, one Stripe
// source, one endpoint on a local recording receiver. An open-loop generator
// in this process POSTs Stripe-signed ~1 KiB events at fixed offered rates,
// step by step until saturation, and measures send -> receipt at the endpoint.
// At the 500 ev/s step a core NATS subscription samples when each stage
// published its output, and /proc gives each process's CPU.
// Writes bench/e2e/results/latest.json and bench/e2e/latency.png.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { EndpointStore, openBucket, SourceStore, secretBoxFromEnv, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, httpRequest, startEndpoint, startNatsServer } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { type ServiceProcess, startService } from '../../test/e2e/processes.ts';
import { renderLineChart } from './chart.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const STEP_S = Number(process.env.BENCH_STEP_S ?? '8');
const DRAIN_MAX_MS = Number(process.env.BENCH_DRAIN_MAX_MS ?? '12000');
const MAX_IN_FLIGHT = 2000;
const RATES = (process.env.BENCH_RATES ?? '100,250,500,750,1000,1500,2000,2500,3000,4000').split(',').map(Number);
const SAMPLE_RATE = 500;
const SAMPLE_SIZE = 200;
const BUDGET_MS = 200_000;
// The endpoint's maxConcurrency; unset = the production default (10).
const ENDPOINT_CONCURRENCY = process.env.BENCH_ENDPOINT_CONCURRENCY;
const STRIPE_SECRET = 'whsec_bench_secret';
const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MASTER_KEY = randomBytes(32).toString('base64');
const NS = 'bench';
const t = topology(NS);
const CLK_TCK = 100;

// ---------------------------------------------------------------- helpers

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
// them from the first bytes of the body without parsing JSON.
const ID_PREFIX = '{"id":"evt_';
const idOf = (step: number, i: number): string => `evt_${String(step).padStart(2, '0')}_${String(i).padStart(6, '0')}`;
function parseId(bytes: Uint8Array): { step: number; i: number } | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 24)).toString('latin1');
  if (!head.startsWith(ID_PREFIX)) return undefined;
  return { step: Number(head.slice(11, 13)), i: Number(head.slice(14, 20)) };
}

function makeEvent(step: number, i: number, ts: number): { body: Buffer; signature: string } {
  const head = `{"id":"${idOf(step, i)}","object":"event","api_version":"2024-06-20","created":${ts},"type":"payment_intent.succeeded","livemode":false,"pending_webhooks":1,"request":{"id":"req_${i}","idempotency_key":null},"data":{"object":{"id":"pi_3NG8Dt2eZvKYlo2C${i}","object":"payment_intent","amount":2000,"currency":"usd","status":"succeeded","metadata":{"order":"`;
  const tail = '"}}}}';
  const body = `${head}${'x'.repeat(Math.max(0, 1024 - head.length - tail.length))}${tail}`;
  const v1 = createHmac('sha256', STRIPE_SECRET).update(`${ts}.${body}`).digest('hex');
  return { body: Buffer.from(body), signature: `t=${ts},v1=${v1}` };
}

// ---------------------------------------------------------------- set-up

const started = performance.now();
const nats = await startNatsServer();
const handle = await connectTestNats(nats.url);
const box = secretBoxFromEnv({ HS_MASTER_KEY: MASTER_KEY });
await new SourceStore(await openBucket(handle.nc, t.buckets.sources, { replicas: 1 }), box).put({
  id: 'stripe',
  provider: 'stripe',
  secrets: [{ id: 'k1', value: STRIPE_SECRET }],
});
const endpoint = await startEndpoint();
await new EndpointStore(await openBucket(handle.nc, t.buckets.endpoints, { replicas: 1 }), box).put({
  id: 'sink',
  url: endpoint.url,
  secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
  ...(ENDPOINT_CONCURRENCY ? { maxConcurrency: Number(ENDPOINT_CONCURRENCY) } : {}),
});
const ingestPort = await freePort();
const env = { HS_NATS_URL: nats.url, HS_NAMESPACE: NS, HS_MASTER_KEY: MASTER_KEY };
const services: ServiceProcess[] = [];
services.push(await startService('ingest', { ...env, HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' }));
for (const name of ['verify', 'dedup', 'validate', 'route']) services.push(await startService(name, env));
services.push(await startService('deliver', { ...env, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' }));
const processes: { name: string; pid: () => number | undefined }[] = [
  { name: 'nats-server', pid: () => nats.pid },
  ...services.map((s) => ({ name: s.name, pid: () => s.child.pid })),
];
console.log(`e2e benchmark: ${services.length} services + nats-server up in ${round((performance.now() - started) / 1000)} s`);

const jsm = await jetstreamManager(handle.nc);

/**
 * Counters that explain a step: each service's settled messages by outcome
 * and mean handler time (its /metrics), and the JetStream consumers'
 * delivered/redelivered counts. Values are totals so far.
 */
async function counters(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of services) {
    const answer = await httpRequest({ port: s.healthPort, path: '/metrics' }).catch(() => undefined);
    for (const line of answer?.body.split('\n') ?? []) {
      if (!/^hookstream_(stage_messages_total|delivery_attempts_total|stage_duration_seconds_(sum|count))\{/.test(line)) continue;
      const space = line.lastIndexOf(' ');
      out[`${s.name} ${line.slice(0, space)}`] = Number(line.slice(space + 1));
    }
  }
  for (const stream of [t.streams.raw, t.streams.pipe, t.streams.delivery]) {
    for (const c of await jsm.consumers.list(stream).next()) {
      out[`${stream}/${c.name} delivered`] = c.delivered.consumer_seq;
      out[`${stream}/${c.name} redelivered`] = c.num_redelivered;
      out[`${stream}/${c.name} ack_pending`] = c.num_ack_pending;
      out[`${stream}/${c.name} pending`] = c.num_pending;
    }
  }
  return out;
}

function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    // Gauges as they are; counters as the step's increase.
    const isGauge = k.endsWith('pending') || k.endsWith(' redelivered');
    const change = isGauge ? v : round(v - (before[k] ?? 0), 4);
    if (change !== 0) d[k] = change;
  }
  return d;
}

// ---------------------------------------------------------------- load

const agent = new Agent({ keepAlive: true, maxSockets: 128 });
let inFlight = 0;

interface StepState {
  readonly step: number;
  readonly rate: number;
  readonly n: number;
  readonly sentAt: Float64Array;
  readonly ackAt: Float64Array;
  readonly deliveredAt: Float64Array;
  accepted: number;
  rejected: number;
  requestErrors: number;
  shed: number;
  duplicates: number;
  maxLagMs: number;
}

const steps = new Map<number, StepState>();
// Stage stamps for sampled events: stage -> time seen on a core subscription.
const samples = new Map<number, Record<string, number>>();
let sampleFrom = -1;

// Receipts at the endpoint: consumed incrementally from endpoint.received.
let receivedCursor = 0;
function collectReceipts(): void {
  const received = endpoint.received;
  for (; receivedCursor < received.length; receivedCursor++) {
    const r = received[receivedCursor];
    if (!r) continue;
    const id = parseId(r.body);
    const s = id && steps.get(id.step);
    if (!id || !s || id.i >= s.n) continue;
    if (s.deliveredAt[id.i] !== 0) s.duplicates++;
    else s.deliveredAt[id.i] = r.at;
    const sample = samples.get(id.i);
    if (sample && s.rate === SAMPLE_RATE && sample.endpoint === undefined) sample.endpoint = r.at;
  }
  // The receiver keeps every request; drop what is counted to bound memory.
  if (receivedCursor > 50_000) {
    received.splice(0, receivedCursor);
    receivedCursor = 0;
  }
}

function send(s: StepState, i: number, ev: { body: Buffer; signature: string }): void {
  inFlight++;
  const sentAt = performance.now();
  s.sentAt[i] = sentAt;
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
        s.ackAt[i] = performance.now();
        if (res.statusCode === 202) s.accepted++;
        else s.rejected++;
      });
    },
  );
  req.on('error', () => {
    inFlight--;
    s.requestErrors++;
  });
  req.end(ev.body);
}

const stageSubjects: Record<string, string> = {
  raw: t.raw('stripe'),
  verified: t.verified('stripe'),
  unique: t.unique('stripe'),
  valid: t.valid('stripe'),
  event: t.subject('events.>'),
  task: t.deliver('sink'),
};

function subscribeStages(stepIdx: number): Subscription[] {
  return Object.entries(stageSubjects).map(([stage, subject]) =>
    handle.nc.subscribe(subject, {
      callback: (_err, msg) => {
        const at = performance.now();
        const id = parseId(msg.data);
        if (!id || id.step !== stepIdx) return;
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

async function runStep(stepIdx: number, rate: number, seconds = STEP_S): Promise<StepResult> {
  const n = Math.round(rate * seconds);
  const ts = Math.floor(Date.now() / 1000);
  const events = Array.from({ length: n }, (_, i) => makeEvent(stepIdx, i, ts));
  const s: StepState = {
    step: stepIdx,
    rate,
    n,
    sentAt: new Float64Array(n),
    ackAt: new Float64Array(n),
    deliveredAt: new Float64Array(n),
    accepted: 0,
    rejected: 0,
    requestErrors: 0,
    shed: 0,
    duplicates: 0,
    maxLagMs: 0,
  };
  steps.set(stepIdx, s);
  const sampling = rate === SAMPLE_RATE;
  if (sampling) {
    sampleFrom = Math.floor(n / 2);
    for (let i = sampleFrom; i < sampleFrom + SAMPLE_SIZE; i++) samples.set(i, {});
  }
  let subs: Subscription[] = [];
  let unsubscribed = false;

  const countersBefore = await counters();
  const cpuBefore = processes.map((p) => cpuSeconds(p.pid()));
  const benchCpuBefore = process.cpuUsage();
  const machineBefore = machineJiffies();
  const start = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(n, Math.floor(((now - start) / 1000) * rate) + 1);
      if (next < due) s.maxLagMs = Math.max(s.maxLagMs, now - (start + (next / rate) * 1000));
      // Sample the stages for ~0.4 s of traffic in the middle of the step.
      if (sampling && subs.length === 0 && next >= sampleFrom - rate / 4) subs = subscribeStages(stepIdx);
      for (; next < due; next++) {
        const ev = events[next];
        if (!ev) continue;
        if (inFlight >= MAX_IN_FLIGHT) s.shed++;
        else send(s, next, ev);
      }
      collectReceipts();
      if (!unsubscribed && subs.length > 0 && [...samples.values()].every((x) => x.endpoint !== undefined)) {
        for (const sub of subs) sub.unsubscribe();
        unsubscribed = true;
      }
      if (next >= n) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const end = performance.now();
  const cpuAfter = processes.map((p) => cpuSeconds(p.pid()));
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const machineAfter = machineJiffies();
  const elapsedS = (end - start) / 1000;

  // Drain: until every accepted event arrived, or the bound.
  const drainDeadline = end + DRAIN_MAX_MS;
  while (performance.now() < drainDeadline) {
    collectReceipts();
    const settled = s.accepted + s.rejected + s.requestErrors + s.shed >= n;
    let delivered = 0;
    for (let i = 0; i < n; i++) if (s.deliveredAt[i] !== 0) delivered++;
    if (settled && delivered >= s.accepted) break;
    await sleep(20);
  }
  if (!unsubscribed) for (const sub of subs) sub.unsubscribe();
  collectReceipts();
  const stepCounters = delta(countersBefore, await counters());
  const drainMs = performance.now() - end;

  const e2e: number[] = [];
  const ingest: number[] = [];
  let inWindow = 0;
  let delivered = 0;
  const windowFrom = start + 1000;
  for (let i = 0; i < n; i++) {
    const d = s.deliveredAt[i] ?? 0;
    const sent = s.sentAt[i] ?? 0;
    const ack = s.ackAt[i] ?? 0;
    if (ack !== 0 && sent !== 0) ingest.push(ack - sent);
    if (d !== 0 && sent !== 0) {
      delivered++;
      e2e.push(d - sent);
    }
  }
  // Achieved rate: every delivery at the endpoint (any step) in the window,
  // skipping the first second while the pipeline fills.
  for (const st of steps.values()) for (const d of st.deliveredAt) if (d >= windowFrom && d <= end) inWindow++;
  e2e.sort((a, b) => a - b);
  ingest.sort((a, b) => a - b);
  const cpuPercent: Record<string, number> = {};
  processes.forEach((p, k) => {
    cpuPercent[p.name] = round((((cpuAfter[k] ?? 0) - (cpuBefore[k] ?? 0)) / elapsedS) * 100, 0);
  });
  cpuPercent['bench (generator+receiver)'] = round(((benchCpu.user + benchCpu.system) / 1e6 / elapsedS) * 100, 0);
  // The whole machine, in % of one core (200 = both cores busy): shows load from outside this run.
  cpuPercent['machine (all processes)'] = round(
    ((machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)) * 200,
    0,
  );
  return {
    offered: rate,
    sent: n - s.shed,
    accepted: s.accepted,
    delivered,
    achieved: round(inWindow / (elapsedS - 1), 0),
    e2eP50: round(percentile(e2e, 50)),
    e2eP95: round(percentile(e2e, 95)),
    e2eP99: round(percentile(e2e, 99)),
    e2eMax: round(e2e.at(-1) ?? Number.NaN),
    ingestP50: round(percentile(ingest, 50), 2),
    ingestP99: round(percentile(ingest, 99), 2),
    errors: s.rejected + s.requestErrors,
    shed: s.shed,
    duplicates: s.duplicates,
    undeliveredAfterDrain: s.accepted - delivered,
    drainMs: round(drainMs, 0),
    generatorMaxLagMs: round(s.maxLagMs, 1),
    cpuPercent,
    counters: stepCounters,
  };
}

// Warm-up (JIT, connections, consumers), not reported.
await runStep(0, 100, 3);
steps.clear();

const results: StepResult[] = [];
let saturation: { offered: number; reason: string } | undefined;
for (const [k, rate] of RATES.entries()) {
  if (performance.now() - started > BUDGET_MS) {
    console.log('time budget spent; stopping');
    break;
  }
  const r = await runStep(k + 1, rate);
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

// Stage breakdown from the sampled events.
const hops: [string, string, string][] = [
  ['send -> ingest published (hs.raw)', 'sent', 'raw'],
  ['hs.raw -> hs.verified (verify)', 'raw', 'verified'],
  ['hs.verified -> hs.unique (dedup)', 'verified', 'unique'],
  ['hs.unique -> hs.valid (validate)', 'unique', 'valid'],
  ['hs.valid -> hs.deliver task (route)', 'valid', 'task'],
  ['task -> endpoint receipt (deliver)', 'task', 'endpoint'],
];
const sampleStep = [...steps.values()].find((s) => s.rate === SAMPLE_RATE);
const complete: Record<string, number>[] = [];
for (const [i, stamps] of samples) {
  const sent = sampleStep?.sentAt[i];
  if (sent && ['raw', 'verified', 'unique', 'valid', 'task', 'endpoint'].every((k) => stamps[k] !== undefined)) {
    complete.push({ sent, ...stamps });
  }
}
const stages = hops.map(([label, from, to]) => {
  const d = complete.map((s) => (s[to] ?? 0) - (s[from] ?? 0)).sort((a, b) => a - b);
  return {
    hop: label,
    meanMs: round(d.reduce((a, b) => a + b, 0) / Math.max(1, d.length), 2),
    p50Ms: round(percentile(d, 50), 2),
    p99Ms: round(percentile(d, 99), 2),
  };
});
const sampleTotal = complete.map((s) => (s.endpoint ?? 0) - (s.sent ?? 0));
console.log(`stage breakdown at ${SAMPLE_RATE}/s over ${complete.length} sampled events:`);
for (const s of stages) console.log(`  ${s.hop.padEnd(40)} mean ${s.meanMs} ms  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms`);

// Shut down.
const exitCodes: Record<string, number | null> = {};
for (const s of services.reverse()) exitCodes[s.name] = await s.stop();
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
  stepSeconds: STEP_S,
  bodyBytes: makeEvent(1, 0, 0).body.length,
  endpointMaxConcurrency: ENDPOINT_CONCURRENCY ? Number(ENDPOINT_CONCURRENCY) : 'default (10)',
  steps: results,
  saturation: saturation ?? null,
  maxSustainedOffered: maxSustained,
  stageBreakdown: {
    rate: SAMPLE_RATE,
    sampled: complete.length,
    totalMeanMs: round(sampleTotal.reduce((a, b) => a + b, 0) / Math.max(1, sampleTotal.length), 2),
    hops: stages,
    cpuPercent: at500?.cpuPercent ?? {},
  },
  targets: {
    sustained1000: maxSustained >= 1000,
    p99Under100msAt500: at500 !== undefined && at500.e2eP99 < 100,
  },
  exitCodes,
  wallSeconds: round((performance.now() - started) / 1000, 0),
};
mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/latest.json'), `${JSON.stringify(summary, null, 2)}\n`);

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
console.log(`wrote bench/e2e/results/latest.json and bench/e2e/latency.png in ${summary.wallSeconds} s`);
