import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import {
  AckingPublisher,
  createLogger,
  ensureStreams,
  metrics,
  type NatsHandle,
  startWorker,
  streamConfigs,
  type Topology,
  topology,
  type Worker,
} from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { term } from '../src/outcome.ts';
import { DEAD_LETTER_ATTEMPTS } from '../src/worker.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
// Small, so messages at the limit are quick to make.
const MAX_PAYLOAD = 64 * 1024;

/** Bytes the NATS client puts on the wire for a header block (MsgHdrsImpl.encode; not on the MsgHdrs interface). */
const wire = (h: MsgHdrs): number => (h as unknown as { encode(): Uint8Array }).encode().length;

function envelope(eventId: string): MsgHdrs {
  const h = headers();
  h.set(Header.eventId, eventId);
  h.set(Header.source, 'src');
  h.set(Header.receivedAt, String(Date.now()));
  h.set('Nats-Msg-Id', `${eventId}:test`);
  return h;
}

async function stageCount(stage: string, outcome: string): Promise<number> {
  const found = (await metrics.stageMessages.get()).values.find((v) => v.labels.stage === stage && v.labels.outcome === outcome);
  return found?.value ?? 0;
}

async function drained(jsm: JetStreamManager, stream: string, durable: string): Promise<void> {
  await waitFor(`${durable} to drain`, async () => {
    const info = await jsm.consumers.info(stream, durable);
    return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
  });
}

