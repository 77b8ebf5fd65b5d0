// The floor: the least a durable webhook gateway on this broker can do, to
// measure hookstream's pipeline against (bench/REPORT.md, "CPU per event").
//
// - An HTTP receiver answers 202 only after JetStream's PubAck of the body on
//   a file-stored stream (so a 202 means durable, as ingest's does).
// - One durable pull consumer POSTs each stored message with undici to
//   FLOOR_TARGET and acks it after a 2xx answer (naks otherwise, so nothing
//   is dropped), FLOOR_CONCURRENCY POSTs at a time.
//
// No signatures, no dedup, no schemas, no routing, no analytics: one
// publish, one delivery, one ack per event. The broker is the bench's
// (FLOOR_NATS_URL); bench/e2e/run.ts starts this with BENCH_TARGET=floor in
// place of the six services and offers it the same events at the same rates.
// Prints "floor ready" on stdout once both halves run.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AckPolicy, type JsMsg, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Agent, request } from 'undici';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is required`);
  return v;
};
const natsUrl = env('FLOOR_NATS_URL');
const port = Number(env('FLOOR_PORT'));
const target = env('FLOOR_TARGET');
const concurrency = Number(process.env.FLOOR_CONCURRENCY ?? '64');
const STREAM = 'FLOOR';
const SUBJECT = 'floor.in';

const nc = await connect({ servers: natsUrl.split(','), maxReconnectAttempts: -1 });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({
  name: STREAM,
  subjects: [SUBJECT],
  storage: StorageType.File,
  retention: RetentionPolicy.Workqueue,
  duplicate_window: 120_000_000_000,
});
await jsm.consumers.add(STREAM, {
  durable_name: 'floor',
  ack_policy: AckPolicy.Explicit,
  ack_wait: 30_000_000_000,
  max_ack_pending: 1_000,
});
const js = jetstream(nc);

// ---- receiver: 202 after the PubAck
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    js.publish(SUBJECT, Buffer.concat(chunks)).then(
      () => {
        res.writeHead(202).end();
      },
      () => {
        res.writeHead(503).end();
      },
    );
  });
});
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

// ---- dispatcher: POST, ack after a 2xx
const agent = new Agent({ keepAliveTimeout: 30_000, connections: concurrency });
const consumer = await js.consumers.get(STREAM, 'floor');
const messages = await consumer.consume({ max_messages: concurrency * 2 });
let inFlight = 0;
let wake: (() => void) | undefined;

async function deliver(m: JsMsg): Promise<void> {
  try {
    const res = await request(target, {
      method: 'POST',
      dispatcher: agent,
      body: m.data,
      headers: { 'content-type': 'application/json' },
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) m.ack();
    else m.nak(1_000);
  } catch {
    m.nak(1_000);
  }
}

console.log('floor ready');
for await (const m of messages) {
  while (inFlight >= concurrency) await new Promise<void>((r) => (wake = r));
  inFlight++;
  void deliver(m).finally(() => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  });
}
