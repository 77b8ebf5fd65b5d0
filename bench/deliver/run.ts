// Deliver benchmark, in one run against one local node:http endpoint (its
// own process) answering 200 at once:
//   (a) a bare undici POST loop (bare-post.ts): the same 1 KiB body, the same
//       headers with a Standard Webhooks signature computed per request, the
//       same concurrency;
//   (b) the deliver service (its production entry point) draining N
//       preloaded tasks: consume, sign, POST, record the attempt on
//       hs.obs.attempt, ack.
// Cores: nats-server 0, the process under test 1, the endpoint 2 (when
// taskset exists). Prints deliveries/s and b/a; writes
// bench/deliver/results/latest.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { EndpointStore } from '@hookstream/models';
import { ensureStreams, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, startNatsServer, waitForHttpOk } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { canPin, drainRate, onCore, pin, preload } from '../shared.ts';

const N = Number(process.env.BENCH_MESSAGES ?? '20000');
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? '64');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const BODY = JSON.stringify({ id: 'ord_1', type: 'order.created', pad: 'x'.repeat(970) });
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// The endpoint gets its own core when there is a third one.
const endpointCore = availableParallelism() > 2 ? 2 : undefined;

function start(core: number | undefined, cmd: string[], env: Record<string, string>, stdout: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  const [bin, ...args] = [...(core === undefined ? [] : onCore(core)), process.execPath, ...cmd];
  return spawn(bin as string, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
}
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

console.log(
  `deliver benchmark: ${N} POSTs of ${BODY.length} B, concurrency ${CONCURRENCY}; ${canPin ? `nats-server core 0, client core 1, endpoint ${endpointCore === undefined ? 'unpinned' : 'core 2'}` : 'taskset missing: not pinned'}`,
);
const nats = await startNatsServer();
pin(nats.pid, 0);
const handle = await connectTestNats(nats.url);
const jsm = await jetstreamManager(handle.nc);
const port = await freePort();
const endpoint = start(endpointCore, [here('./endpoint.ts')], { PORT: String(port) });
await waitForHttpOk(port, '/');
const url = `http://127.0.0.1:${port}/hook`;

// (a) bare POST loop
const bare = start(1, [here('./bare-post.ts')], { URL: url, N: String(N), CONCURRENCY: String(CONCURRENCY), SECRET, BODY }, 'pipe');
let out = '';
bare.stdout?.on('data', (c: Buffer) => {
  out += c.toString();
});
await new Promise((r) => bare.once('exit', r));
const a = (JSON.parse(out) as { rate: number }).rate;
console.log(`(a) bare undici POST loop  ${a.toFixed(0)} req/s`);

// (b) the deliver service
const t = topology('bd');
await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
await new EndpointStore(await openBucket(handle.nc, t.buckets.endpoints, { replicas: 1 })).put({
  id: 'bench',
  url,
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
const deliver = start(1, [here('../../services/deliver/src/main.ts')], {
  HS_NATS_URL: nats.url,
  HS_NAMESPACE: 'bd',
  HS_HEALTH_PORT: String(healthPort),
  HS_HEALTH_HOST: '127.0.0.1',
  HS_LOG_LEVEL: 'warn',
  HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32',
  HS_DELIVER_CONCURRENCY: String(CONCURRENCY),
});
await waitForHttpOk(healthPort, '/readyz');
// Deliver runs one durable consumer per endpoint (docs/delivery.md).
const b = await drainRate(jsm, t.streams.delivery, 'deliver-bench', N);
await stop(deliver);
const attempts = (await jsm.streams.info(t.streams.obs)).state.messages;
console.log(`(b) deliver service        ${b.toFixed(0)} deliveries/s   b/a = ${(b / a).toFixed(2)}   (${attempts} attempt records)`);

mkdirSync(here('./results'), { recursive: true });
writeFileSync(
  here('./results/latest.json'),
  JSON.stringify(
    {
      at: new Date().toISOString(),
      messages: N,
      bodyBytes: BODY.length,
      concurrency: CONCURRENCY,
      pinned: canPin,
      endpointCore: endpointCore ?? null,
      bare: a,
      deliver: b,
      ratio: b / a,
    },
    null,
    2,
  ),
);
await stop(endpoint);
await handle.drain();
await nats.stop();
