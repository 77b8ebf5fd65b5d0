import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { duplicateNoteKey, Header } from '@hookstream/contracts';
import { buildApp, type DedupApp, loadConfig } from '@hookstream/dedup';
import { decodeDuplicateNote, SourceStore } from '@hookstream/models';
import {
  AckingPublisher,
  createLogger,
  ensureStreams,
  type NatsHandle,
  openBucket,
  streamConfigs,
  type Topology,
  topology,
} from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer, storedMessages, waitConsumed } from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { releaseConsumerName } from '../src/app.ts';
import { kvKey } from '../src/key.ts';
import { KvClaimStore } from '../src/kv-claims.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('dedup: released claims and duplicate notes against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let publisher: AckingPublisher;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    publisher = new AckingPublisher(nats.nc, 10_000);
  });

  after(async () => {
    publisher?.close();
    await nats?.drain();
    await server?.stop();
  });

  async function start(ns: string): Promise<{ t: Topology; app: DedupApp }> {
    const t = topology(ns);
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({ id: 'stripe', provider: 'stripe' });
    const app = buildApp(loadConfig({ HS_NATS_URL: server.url, HS_NAMESPACE: ns, HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1' }), {
      logger,
    });
    await app.run();
    return { t, app };
  }

  /** A verified Stripe delivery with provider id `key`, as verify publishes it. */
  function verifiedHeaders(eventId: string): MsgHdrs {
    const h = headers();
    h.set('Nats-Msg-Id', `${eventId}:verify`);
    h.set(Header.eventId, eventId);
    h.set(Header.source, 'stripe');
    h.set(Header.receivedAt, String(Date.now()));
    return h;
  }
  const body = (key: string) => new TextEncoder().encode(JSON.stringify({ id: key, type: 'charge.succeeded' }));

  /** Publishes a verified message; resolves on its stream sequence. */
  async function verified(t: Topology, eventId: string, key: string): Promise<number> {
    return (await publisher.publish(t.verified('stripe'), body(key), verifiedHeaders(eventId))).seq;
  }

  /** A dead letter of `copied` (a stored message's headers and body) at `stage`, as the stage's worker publishes it. */
  async function deadLetter(t: Topology, stage: string, copied: { header: MsgHdrs; data: Uint8Array }, reason: string): Promise<number> {
    const h = headers();
    for (const [k, values] of copied.header) if (!k.toLowerCase().startsWith('nats-')) for (const v of values) h.append(k, v);
    h.set(Header.dlqStage, stage);
    h.set(Header.dlqReason, reason);
    h.set(Header.dlqAt, String(Date.now()));
    h.set('Nats-Msg-Id', `${copied.header.get(Header.eventId)}:dlq:${stage}:${Math.random()}`);
    return (await publisher.publish(t.dlq(stage, 'stripe'), copied.data, h)).seq;
  }

  /** Waits until `durable` has consumed the message at `seq` (see waitConsumed). */
  const drained = (t: Topology, durable: string, seq: number, stream = t.streams.pipe) => waitConsumed(jsm, stream, durable, seq);

  const uniqueIds = async (t: Topology): Promise<string[]> =>
    (await storedMessages(jsm, t.streams.pipe, t.unique('stripe'))).map((m) => m.header.get(Header.eventId));

  it('dedup: a dropped duplicate leaves a note in hs_dedup naming the first event id', async () => {
    const { t, app } = await start('rn');
    try {
      await drained(t, 'dedup', await verified(t, 'first-1', 'evt_note'));
      await drained(t, 'dedup', await verified(t, 'again-1', 'evt_note'));
      assert.deepEqual(await uniqueIds(t), ['first-1']);
      const kv = await openBucket(nats.nc, t.buckets.dedup, { replicas: 1, history: 1, ttlMs: 72 * 3_600_000 });
      const entry = await kv.get(duplicateNoteKey('again-1'));
      assert.ok(entry !== null && entry.operation === 'PUT', 'a note for the duplicate');
      const note = decodeDuplicateNote(entry.value);
      assert.equal(note?.event_id, 'again-1');
      assert.equal(note?.first_event_id, 'first-1');
      assert.equal(note?.idempotency_key, 'evt_note');
      assert.equal(note?.source, 'stripe');
      assert.equal(await kv.get(duplicateNoteKey('first-1')), null, 'no note for the first');
    } finally {
      await app.close();
    }
  });

  it('dedup: a claim whose event was dead-lettered at validate (or by dedup before forwarding) is released, so a repost goes through; other dead letters release nothing', async () => {
    // Scenario: the first copy of evt_K is dead-lettered at validate (it never reached events.*);
    // the sender posts it again and it must go through, once. A later dead letter of the old copy,
    // a route dead letter of the copy that went through, and a dedup dead letter of an event
    // that dedup had forwarded already must not free the key again.
    const { t, app } = await start('rl');
    try {
      await drained(t, 'dedup', await verified(t, 'k-1', 'evt_K'));
      const [unique1] = await storedMessages(jsm, t.streams.pipe, t.unique('stripe'));
      assert.ok(unique1 !== undefined);
      assert.equal(unique1.header.get(Header.idempotencyKey), 'evt_K');
      await drained(t, releaseConsumerName('validate'), await deadLetter(t, 'validate', unique1, 'missing_event_type'), t.streams.dlq);
      assert.equal(app.counts.released, 1);

      await drained(t, 'dedup', await verified(t, 'k-2', 'evt_K'));
      assert.deepEqual(await uniqueIds(t), ['k-1', 'k-2'], 'the repost went through');
      await drained(t, 'dedup', await verified(t, 'k-3', 'evt_K'));
      assert.deepEqual(await uniqueIds(t), ['k-1', 'k-2'], 'the next repost is a duplicate of k-2');

      // k-1 dead-lettered again (a replay that failed again): the key is k-2's now.
      await drained(t, releaseConsumerName('validate'), await deadLetter(t, 'validate', unique1, 'missing_event_type'), t.streams.dlq);
      // A route dead letter: route may have published k-2 to events.* already.
      const unique2 = (await storedMessages(jsm, t.streams.pipe, t.unique('stripe'))).find((m) => m.header.get(Header.eventId) === 'k-2');
      assert.ok(unique2 !== undefined);
      await deadLetter(t, 'route', unique2, 'filter_error');
      await drained(t, 'dedup', await verified(t, 'k-4', 'evt_K'));
      assert.deepEqual(await uniqueIds(t), ['k-1', 'k-2']);
      assert.equal(app.counts.released, 1);
      assert.equal(app.counts.duplicates, 2);

      // Dedup's own dead letter (an hs.verified message, no hs-idempotency-key): the key is derived from the body.
      // d-1 claimed evt_D and was dead-lettered before it was forwarded (the claim as dedup writes it, no more).
      const kv = await openBucket(nats.nc, t.buckets.dedup, { replicas: 1, history: 1, ttlMs: 72 * 3_600_000 });
      assert.notEqual(
        await new KvClaimStore(kv).create(kvKey('stripe', 'evt_D'), { event_id: 'd-1', first_seen_ms: Date.now() }),
        undefined,
      );
      await drained(
        t,
        releaseConsumerName('dedup'),
        await deadLetter(t, 'dedup', { header: verifiedHeaders('d-1'), data: body('evt_D') }, 'max_deliver_exceeded'),
        t.streams.dlq,
      );
      assert.equal(app.counts.released, 2);
      await drained(t, 'dedup', await verified(t, 'd-2', 'evt_D'));
      assert.deepEqual(await uniqueIds(t), ['k-1', 'k-2', 'd-2']);

      // A dedup dead letter of an event that went on (an earlier delivery was forwarded) keeps its claim.
      await drained(
        t,
        releaseConsumerName('dedup'),
        await deadLetter(t, 'dedup', { header: verifiedHeaders('d-2'), data: body('evt_D') }, 'max_deliver_exceeded'),
        t.streams.dlq,
      );
      assert.equal(app.counts.released, 2);
      await drained(t, 'dedup', await verified(t, 'd-3', 'evt_D'));
      assert.deepEqual(await uniqueIds(t), ['k-1', 'k-2', 'd-2'], 'd-3 is a duplicate of d-2');
    } finally {
      await app.close();
    }
  });
});
