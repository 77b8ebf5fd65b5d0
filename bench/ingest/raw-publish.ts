// Baseline (b): raw JetStream publishes from the same client library, with
// the same number of requests in flight as the HTTP runs have connections,
// the same body and the same headers ingest would add. Prints one JSON line.

import { AckingPublisher } from '@hookstream/runtime';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { percentile } from './stats.ts';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const subject = process.env.SUBJECT ?? 'bench.hs.raw.bench';
const concurrency = Number(process.env.CONCURRENCY ?? '64');
const durationMs = Number(process.env.DURATION_MS ?? '10000');
const warmupMs = Number(process.env.WARMUP_MS ?? '2000');
const body = Buffer.from(process.env.BODY ?? '{}');
// js: the client's js.publish; lean: the AckingPublisher ingest uses.
const mode = process.env.MODE === 'lean' ? 'lean' : 'js';
const senderHeaders = JSON.parse(process.env.HEADERS ?? '{}') as Record<string, string>;

// Same client settings as the services (packages/runtime connectNats).
const nc = await connect({ servers: url, noAsyncTraces: true });
const js = jetstream(nc);
const lean = new AckingPublisher(nc, 5_000);
let seq = 0;
const latencies: number[] = [];
let measuring = false;
let stop = false;
let completed = 0;
let errors = 0;

async function worker(): Promise<void> {
  while (!stop) {
    const h = headers();
    const id = `raw-${process.pid}-${seq++}`;
    h.set('hs-event-id', id);
    h.set('hs-source', 'bench');
    h.set('hs-received-at', String(Date.now()));
    for (const [k, v] of Object.entries(senderHeaders)) h.set(`hs-h-${k}`, v);
    const start = performance.now();
    try {
      if (mode === 'lean') {
        h.set('Nats-Msg-Id', `${id}:ingest`);
        await lean.publish(subject, body, h);
      } else {
        await js.publish(subject, body, { msgID: `${id}:ingest`, headers: h, timeout: 5_000 });
      }
      if (measuring) {
        latencies.push(performance.now() - start);
        completed++;
      }
    } catch {
      if (measuring) errors++;
    }
  }
}

const workers = Array.from({ length: concurrency }, () => worker());
await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, durationMs));
measuring = false;
const elapsed = (performance.now() - t0) / 1000;
stop = true;
await Promise.all(workers);
lean.close();
await nc.drain();
latencies.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    rps: completed / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
    total: completed,
  })}\n`,
);