describe('worker dead letters against a real nats-server (max_payload 64 KiB)', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const workers: Worker[] = [];

  before(async () => {
    server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
    nats = await connectTestNats(server.url);
    js = jetstream(nats.nc);
    jsm = await jetstreamManager(nats.nc);
  });

  after(async () => {
    for (const w of workers) await w.stop();
    await nats?.drain();
    await server?.stop();
  });

  const setUp = async (ns: string): Promise<Topology> => {
    const t = topology(ns);
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    return t;
  };

  it('worker: a dead letter too large to store whole is stored reduced, the message leaves its stream, and the metric says term_reduced', async () => {
    // Scenario: a message exactly at the server's max_payload is rejected by
    // its handler; its dead letter (the same message plus hs-dlq-* headers)
    // cannot be published. Before, it was nak'ed every 5 s forever and
    // counted as `term` each time.
    assert.equal(nats.maxPayload(), MAX_PAYLOAD, 'the connection reads max_payload from the server');
    const t = await setUp('wr1');
    const stage = 'wr1stage';
    const worker = await startWorker({
      js,
      jsm,
      logger,
      stage,
      stream: t.streams.pipe,
      durable: stage,
      filterSubject: t.subject('hs.verified.>'),
      deadLetterSubject: () => t.dlq(stage, 'src'),
      maxDeliver: 5,
      ackWaitMs: 30_000,
      concurrency: 1,
      handle: async () => term('bad_signature', 'signature did not match'),
    });
    workers.push(worker);
    const h = envelope('evt-big');
    const body = new Uint8Array(MAX_PAYLOAD - wire(h)).fill(0x61);
    const ack = await js.publish(t.verified('src'), body, { headers: h });

    const [dead] = await waitFor('the reduced dead letter', async () => {
      const found = await storedMessages(jsm, t.streams.dlq);
      return found.length > 0 ? found : undefined;
    });
    assert.ok(dead);
    assert.equal(dead.subject, t.dlq(stage, 'src'));
    assert.equal(dead.data.length, 0, 'no body');
    assert.equal(dead.header.get(Header.eventId), 'evt-big', 'envelope headers kept');
    assert.equal(dead.header.get(Header.source), 'src');
    assert.equal(dead.header.get(Header.dlqReason), 'bad_signature', 'the reason is the handler’s');
    assert.equal(dead.header.get(Header.dlqReduced), 'too_large');
    assert.equal(dead.header.get(Header.dlqBodyBytes), String(body.length));
    assert.equal(dead.header.get(Header.dlqOriginStream), t.streams.pipe);
    assert.equal(dead.header.get(Header.dlqOriginSeq), String(ack.seq));
    assert.match(dead.header.get(Header.dlqDetail), /signature did not match; stored without its body: .*max_payload/);
    await drained(jsm, t.streams.pipe, stage);
    assert.deepEqual(worker.deadLetters, { whole: 0, reduced: 1, retried: 0, stuck: 0 });
    assert.equal(worker.counts.term, 1);
    assert.equal(await stageCount(stage, 'term_reduced'), 1);
    assert.equal(await stageCount(stage, 'term'), 0, 'not counted as a whole dead letter');
  });

  it('worker: a dead-letter log line names the event id, source and reason', async () => {
    const lines: Record<string, unknown>[] = [];
    const captured = createLogger({
      service: 'test',
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
          done();
        },
      }),
    });
    const t = await setUp('wrlog');
    const stage = 'wrlogstage';
    const worker = await startWorker({
      js,
      jsm,
      logger: captured,
      stage,
      stream: t.streams.pipe,
      durable: stage,
      filterSubject: t.subject('hs.verified.>'),
      deadLetterSubject: () => t.dlq(stage, 'src'),
      maxDeliver: 5,
      ackWaitMs: 30_000,
      concurrency: 1,
      handle: async () => term('bad_signature', 'signature did not match'),
    });
    workers.push(worker);
    await js.publish(t.verified('src'), new TextEncoder().encode('{}'), { headers: envelope('evt-logged') });
    const line = await waitFor('the dead-letter log line', () => lines.find((l) => l.msg === 'dead-lettered'));
    assert.deepEqual(
      { event_id: line.event_id, source: line.source, reason: line.reason, stage: line.stage, detail: line.detail },
      { event_id: 'evt-logged', source: 'src', reason: 'bad_signature', stage, detail: 'signature did not match' },
    );
  });

  it('worker: a handler that cannot publish onward because the message is too large is dead-lettered at once, not retried', async () => {
    // Scenario: the stage adds a 4 KiB header to a message that is 3 KB under
    // max_payload (what dedup's idempotency key did to bodies near the limit).
    const t = await setUp('wr2');
    const stage = 'wr2stage';
    const publisher = new AckingPublisher(nats.nc, 5_000);
    let calls = 0;
    const worker = await startWorker({
      js,
      jsm,
      logger,
      stage,
      stream: t.streams.pipe,
      durable: stage,
      filterSubject: t.subject('hs.verified.>'),
      deadLetterSubject: () => t.dlq(stage, 'src'),
      maxDeliver: 5,
      ackWaitMs: 30_000,
      concurrency: 1,
      retryDelayMs: () => 50,
      handle: async (m) => {
        calls++;
        const out = headers();
        out.set('Nats-Msg-Id', `${m.headers?.get(Header.eventId)}:wr2`);
        out.set('hs-extra', 'k'.repeat(4_096));
        await publisher.publish(t.unique('src'), m.data, out);
        return term('unreachable');
      },
    });
    workers.push(worker);
    try {
      const h = envelope('evt-grows');
      await js.publish(t.verified('src'), new Uint8Array(MAX_PAYLOAD - wire(h) - 3_000).fill(0x62), { headers: h });
      const [dead] = await waitFor('the dead letter', async () => {
        const found = await storedMessages(jsm, t.streams.dlq);
        return found.length > 0 ? found : undefined;
      });
      assert.ok(dead);
      assert.equal(dead.header.get(Header.dlqReason), 'payload_too_large');
      assert.equal(dead.header.get(Header.dlqDeliveries), '1', 'dead-lettered on the first delivery');
      assert.equal(dead.header.has(Header.dlqReduced), false, 'the whole message fits the DLQ');
      assert.equal(dead.data.length, MAX_PAYLOAD - wire(h) - 3_000);
      await drained(jsm, t.streams.pipe, stage);
      assert.equal(calls, 1, 'the handler ran once');
      assert.equal((await storedMessages(jsm, t.streams.pipe, t.unique('src'))).length, 0, 'nothing went onward');
    } finally {
      publisher.close();
    }
  });

  it('worker: when the DLQ takes nothing, the message is retried, then held with a long nak and counted stuck, and dead-lettered once the DLQ is back', async () => {
    // Scenario: no stream listens on the dead-letter subject (the DLQ stream
    // is gone). The message must neither loop every 5 s forever nor be
    // dropped: DEAD_LETTER_ATTEMPTS whole tries past maxDeliver, then a
    // reduced try, then a long nak counted as dead_letter_stuck; when a
    // stream takes the subject again, the next delivery stores it.
    const t = await setUp('wr3');
    const stage = 'wr3stage';
    const dlqSubject = 'wr3late.dlq.src';
    const worker = await startWorker({
      js,
      jsm,
      logger,
      stage,
      stream: t.streams.pipe,
      durable: stage,
      filterSubject: t.subject('hs.verified.>'),
      deadLetterSubject: () => dlqSubject,
      maxDeliver: 1,
      ackWaitMs: 30_000,
      concurrency: 1,
      deadLetterDelays: { retryMs: 50, stuckMs: 3_000 },
      handle: async () => term('bad_signature'),
    });
    workers.push(worker);
    await js.publish(t.verified('src'), 'payload', { headers: envelope('evt-stuck') });

    await waitFor('the message to be held as stuck', () => (worker.deadLetters?.stuck === 1 ? true : undefined));
    assert.equal(worker.deadLetters?.retried, DEAD_LETTER_ATTEMPTS, 'retried whole until maxDeliver + DEAD_LETTER_ATTEMPTS deliveries');
    assert.equal(worker.deadLetters?.reduced, 0);
    assert.equal(worker.counts.term, 0, 'not counted as termed');
    assert.equal(await stageCount(stage, 'dead_letter_stuck'), 1);
    assert.equal(await stageCount(stage, 'term'), 0);
    const held = await jsm.consumers.info(t.streams.pipe, stage);
    assert.equal(held.num_pending + held.num_ack_pending, 1, 'still in its stream, visible as lag');

    await jsm.streams.add({ name: 'WR3_LATE_DLQ', subjects: ['wr3late.dlq.>'], retention: RetentionPolicy.Limits });
    const [dead] = await waitFor(
      'the dead letter once the DLQ is back',
      async () => {
        const found = await storedMessages(jsm, 'WR3_LATE_DLQ');
        return found.length > 0 ? found : undefined;
      },
      20_000,
    );
    assert.ok(dead);
    assert.equal(new TextDecoder().decode(dead.data), 'payload', 'stored whole');
    assert.equal(dead.header.get(Header.eventId), 'evt-stuck');
    await drained(jsm, t.streams.pipe, stage);
    assert.equal(worker.deadLetters?.whole, 1);
    assert.equal(worker.counts.term, 1);
  });
});
