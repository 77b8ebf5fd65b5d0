// Dedup benchmark, one core each: nats-server pinned to core 0, the process
// under test to core 1 (when taskset exists), in one run:
//   (a) a bare consumer that acks every message of hs.verified (baseline);
//   (b) the dedup service (its production entry point) on an identical
//       preload with 20% duplicates: KV create per message + publish + ack.
// Prints msgs/s and b/a; writes bench/dedup/results/latest.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { SourceStore } from '@hookstream/models';
import { ensureStreams, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, startNatsServer, waitForHttpOk } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { canPin, drainRate, onCore, pin, preload } from '../shared.ts';

const N = Number(process.env.BENCH_MESSAGES ?? '20000');
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const nats = await startNatsServer();
pin(nats.pid, 0);
const handle = await connectTestNats(nats.url);
const jsm = await jetstreamManager(handle.nc);
const receivedAt = String(Date.now());
const body = (i: number) =>
  new TextEncoder().encode(JSON.stringify({ id: `evt_${i % 5 === 4 ? i - 1 : i}`, type: 'charge.succeeded', pad: 'x'.repeat(900) }));

async function stage(ns: string) {
  const t = topology(ns);
  await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
  await new SourceStore(await openBucket(handle.nc, t.buckets.sources, { replicas: 1 })).put({ id: 'bench', provider: 'stripe' });
  await preload(handle, N, (i, h) => {
    h.set('Nats-Msg-Id', `e${i}:verify`);
    h.set(Header.eventId, `${ns}-e${i}`);
    h.set(Header.source, 'bench');
    h.set(Header.receivedAt, receivedAt);
    return { subject: t.verified('bench'), body: body(i) };
  });
  return t;
}

function start(cmd: string[], env: Record<string, string>): ChildProcess {
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the process under test.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const [bin, ...args] = [...onCore(1), process.execPath, ...nodeArgs, ...cmd];
  return spawn(bin as string, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}
async function stop(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

console.log(
  `dedup benchmark: ${N} messages of ~1 KiB, 20% duplicates; ${canPin ? 'nats-server on core 0, consumer on core 1' : 'taskset missing: not pinned'}`,
);
const ta = await stage('ba');
const baseline = start([here('./consume-ack.ts')], {
  NATS_URL: nats.url,
  STREAM: ta.streams.pipe,
  DURABLE: 'dedup',
  FILTER: ta.subject('hs.verified.>'),
});
const a = await drainRate(jsm, ta.streams.pipe, 'dedup', N);
await stop(baseline);
console.log(`(a) bare consume + ack     ${a.toFixed(0)} msg/s`);

const tb = await stage('bb');
const healthPort = await freePort();
const dedup = start([here('../../services/dedup/src/main.ts')], {
  HS_NATS_URL: nats.url,
  HS_NAMESPACE: 'bb',
  HS_HEALTH_PORT: String(healthPort),
  HS_HEALTH_HOST: '127.0.0.1',
  HS_LOG_LEVEL: 'warn',
  HS_DEDUP_CONCURRENCY: process.env.HS_DEDUP_CONCURRENCY ?? '64',
});
await waitForHttpOk(healthPort, '/readyz');
const b = await drainRate(jsm, tb.streams.pipe, 'dedup', N);
await stop(dedup);
console.log(`(b) dedup service         ${b.toFixed(0)} msg/s   b/a = ${(b / a).toFixed(2)}`);

mkdirSync(here('./results'), { recursive: true });
writeFileSync(
  here('./results/latest.json'),
  JSON.stringify({ at: new Date().toISOString(), messages: N, pinned: canPin, baseline: a, dedup: b }, null, 2),
);
await handle.drain();
await nats.stop();
