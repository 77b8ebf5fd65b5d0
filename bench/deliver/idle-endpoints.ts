// What an idle endpoint costs: deliver runs a durable consumer per endpoint
// (docs/delivery.md, Flow control). Starts a real nats-server and deliver's
// production entry point with no endpoints, then adds BENCH_ENDPOINTS (1,000)
// endpoints and waits until every consumer exists; after a settle time it
// reads both processes' resident memory and their CPU over an idle window,
// before and after, in the same run. Writes bench/deliver/results/idle-endpoints.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EndpointStore } from '@hookstream/models';
import { ensureStreams, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, startNatsServer, waitFor, waitForHttpOk } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';

const N = Number(process.env.BENCH_ENDPOINTS ?? '1000');
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? '15000');
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? '30000');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'latin1')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN);
}
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}
async function measure(pids: Record<string, number>): Promise<Record<string, { rssMiB: number; idleCpuPercent: number }>> {
  await sleep(SETTLE_MS);
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  await sleep(IDLE_MS);
  return Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [
      k,
      {
        rssMiB: Math.round((rssKiB(pid) / 1024) * 10) / 10,
        idleCpuPercent: Math.round(((cpuSeconds(pid) - (before[k] as number)) / (IDLE_MS / 1000)) * 1000) / 10,
      },
    ]),
  );
}

const nats = await startNatsServer();
const handle = await connectTestNats(nats.url);
const jsm = await jetstreamManager(handle.nc);
const t = topology('idle');
await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
const store = new EndpointStore(await openBucket(handle.nc, t.buckets.endpoints, { replicas: 1 }));
const healthPort = await freePort();
const deliver: ChildProcess = spawn(process.execPath, [here('../../services/deliver/src/main.ts')], {
  env: { ...process.env, HS_NATS_URL: nats.url, HS_NAMESPACE: 'idle', HS_HEALTH_PORT: String(healthPort), HS_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
await waitForHttpOk(healthPort, '/readyz');
const pids = { 'nats-server': nats.pid as number, deliver: deliver.pid as number };
console.log(`idle endpoints: measuring with 0 endpoints (${SETTLE_MS / 1000} s settle, ${IDLE_MS / 1000} s idle window)`);
const without = await measure(pids);
const putStart = performance.now();
for (let i = 0; i < N; i++) {
  await store.put({ id: `ep-${i}`, url: `https://example.com/hook/${i}`, secrets: [{ id: 's1', value: SECRET }] });
}
const consumers = async (): Promise<number> => {
  let n = 0;
  for await (const _ of jsm.consumers.list(t.streams.delivery)) n++;
  return n;
};
await waitFor(`${N} endpoint consumers`, async () => ((await consumers()) >= N + 1 ? true : undefined), 300_000, 500);
const readyMs = Math.round(performance.now() - putStart);
console.log(`idle endpoints: ${N} endpoints put and their consumers created in ${readyMs} ms; measuring`);
const withN = await measure(pids);
const per = (k: 'nats-server' | 'deliver') => ({
  rssKiBPerEndpoint: Math.round(((((withN[k]?.rssMiB ?? 0) - (without[k]?.rssMiB ?? 0)) * 1024) / N) * 10) / 10,
  idleCpuPercent: { without: without[k]?.idleCpuPercent, with: withN[k]?.idleCpuPercent },
});
const result = {
  at: new Date().toISOString(),
  endpoints: N,
  consumersReadyMs: readyMs,
  without,
  with: withN,
  perEndpoint: { 'nats-server': per('nats-server'), deliver: per('deliver') },
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/idle-endpoints.json'), `${JSON.stringify(result, null, 2)}\n`);
deliver.kill('SIGTERM');
await new Promise((r) => deliver.once('exit', r));
await handle.drain();
await nats.stop();
