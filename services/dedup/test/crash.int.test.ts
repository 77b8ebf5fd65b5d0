import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { duplicateNoteKey, Header, stageMsgId } from '@hookstream/contracts';
import { buildApp, type DedupApp, loadConfig } from '@hookstream/dedup';
import { decodeDuplicateNote, parseSourceConfig, SourceStore } from '@hookstream/models';
import {
  AckingPublisher,
  createLogger,
  ensureDurableConsumer,
  ensureStreams,
  forwardHeaders,
  type NatsHandle,
  openBucket,
  stageMessage,
  streamConfigs,
  type Topology,
  topology,
} from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer, storedMessages, waitConsumed, waitFor } from '@hookstream/testkit';
import { type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { type DedupDeps, handleVerified } from '../src/handler.ts';
import { KvClaimStore } from '../src/kv-claims.ts';

const logger = createLogger({ service: 'test', level: 'silent' });
const ACK_WAIT_MS = 1_000;
const HOUR_MS = 3_600_000;
const WINDOW_MS = 72 * HOUR_MS;
const stripe = parseSourceConfig({ id: 'stripe', provider: 'stripe' });

describe('dedup after a crash: the copy that claimed the key goes on', () => {
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

  const env = (ns: string) => ({
    HS_NATS_URL: server.url,
    HS_NAMESPACE: ns,
    HS_HEALTH_PORT: '0',
    HS_HEALTH_HOST: '127.0.0.1',
    HS_DEDUP_ACK_WAIT_MS: String(ACK_WAIT_MS),
  });

  async function setUp(ns: string): Promise<Topology> {
    const t = topology(ns);
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({ id: 'stripe', provider: 'stripe' });
    // The consumer as dedup creates it (same settings, so the app's start changes nothing).
    await ensureDurableConsumer(jsm, {
      stream: t.streams.pipe,
      durable: 'dedup',
      filterSubject: t.subject('hs.verified.>'),
      ackWaitMs: ACK_WAIT_MS,
      maxAckPending: 256,
    });
    return t;
  }

  /** A verified Stripe delivery with provider id `key`, received by ingest at `receivedAt`, as verify publishes it. */
  async function verified(t: Topology, eventId: string, key: string, receivedAt: number): Promise<number> {
    const h = headers();
    h.set('Nats-Msg-Id', stageMsgId(eventId, 'verify'));
    h.set(Header.eventId, eventId);
    h.set(Header.source, 'stripe');
    h.set(Header.receivedAt, String(receivedAt));
    return (
      await publisher.publish(t.verified('stripe'), new TextEncoder().encode(JSON.stringify({ id: key, type: 'charge.succeeded' })), h)
    ).seq;
  }

  /** How far a killed dedup replica got with its message. */
  type KilledAt =
    /** It had received the message (pulled, in its buffer), nothing more. */
    | 'before-claim'
    /** It had claimed the key, then died before publishing. */
    | 'before-forward'
    /** Its publish to hs.unique was acknowledged, then it died. */
    | 'after-forward'
    /** Its handler had finished (the outcome was ack), then it died before acking. */
    | 'before-ack';

  /**
   * A dedup replica that is killed while it handles its first message: it
   * runs the real handler with the real claim store (the service's fast
   * path) and a `forward` that publishes as the service does, and dies at
   * `at`. The message is left unacknowledged; `release()` stops keeping it
   * (the dead process's connection goes away), so JetStream redelivers it
   * after the ack wait.
   */
  async function killedWhileHandling(t: Topology, at: KilledAt): Promise<{ eventId: string; release: () => Promise<void> }> {
    const crashed = await connectTestNats(server.url);
    const js = jetstream(crashed.nc);
    const consumer = await js.consumers.get(t.streams.pipe, 'dedup');
    const m: JsMsg | null = await consumer.next({ expires: 5_000 });
    assert.ok(m !== null, 'the killed replica received a message');
    // Keeps the message in progress until released (a live process that has not died yet).
    const keepAlive = setInterval(() => m.working(), ACK_WAIT_MS / 4);
    const fast = new AckingPublisher(crashed.nc, 10_000);
    let released = false;
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      clearInterval(keepAlive);
      fast.close();
      await crashed.nc.close();
    };
    if (at !== 'before-claim') {
      const bucket = await openBucket(crashed.nc, t.buckets.dedup, { replicas: 1, history: 1, ttlMs: WINDOW_MS });
      const deps: DedupDeps = {
        source: () => stripe,
        claims: new KvClaimStore(bucket, { publisher: fast, bucket: t.buckets.dedup }),
        now: Date.now,
        defaultWindowMs: WINDOW_MS,
        maxWindowMs: WINDOW_MS,
        forward: async (msg, eventId, sourceId, key) => {
          if (at === 'before-forward') throw new Error('SIGKILL');
          const h = forwardHeaders(msg.headers);
          h.set('Nats-Msg-Id', stageMsgId(eventId, 'dedup'));
          h.set(Header.idempotencyKey, key);
          await fast.publish(t.unique(sourceId), msg.data, h);
          if (at === 'after-forward') throw new Error('SIGKILL');
        },
        recordDuplicate: async () => {
          throw new Error('the first copy is not a duplicate');
        },
        repeated: () => undefined,
        index: async () => undefined,
      };
      if (at === 'before-ack') assert.deepEqual(await handleVerified(stageMessage(m), deps), { kind: 'ack' });
      else await assert.rejects(handleVerified(stageMessage(m), deps), /SIGKILL/);
    }
    return { eventId: m.headers?.get(Header.eventId) ?? '', release };
  }

  /** Waits until dedup holds nothing, and has consumed the message at `throughSeq` when one was just published. */
  const drained = (t: Topology, throughSeq = 0) => waitConsumed(jsm, t.streams.pipe, 'dedup', throughSeq);

  async function noteOf(t: Topology, eventId: string) {
    const kv = await openBucket(nats.nc, t.buckets.dedup, { replicas: 1, history: 1, ttlMs: WINDOW_MS });
    const entry = await kv.get(duplicateNoteKey(eventId));
    return entry !== null && entry.operation === 'PUT' ? decodeDuplicateNote(entry.value) : undefined;
  }

  async function duplicateRecords(t: Topology): Promise<{ event_id: string; first_event_id: string; age_ms: number }[]> {
    return (await storedMessages(jsm, t.streams.obs, t.obs('duplicate'))).map((m) => JSON.parse(Buffer.from(m.data).toString()));
  }

  const uniqueIds = async (t: Topology): Promise<string[]> =>
    (await storedMessages(jsm, t.streams.pipe, t.unique('stripe'))).map((m) => m.header.get(Header.eventId));

  for (const when of ['before-forward', 'after-forward', 'before-ack'] as const) {
    for (const order of ['later copy first', 'redelivery first'] as const) {
      it(`dedup: killed ${when} with the key claimed; ${order}: the claiming copy goes on, the later copy is its duplicate`, async () => {
        // Scenario: copy A (provider id evt_X, received at T) is claimed by a
        // dedup replica that dies before acking A. A re-send B of evt_X
        // (received at T+5 s) arrives; a restarted dedup sees B and the
        // redelivered A, in either order. A holds the claim, so A must go on
        // (once) and B be its duplicate, 5 s younger.
        const ns = `c${when.replace(/-/g, '')}${order === 'later copy first' ? 'l' : 'r'}`;
        const t = await setUp(ns);
        const receivedA = Date.now();
        await verified(t, 'copy-a', 'evt_X', receivedA);
        const crash = await killedWhileHandling(t, when);
        assert.equal(crash.eventId, 'copy-a');
        let app: DedupApp | undefined;
        try {
          app = buildApp(loadConfig(env(ns)), { logger });
          await app.run();
          let seq = 0;
          if (order === 'later copy first') {
            await verified(t, 'copy-b', 'evt_X', receivedA + 5_000);
            await waitFor('copy-b handled', () => noteOf(t, 'copy-b'), 10_000);
            await crash.release();
          } else {
            await crash.release();
            await waitFor(
              'copy-a redelivered and handled',
              async () => ((await jsm.consumers.info(t.streams.pipe, 'dedup')).num_ack_pending === 0 ? true : undefined),
              10_000,
            );
            seq = await verified(t, 'copy-b', 'evt_X', receivedA + 5_000);
          }
          await drained(t, seq);
          assert.deepEqual(await uniqueIds(t), ['copy-a'], 'the claiming copy went on, once');
          assert.equal((await noteOf(t, 'copy-b'))?.first_event_id, 'copy-a', 'the later copy is noted as a duplicate of the first');
          assert.equal(await noteOf(t, 'copy-a'), undefined, 'the claiming copy is no duplicate');
          const records = await duplicateRecords(t);
          assert.deepEqual(
            records.map((r) => ({ event_id: r.event_id, first_event_id: r.first_event_id, age_ms: r.age_ms })),
            [{ event_id: 'copy-b', first_event_id: 'copy-a', age_ms: 5_000 }],
          );
        } finally {
          await crash.release();
          await app?.close();
        }
      });
    }
  }
  it("dedup: a copy received first but never claimed (its replica died holding it) loses to a later copy that claimed; it is that one's duplicate, age 0", async () => {
    // Scenario: the limit of the guarantee. A dedup replica pulled copy A and
    // died before claiming evt_X; A waits out the ack wait. The re-send B,
    // received 5 s after A, reaches a live replica first and claims the key:
    // B goes on, and the redelivered A is its duplicate. Its age is 0 (it was
    // received before B; an age is never negative), and its received_at,
    // earlier than B's, says so.
    const ns = 'cnever';
    const t = await setUp(ns);
    const receivedA = Date.now();
    await verified(t, 'copy-a', 'evt_X', receivedA);
    const crash = await killedWhileHandling(t, 'before-claim');
    let app: DedupApp | undefined;
    try {
      app = buildApp(loadConfig(env(ns)), { logger });
      await app.run();
      await verified(t, 'copy-b', 'evt_X', receivedA + 5_000);
      await waitFor('copy-b forwarded', async () => ((await uniqueIds(t)).length === 1 ? true : undefined), 10_000);
      await crash.release();
      await drained(t);
      assert.deepEqual(await uniqueIds(t), ['copy-b']);
      const note = await noteOf(t, 'copy-a');
      assert.equal(note?.first_event_id, 'copy-b');
      assert.equal(note?.received_at, receivedA);
      const records = await duplicateRecords(t);
      assert.deepEqual(
        records.map((r) => ({ event_id: r.event_id, first_event_id: r.first_event_id, age_ms: r.age_ms })),
        [{ event_id: 'copy-a', first_event_id: 'copy-b', age_ms: 0 }],
      );
    } finally {
      await crash.release();
      await app?.close();
    }
  });

  it('dedup: a redelivered copy whose event already went on publishes nothing again, even after nats-server forgot the id (kill -9)', async () => {
    // Scenario: dedup forwarded copy A to hs.unique and died before acking
    // it; validate took A from the work queue; then nats-server was killed
    // with SIGKILL and restarted. A work-queue stream rebuilds its duplicate
    // window from the messages it still stores, so it no longer knows
    // `{A}:dedup`: a second publish would be stored and go through validate
    // and route again (a second delivery task). The claim records that A
    // went on, so the redelivered A is acked without a publish.
    const ns = 'crepub';
    const t = await setUp(ns);
    await verified(t, 'copy-a', 'evt_R', Date.now());
    const crash = await killedWhileHandling(t, 'before-ack');
    await crash.release();
    // validate takes the copy from the work queue.
    await ensureDurableConsumer(jsm, {
      stream: t.streams.pipe,
      durable: 'validate',
      filterSubject: t.subject('hs.unique.>'),
      ackWaitMs: 30_000,
      maxAckPending: 64,
    });
    const taken = await jetstream(nats.nc).consumers.get(t.streams.pipe, 'validate');
    const first = await taken.next({ expires: 5_000 });
    assert.equal(first?.headers?.get(Header.eventId), 'copy-a');
    assert.equal(await first?.ackAck(), true);
    const lastSeq = (await jsm.streams.info(t.streams.pipe)).state.last_seq;
    await server.kill();
    await server.restart();
    await waitFor('nats-server back', () => jsm.streams.info(t.streams.pipe).then(() => true), 30_000, 100);
    // The restarted server has indeed forgotten the id (what makes this test able to fail).
    const probe = headers();
    probe.set('Nats-Msg-Id', stageMsgId('probe', 'dedup'));
    assert.equal((await publisher.publish(t.unique('probe'), new Uint8Array(), probe)).duplicate, false);
    let app: DedupApp | undefined;
    try {
      app = buildApp(loadConfig(env(ns)), { logger });
      await app.run();
      await drained(t);
      const info = await jsm.streams.info(t.streams.pipe);
      assert.equal(info.state.last_seq, lastSeq + 1, 'nothing published to HS_PIPE after the probe');
      assert.equal(app.counts.unique, 0);
      assert.equal(app.counts.repeated, 1, 'the redelivered copy was recognised as the event that went on');
    } finally {
      await app?.close();
    }
  });
});
