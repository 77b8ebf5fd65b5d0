// Baseline: a bare durable pull consumer that acks every message, with the
// same pull size as a stage worker. Runs until stopped.
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', noAsyncTraces: true });
const stream = process.env.STREAM ?? 'HS_PIPE';
const durable = process.env.DURABLE ?? 'baseline';
const jsm = await jetstreamManager(nc);
await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: process.env.FILTER ?? '>' });
const consumer = await jetstream(nc).consumers.get(stream, durable);
const messages = await consumer.consume({ max_messages: Number(process.env.MAX_MESSAGES ?? '128') });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  messages.stop();
});
for await (const m of messages) m.ack();
await nc.drain();
