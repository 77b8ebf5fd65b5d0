import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { decodeSource, type SourceConfig, SourceStore } from '@hookstream/models';
import {
  AckingPublisher,
  bucketKeys,
  type ConfigCache,
  createLogger,
  ensureStreams,
  type NatsHandle,
  nak,
  openBucket,
  PublishError,
  startWorker,
  streamConfigs,
  topology,
  watchConfig,
} from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer, waitFor } from '@hookstream/testkit';
import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { ack, term } from '../src/outcome.ts';

const NONE = { kind: 'none' } as const;
const logger = createLogger({ service: 'test', level: 'silent' });

describe('runtime against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
  });

  after(async () => {
    await nats?.drain();
    await server?.stop();
  });

  it('streams: ensureStreams creates all six and is idempotent', async () => {
    const jsm = await jetstreamManager(nats.nc);
    const t = topology('s1');
    const configs = streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 });
    await ensureStreams(jsm, configs);
    await ensureStreams(jsm, configs);
    const names: string[] = [];
    for await (const s of jsm.streams.list()) names.push(s.config.name);
    assert.deepEqual(names.filter((n) => n.startsWith('s1_')).sort(), [
      's1_HS_DELIVERY',
      's1_HS_DLQ',
      's1_HS_EVENTS',
      's1_HS_OBS',
      's1_HS_OPS',
      's1_HS_PIPE',
      's1_HS_RAW',
    ]);
    const pipe = await jsm.streams.info('s1_HS_PIPE');
    assert.equal(pipe.config.retention, RetentionPolicy.Workqueue);
  });

  it('streams: a changed retention setting is applied in place', async () => {
    const jsm = await jetstreamManager(nats.nc);
    const t = topology('s2');
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 48 }));
    const info = await jsm.streams.info('s2_HS_EVENTS');
    assert.equal(info.config.max_age, 48 * 3_600_000 * 1_000_000);
  });

  it('worker: ack, delayed nak and term each settle as the outcome says', async () => {
    const jsm = await jetstreamManager(nats.nc);
    const js = jetstream(nats.nc);
    const t = topology('w1');
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    const seen = new Map<string, number[]>();
    const worker = await startWorker({
      js,
      jsm,
      logger,
      stage: 'verify',
      stream: t.streams.pipe,
      durable: 'w1-test',
      filterSubject: t.subject('hs.verified.>'),
      deadLetterSubject: (m) => t.dlq('verify', m.subject.split('.').pop() ?? '_'),
      maxDeliver: 5,
      ackWaitMs: 30_000,
      concurrency: 4,
      handle: async (m) => {
        const body = m.string();
        const times = seen.get(body) ?? [];
        times.push(Date.now());
        seen.set(body, times);
        if (body === 'ok') return ack();
        if (body === 'retry') return times.length < 2 ? nak(300) : ack();
        return term('bad_signature', 'signature did not match');
      },
    });
    const h = headers();
    h.set(Header.eventId, 'evt-1');
    await js.publish(t.verified('src'), 'ok');
    await js.publish(t.verified('src'), 'retry');
    await js.publish(t.verified('src'), 'poison', { headers: h });

    await waitFor('retry to be acked', () => ((seen.get('retry')?.length ?? 0) >= 2 ? true : undefined));
    const retry = seen.get('retry') ?? [];
    assert.ok((retry[1] ?? 0) - (retry[0] ?? 0) >= 250, 'nak delay was honoured');

    const dlq = await waitFor('dead letter', async () => {
      const info = await jsm.streams.info(t.streams.dlq);
      return info.state.messages === 1 ? info : undefined;
    });
    assert.equal(dlq.state.messages, 1);
    const stored = await jsm.streams.getMessage(t.streams.dlq, { last_by_subj: t.dlq('verify', 'src') });
    assert.ok(stored);
    assert.equal(new TextDecoder().decode(stored.data), 'poison');
    assert.equal(stored.header.get(Header.dlqReason), 'bad_signature');
    assert.equal(stored.header.get(Header.dlqStage), 'verify');
    assert.equal(stored.header.get(Header.eventId), 'evt-1');
    assert.equal(stored.header.get(Header.dlqSubject), t.verified('src'));

    await waitFor('work queue to empty', async () => {
      const info = await jsm.streams.info(t.streams.pipe);
      return info.state.messages === 0 ? true : undefined;
    });
    await worker.stop();
    assert.equal(worker.healthy(), true);
  });

  it('worker: a handler that keeps throwing is dead-lettered after maxDeliver', async () => {
    const jsm = await jetstreamManager(nats.nc);
    const js = jetstream(nats.nc);
    const t = topology('w2');
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    let calls = 0;
    const worker = await startWorker({
      js,
      jsm,
      logger,
      stage: 'dedup',
      stream: t.streams.pipe,
      durable: 'w2-test',
      filterSubject: t.subject('hs.verified.>'),
      deadLetterSubject: () => t.dlq('dedup', 'src'),
      maxDeliver: 3,
      ackWaitMs: 30_000,
      concurrency: 1,
      retryDelayMs: () => 50,
      handle: async () => {
        calls++;
        throw new Error('boom');
      },
    });
    await js.publish(t.verified('src'), 'x');
    const stored = await waitFor(
      'dead letter',
      async () => (await jsm.streams.getMessage(t.streams.dlq, { last_by_subj: t.dlq('dedup', 'src') }).catch(() => null)) ?? undefined,
    );
    assert.equal(stored.header.get(Header.dlqReason), 'handler_error');
    assert.equal(stored.header.get(Header.dlqDetail), 'boom');
    assert.equal(calls, 3);
    await worker.stop();
  });

  it('config cache: loads existing records, applies live changes and ignores invalid ones', async () => {
    const kv = await openBucket(nats.nc, 'c1_hs_sources', { replicas: 1 });
    const store = new SourceStore(kv);
    await store.put({ id: 'stripe', scheme: NONE });
    await kv.put('broken', '{"id": 12}');
    const cache: ConfigCache<SourceConfig> = await watchConfig(kv, decodeSource, logger);
    await cache.ready();
    assert.equal(cache.get('stripe')?.id, 'stripe');
    assert.equal(cache.get('broken'), undefined);
    await store.put({ id: 'github', scheme: NONE, maxBodyBytes: 10 });
    await waitFor('live put', () => cache.get('github'));
    await store.delete('stripe');
    await waitFor('live delete', () => (cache.get('stripe') === undefined ? true : undefined));
    cache.stop();
  });

  it('publisher: resolves on the PubAck, flags a repeated Nats-Msg-Id, rejects with no stream', async () => {
    const jsm = await jetstreamManager(nats.nc);
    const t = topology('p1');
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    const publisher = new AckingPublisher(nats.nc, 2_000);
    const h = (id: string) => {
      const x = headers();
      x.set('Nats-Msg-Id', id);
      return x;
    };
    const acks = await Promise.all([1, 2, 3].map((i) => publisher.publish(t.raw('s'), new TextEncoder().encode(`m${i}`), h(`id-${i}`))));
    assert.deepEqual(
      acks.map((a) => [a.stream, a.duplicate]),
      [
        ['p1_HS_RAW', false],
        ['p1_HS_RAW', false],
        ['p1_HS_RAW', false],
      ],
    );
    assert.equal(new Set(acks.map((a) => a.seq)).size, 3);
    const again = await publisher.publish(t.raw('s'), new TextEncoder().encode('m1'), h('id-1'));
    assert.equal(again.duplicate, true);
    await assert.rejects(publisher.publish('nowhere.at.all', new Uint8Array(), h('x')), (err: unknown) => {
      assert.ok(err instanceof PublishError);
      assert.equal(err.code, 503);
      return true;
    });
    assert.equal(publisher.pending, 0);
    publisher.close();
  });

  it('config cache: an empty bucket is ready at once', async () => {
    const kv = await openBucket(nats.nc, 'c2_hs_sources', { replicas: 1 });
    const cache = await watchConfig(kv, decodeSource, logger);
    assert.equal(cache.isReady(), true);
    cache.stop();
  });

  // Scenario: one key is rewritten every few ms (a deliver replica's circuit
  // report, an operator's update) while another client lists the bucket.
  // kv.keys() came back empty for 30 of 500 listings here; bucketKeys must
  // never miss a key that exists the whole time, and lists deleted keys too
  // (their last entry is a marker the caller skips).
  it('config cache: bucketKeys lists every key while one is being rewritten, deleted keys included', async () => {
    const kv = await openBucket(nats.nc, 'c3_keys', { replicas: 1, history: 1 });
    await kv.put('steady', 'x');
    await kv.put('other.key', 'x');
    await kv.put('gone', 'x');
    await kv.delete('gone');
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        await kv.put('steady', String(writes++));
        await kv.put('other.key', String(writes));
      }
    })();
    try {
      for (let i = 0; i < 200; i++) {
        assert.deepEqual((await bucketKeys(kv)).sort(), ['gone', 'other.key', 'steady'], `listing ${i}`);
      }
    } finally {
      writing = false;
      await writer;
    }
    assert.ok(writes > 50, `the key was rewritten while listing (${writes} writes)`);
    assert.equal((await kv.get('gone'))?.operation, 'DEL');
  });
});
