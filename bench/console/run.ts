// Console benchmark, in one run against a real nats-server and the control
// service's production entry point: the same RPC (ListEndpoints, 100
// endpoints, one page), EndpointHealth (the overview's poll, no ClickHouse)
// and the live feed's ListEvents {newestFirst, 50}
// through
//   (a) gRPC (the generated client, connectControl): the baseline;
//   (b) the console's JSON API (POST /api/rpc/{Method}, fetch with keep-alive),
// each for DURATION_MS with CONCURRENCY calls in flight from one client
// process. Prints calls/s, mean latency and b/a; writes
// bench/console/results/latest.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { connectControl } from '@hookstream/proto';
import { topology } from '@hookstream/runtime';
import { connectTestNats, freePort, startNatsServer, waitForHttpOk } from '@hookstream/testkit';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? '8000');
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? '16');
const EVENTS = Number(process.env.BENCH_EVENTS ?? '20000');
const TOKEN = 'bench-console-token-0123456789';
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

const nats = await startNatsServer();
const [grpcPort, consolePort, healthPort] = await Promise.all([freePort(), freePort(), freePort()]);
const control: ChildProcess = spawn(process.execPath, [here('../../services/control/src/main.ts')], {
  env: {
    ...process.env,
    HS_NATS_URL: nats.url,
    HS_NAMESPACE: 'bench',
    HS_LOG_LEVEL: 'warn',
    HS_CONTROL_HOST: '127.0.0.1',
    HS_CONTROL_PORT: String(grpcPort),
    HS_CONTROL_TOKEN: TOKEN,
    HS_CONSOLE_HOST: '127.0.0.1',
    HS_CONSOLE_PORT: String(consolePort),
    HS_HEALTH_HOST: '127.0.0.1',
    HS_HEALTH_PORT: String(healthPort),
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
await waitForHttpOk(healthPort, '/readyz');
const api = connectControl({ url: `127.0.0.1:${grpcPort}`, token: TOKEN });
for (let i = 0; i < 100; i++) {
  await api.createEndpoint({
    configJson: JSON.stringify({
      id: `ep-${String(i).padStart(3, '0')}`,
      url: `https://example.com/hook/${i}`,
      secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
    }),
  });
}
const handle = await connectTestNats(nats.url);
const js = jetstream(handle.nc);
const t = topology('bench');
for (let i = 0; i < EVENTS; i += 500) {
  await Promise.all(
    Array.from({ length: Math.min(500, EVENTS - i) }, (_, j) => {
      const h = headers();
      h.set(Header.eventId, `evt-${i + j}`);
      h.set(Header.source, 'shop');
      h.set(Header.eventType, 'order.created');
      h.set(Header.receivedAt, String(Date.now()));
      return js.publish(t.events('shop', 'order.created'), '{"id":"ord_1","amount":1200}', { headers: h });
    }),
  );
}

/** Runs `call` with CONCURRENCY in flight for DURATION_MS (after a 1 s warm-up); calls/s and mean ms. */
async function measure(call: () => Promise<unknown>): Promise<{ perSecond: number; meanMs: number }> {
  const run = async (ms: number) => {
    const until = performance.now() + ms;
    let calls = 0;
    let latency = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < until) {
          const t0 = performance.now();
          await call();
          latency += performance.now() - t0;
          calls++;
        }
      }),
    );
    return { calls, latency };
  };
  await run(1_000);
  const started = performance.now();
  const { calls, latency } = await run(DURATION_MS);
  return { perSecond: calls / ((performance.now() - started) / 1000), meanMs: latency / calls };
}

const json = async (method: string, body: object): Promise<unknown> => {
  const r = await fetch(`http://127.0.0.1:${consolePort}/api/rpc/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`${method}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
};

const check = (await json('ListEndpoints', { pageSize: 100 })) as { endpoints: unknown[] };
if (check.endpoints.length !== 100) throw new Error('expected 100 endpoints');
const results: Record<string, { perSecond: number; meanMs: number }> = {};
results.grpcListEndpoints = await measure(() => api.listEndpoints({ pageSize: 100, pageToken: '' }));
results.jsonListEndpoints = await measure(() => json('ListEndpoints', { pageSize: 100 }));
results.grpcHealth = await measure(() => api.endpointHealth({ endpoint: '', sinceMs: 0, untilMs: 0 }));
results.jsonHealth = await measure(() => json('EndpointHealth', {}));
results.grpcFeed = await measure(() =>
  api.listEvents({ source: '', eventType: '', sinceMs: 0, untilMs: 0, pageSize: 50, pageToken: '', newestFirst: true }),
);
results.jsonFeed = await measure(() => json('ListEvents', { newestFirst: true, pageSize: 50 }));

const ratio = (b: string, a: string) => (results[b]?.perSecond ?? 0) / (results[a]?.perSecond ?? 1);
const summary = {
  when: new Date().toISOString(),
  node: process.version,
  durationMs: DURATION_MS,
  concurrency: CONCURRENCY,
  events: EVENTS,
  results,
  ratios: {
    listEndpoints: ratio('jsonListEndpoints', 'grpcListEndpoints'),
    endpointHealth: ratio('jsonHealth', 'grpcHealth'),
    feed: ratio('jsonFeed', 'grpcFeed'),
  },
};
for (const [name, r] of Object.entries(results))
  console.log(`${name.padEnd(18)} ${r.perSecond.toFixed(0).padStart(7)} calls/s  mean ${r.meanMs.toFixed(2)} ms`);
console.log(
  `JSON/gRPC: ListEndpoints ${summary.ratios.listEndpoints.toFixed(2)}, EndpointHealth ${summary.ratios.endpointHealth.toFixed(2)}, live feed ${summary.ratios.feed.toFixed(2)}`,
);
mkdirSync(here('results'), { recursive: true });
writeFileSync(here('results/latest.json'), `${JSON.stringify(summary, null, 2)}\n`);

api.close();
await handle.drain();
control.kill('SIGTERM');
await new Promise((r) => control.once('exit', r));
await nats.stop();
