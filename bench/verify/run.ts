// Verify benchmark, in one run on 1 KiB bodies signed with HMAC-SHA256 (Stripe):
//   (a) a loop of bare crypto.createHmac(...).update(`${t}.${body}`).digest('hex');
//   (b) verifySignature() from @hookstream/signing on the same messages
//       (header parsing, tolerance, constant-time compare included);
//   (c) the verify service: N signed messages preloaded into HS_RAW, the
//       service started, time until all are on hs.verified.
// Prints a table and writes bench/verify/results/latest.json.
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { SourceStore } from '@hookstream/models';
import { AckingPublisher, createLogger, ensureStreams, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { verifySignature } from '@hookstream/signing';
import { connectTestNats, startNatsServer, waitFor } from '@hookstream/testkit';
import { buildApp, loadConfig } from '@hookstream/verify';
import { jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const PURE_ITERATIONS = Number(process.env.BENCH_PURE_ITERATIONS ?? '200000');
const SERVICE_MESSAGES = Number(process.env.BENCH_SERVICE_MESSAGES ?? '20000');
const SECRET = 'whsec_bench_secret';
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

const body = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'charge.succeeded', pad: 'x'.repeat(960) }).slice(0, 1024));
const ts = Math.floor(Date.now() / 1000);
const signature = createHmac('sha256', SECRET).update(`${ts}.`).update(body).digest('hex');
const stripeHeader = `t=${ts},v1=${signature}`;

function timeLoop(n: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(10_000, n); i++) fn(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return n / ((performance.now() - t0) / 1000);
}

const bare = timeLoop(PURE_ITERATIONS, () => createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex'));
const scheme = { kind: 'stripe' } as const;
const secrets = [{ id: 'k1', value: SECRET }];
const nowMs = ts * 1000;
const lib = timeLoop(PURE_ITERATIONS, () => {
  const r = verifySignature(
    scheme,
    { body, header: (n) => (n.toLowerCase() === 'stripe-signature' ? stripeHeader : undefined), nowMs },
    secrets,
  );
  if (!r.ok) throw new Error('benchmark signature did not verify');
});
console.log(`verify benchmark: ${body.length}-byte bodies, HMAC-SHA256`);
console.log(`(a) bare createHmac loop        ${bare.toFixed(0)} ops/s`);
console.log(`(b) verifySignature (stripe)    ${lib.toFixed(0)} ops/s   b/a = ${(lib / bare).toFixed(2)}`);

// (c) the service
const logger = createLogger({ service: 'bench', level: 'warn' });
const nats = await startNatsServer();
const t = topology('vb');
const handle = await connectTestNats(nats.url);
const jsm = await jetstreamManager(handle.nc);
await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
await new SourceStore(await openBucket(handle.nc, t.buckets.sources, { replicas: 1 })).put({ id: 'bench', provider: 'stripe', secrets });
const publisher = new AckingPublisher(handle.nc, 10_000);
const receivedAt = String(Date.now());
for (let start = 0; start < SERVICE_MESSAGES; start += 1000) {
  const batch = [];
  for (let i = start; i < Math.min(SERVICE_MESSAGES, start + 1000); i++) {
    const h = headers();
    h.set('Nats-Msg-Id', `e${i}:ingest`);
    h.set(Header.eventId, `e${i}`);
    h.set(Header.source, 'bench');
    h.set(Header.receivedAt, receivedAt);
    h.set('hs-h-stripe-signature', stripeHeader);
    h.set('hs-h-content-type', 'application/json');
    batch.push(publisher.publish(t.raw('bench'), body, h));
  }
  await Promise.all(batch);
}
publisher.close();
const app = buildApp(
  loadConfig({ HS_NATS_URL: nats.url, HS_NAMESPACE: 'vb', HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1', HS_LOG_LEVEL: 'warn' }),
  { logger },
);
const t0 = performance.now();
await app.run();
await waitFor(
  'all verified',
  async () => ((await jsm.streams.info(t.streams.pipe)).state.messages >= SERVICE_MESSAGES ? true : undefined),
  600_000,
  20,
);
const serviceRate = SERVICE_MESSAGES / ((performance.now() - t0) / 1000);
await app.close();
console.log(
  `(c) verify service              ${serviceRate.toFixed(0)} msg/s   c/a = ${(serviceRate / bare).toFixed(3)}  (${SERVICE_MESSAGES} messages, consume + verify + publish + ack)`,
);
mkdirSync(here('./results'), { recursive: true });
writeFileSync(
  here('./results/latest.json'),
  JSON.stringify(
    { at: new Date().toISOString(), bodyBytes: body.length, bare, lib, service: serviceRate, messages: SERVICE_MESSAGES },
    null,
    2,
  ),
);
await handle.drain();
await nats.stop();
