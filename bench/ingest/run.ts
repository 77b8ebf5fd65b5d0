// Ingest benchmark: in one run, on the same payload, headers and concurrency,
//   (a) a bare node:http server answering 202, (a2) the same on fastify,
//   (b) raw JetStream publishes from the same client library,
//   (c) the ingest service (its production entry point),
// then (c) again at half its maximum rate for the latency figure.
// Prints a table and writes bench/ingest/results/latest.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SourceStore } from '@hookstream/models';
import { ensureStreams, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, startNatsServer, waitForHttpOk } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import autocannon from 'autocannon';

const NONE = { kind: 'none' } as const;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? '64');
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? '10');
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? '2');
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// A 1 KiB Stripe-like event and the headers Stripe sends.
const body = JSON.stringify({
  id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
  object: 'event',
  type: 'payment_intent.succeeded',
  data: { object: { id: 'pi_3NG8Dt2eZvKYlo2C0Xp1', amount: 2000, currency: 'usd', metadata: { order: 'x'.repeat(760) } } },
});
const senderHeaders: Record<string, string> = {
  'content-type': 'application/json; charset=utf-8',
  'stripe-signature': `t=1700000000,v1=${'a'.repeat(64)}`,
  'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
};

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, overallRate?: number, duration = DURATION_S): Promise<Result> {
  const result = await autocannon({
    url,
    method: 'POST',
    body,
    headers: senderHeaders,
    connections: CONNECTIONS,
    duration,
    ...(overallRate ? { overallRate } : {}),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

function spawnJson(cmd: string[], env: Record<string, string>): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, cmd, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const firstLine = new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl !== -1) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited ${code}`)));
  });
  return { child, firstLine };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const nats = await startNatsServer();
const t = topology('bench');
const handle = await connectTestNats(nats.url);
const jsm = await jetstreamManager(handle.nc);
await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
await new SourceStore(await openBucket(handle.nc, t.buckets.sources, { replicas: 1 })).put({ id: 'bench', scheme: NONE });
const purge = () => jsm.streams.purge(t.streams.raw);

console.log(`ingest benchmark: ${CONNECTIONS} connections, ${DURATION_S}s per run after ${WARMUP_S}s warm-up, ${body.length}-byte body`);

// (a) bare node:http
const bare = spawnJson([here('./bare-server.ts')], { PORT: '0' });
const barePort = (JSON.parse(await bare.firstLine) as { port: number }).port;
await load(`http://127.0.0.1:${barePort}/`, undefined, WARMUP_S);
const a = await load(`http://127.0.0.1:${barePort}/`);
await stop(bare.child);
console.log(`(a) bare node:http      ${a.rps.toFixed(0)} req/s  p50 ${a.p50} ms  p99 ${a.p99} ms  errors ${a.errors}`);

// (a2) the same bare server on fastify
const bareFastify = spawnJson([here('./bare-fastify.ts')], { PORT: '0' });
const fastifyPort = (JSON.parse(await bareFastify.firstLine) as { port: number }).port;
await load(`http://127.0.0.1:${fastifyPort}/`, undefined, WARMUP_S);
const a2 = await load(`http://127.0.0.1:${fastifyPort}/`);
await stop(bareFastify.child);
console.log(`(a2) bare fastify      ${a2.rps.toFixed(0)} req/s  p50 ${a2.p50} ms  p99 ${a2.p99} ms  errors ${a2.errors}`);

// (b) raw JetStream publish, with the client's js.publish and with the
// leaner AckingPublisher that ingest uses
async function rawPublish(mode: 'js' | 'lean'): Promise<Result> {
  await purge();
  const raw = spawnJson([here('./raw-publish.ts')], {
    MODE: mode,
    NATS_URL: nats.url,
    SUBJECT: t.raw('bench'),
    CONCURRENCY: String(CONNECTIONS),
    DURATION_MS: String(DURATION_S * 1000),
    WARMUP_MS: String(WARMUP_S * 1000),
    BODY: body,
    HEADERS: JSON.stringify(senderHeaders),
  });
  const result = JSON.parse(await raw.firstLine) as Result;
  await stop(raw.child);
  return result;
}
const b = await rawPublish('js');
console.log(
  `(b) raw js.publish      ${b.rps.toFixed(0)} msg/s  p50 ${b.p50.toFixed(2)} ms  p99 ${b.p99.toFixed(2)} ms  errors ${b.errors}`,
);
const bLean = await rawPublish('lean');
console.log(
  `(b') raw AckingPublisher ${bLean.rps.toFixed(0)} msg/s  p50 ${bLean.p50.toFixed(2)} ms  p99 ${bLean.p99.toFixed(2)} ms  errors ${bLean.errors}`,
);

// (c) ingest
await purge();
const ingestPort = await freePort();
const healthPort = await freePort();
const ingest = spawn(process.execPath, [here('../../services/ingest/src/main.ts')], {
  env: {
    ...process.env,
    HS_NATS_URL: nats.url,
    HS_NAMESPACE: 'bench',
    HS_INGEST_PORT: String(ingestPort),
    HS_INGEST_HOST: '127.0.0.1',
    HS_HEALTH_PORT: String(healthPort),
    HS_LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
await waitForHttpOk(healthPort, '/readyz');
const ingestUrl = `http://127.0.0.1:${ingestPort}/v1/webhooks/bench`;
await load(ingestUrl, undefined, WARMUP_S);
const c = await load(ingestUrl);
console.log(`(c) ingest              ${c.rps.toFixed(0)} req/s  p50 ${c.p50} ms  p99 ${c.p99} ms  errors ${c.errors}`);
await purge();
const halfRate = Math.floor(c.rps / 2);
const half = await load(ingestUrl, halfRate);
console.log(`(c) ingest at ${halfRate} req/s  ${half.rps.toFixed(0)} req/s  p50 ${half.p50} ms  p99 ${half.p99} ms  errors ${half.errors}`);
await stop(ingest);

const ratios = { cOverA: c.rps / a.rps, cOverB: c.rps / b.rps, cOverBLean: c.rps / bLean.rps };
console.log(`ratios: c/a = ${ratios.cOverA.toFixed(2)}  c/b = ${ratios.cOverB.toFixed(2)}  c/b' = ${ratios.cOverBLean.toFixed(2)}`);

mkdirSync(here('./results'), { recursive: true });
writeFileSync(
  here('./results/latest.json'),
  JSON.stringify(
    {
      at: new Date().toISOString(),
      connections: CONNECTIONS,
      durationS: DURATION_S,
      bodyBytes: body.length,
      a,
      b,
      bLean,
      c,
      half: { rate: halfRate, ...half },
      ratios,
    },
    null,
    2,
  ),
);
await handle.drain();
await nats.stop();
