// Deliver's CPU per delivery: the production entry point drains N preloaded
// tasks to a local node:http endpoint (bench/deliver/endpoint.ts) answering
// 200 at once, RUNS times, each against a fresh nats-server. For each run it
// reads the CPU time (user + system, /proc/{pid}/stat) of the deliver process
// and of nats-server from the first acked task to the drained consumer, and
// prints µs per delivery and deliveries/s; then the median run. Linux only.
// Cores as run.ts: nats-server 0, deliver 1 (when taskset exists).
//   BENCH_MESSAGES (20000)  BENCH_CONCURRENCY (64)  BENCH_RUNS (3)
//   BENCH_SYNC_INTERVAL (always): nats-server's sync_interval; with `always`
//     every stored message is fsynced and the broker, not deliver, sets the
//     pace; a long interval (`2m`) lets deliver's own CPU be the limit.
//   BENCH_DELIVER_MAIN: another deliver entry point to measure (a baseline).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { EndpointStore } from '@hookstream/models';
import { ensureStreams, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, startNatsServer, waitForHttpOk } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { canPin, onCore, pin, preload } from '../shared.ts';

const N = Number(process.env.BENCH_MESSAGES ?? '20000');
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? '64');
const RUNS = Number(process.env.BENCH_RUNS ?? '3');
const SYNC = process.env.BENCH_SYNC_INTERVAL ?? 'always';
const MAIN = process.env.BENCH_DELIVER_MAIN ?? fileURLToPath(new URL('../../services/deliver/src/main.ts', import.meta.url));
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const BODY = JSON.stringify({ id: 'ord_1', type: 'order.created', pad: 'x'.repeat(970) });
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
// Linux's USER_HZ: /proc/{pid}/stat counts CPU time in 1/100 s.
const TICK_US = 10_000;

/** User + system CPU time of a process so far, in µs. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state (3rd).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

function start(core: number | undefined, cmd: string[], env: Record<string, string>): ChildProcess {
  const [bin, ...args] = [...(core === undefined ? [] : onCore(core)), process.execPath, ...cmd];
  return spawn(bin as string, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

interface Run {
  readonly rate: number;
  readonly deliverUs: number;
  readonly natsUs: number;
}

async function once(): Promise<Run> {
  const nats = await startNatsServer({ syncInterval: SYNC });
  pin(nats.pid, 0);
  const handle = await connectTestNats(nats.url);
  const jsm = await jetstreamManager(handle.nc);
  const port = await freePort();
  const endpoint = start(undefined, [here('./endpoint.ts')], { PORT: String(port) });
  await waitForHttpOk(port, '/');
  const t = topology('bc');
  await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
  await new EndpointStore(await openBucket(handle.nc, t.buckets.endpoints, { replicas: 1 })).put({
    id: 'bench',
    url: `http://127.0.0.1:${port}/hook`,
    secrets: [{ id: 's1', value: SECRET }],
    maxConcurrency: CONCURRENCY,
  });
  const receivedAt = String(Date.now());
  const body = new TextEncoder().encode(BODY);
  await preload(handle, N, (i, h) => {
    h.set('Nats-Msg-Id', `e${i}:bench`);
    h.set(Header.eventId, `e${i}`);
    h.set(Header.source, 'shop');
    h.set(Header.receivedAt, receivedAt);
    h.set(Header.eventType, 'order.created');
    h.set(Header.endpointId, 'bench');
    h.set('hs-h-content-type', 'application/json');
    return { subject: t.deliver('bench'), body };
  });
  const healthPort = await freePort();
  const deliver = start(1, [MAIN], {
    HS_NATS_URL: nats.url,
    HS_NAMESPACE: 'bc',
    HS_HEALTH_PORT: String(healthPort),
    HS_HEALTH_HOST: '127.0.0.1',
    HS_LOG_LEVEL: 'warn',
    HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32',
    HS_DELIVER_CONCURRENCY: String(CONCURRENCY),
  });
  await waitForHttpOk(healthPort, '/readyz');
  const pid = deliver.pid as number;
  const natsPid = nats.pid as number;
  let first: { at: number; left: number; deliverUs: number; natsUs: number } | undefined;
  let result: Run | undefined;
  const deadline = Date.now() + 300_000;
  while (result === undefined && Date.now() < deadline) {
    const info = await jsm.consumers.info(t.streams.delivery, 'deliver-bench').catch(() => undefined);
    if (info !== undefined) {
      const left = info.num_pending + info.num_ack_pending;
      if (first === undefined && left < N) first = { at: performance.now(), left, deliverUs: cpuUs(pid), natsUs: cpuUs(natsPid) };
      if (first !== undefined && left === 0) {
        const done = first.left;
        result = {
          rate: done / ((performance.now() - first.at) / 1000),
          deliverUs: (cpuUs(pid) - first.deliverUs) / done,
          natsUs: (cpuUs(natsPid) - first.natsUs) / done,
        };
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await stop(deliver);
  await stop(endpoint);
  await handle.drain();
  await nats.stop();
  if (result === undefined) throw new Error('deliver-bench did not drain in time');
  return result;
}

console.log(
  `deliver CPU benchmark: ${MAIN}, ${N} POSTs of ${BODY.length} B, concurrency ${CONCURRENCY}, ${RUNS} runs, sync_interval ${SYNC}; pinned: ${canPin}`,
);
const runs: Run[] = [];
for (let i = 0; i < RUNS; i++) {
  const r = await once();
  runs.push(r);
  console.log(
    `run ${i + 1}: ${r.rate.toFixed(0)} deliveries/s, deliver ${r.deliverUs.toFixed(1)} µs CPU/delivery, nats-server ${r.natsUs.toFixed(1)} µs CPU/delivery`,
  );
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(
  `median: ${median(runs.map((r) => r.rate)).toFixed(0)} deliveries/s, deliver ${median(runs.map((r) => r.deliverUs)).toFixed(1)} µs CPU/delivery, nats-server ${median(runs.map((r) => r.natsUs)).toFixed(1)} µs CPU/delivery`,
);
