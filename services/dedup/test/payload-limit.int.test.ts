import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { buildApp, loadConfig } from '@hookstream/dedup';
import { SourceStore } from '@hookstream/models';
import { createLogger, ensureStreams, metrics, type NatsHandle, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const logger = createLogger({ service: 'test', level: 'silent' });
const MAX_PAYLOAD = 64 * 1024;

describe('dedup at the server max_payload', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;

  before(async () => {
    server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
  });

  after(async () => {
    await nats?.drain();
    await server?.stop();
  });

  it('dedup: an event that its idempotency key pushes over max_payload is dead-lettered reduced at once, not nak-ed forever', async () => {
    // Scenario (issue 17, item 1): a verified message exactly at the server's
    // max_payload. Dedup's forward adds `hs-idempotency-key`, which no longer
    // fits; its dead letter would not fit either. Before, the message was
    // retried, then nak-ed every 5 s forever, in neither hs.unique nor the
    // DLQ, and counted as `term`. Now it is dead-lettered without its body
    // on the first delivery and hs.verified drains.
    const t = topology('dpl');
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({ id: 'plain', scheme: { kind: 'none' } });
    const termBefore = await stageCount('term');
    const app = buildApp(loadConfig({ HS_NATS_URL: server.url, HS_NAMESPACE: 'dpl', HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1' }), {
      logger,
    });
    await app.run();
    try {
      const h = headers();
      h.set(Header.eventId, 'evt-at-limit');
      h.set(Header.source, 'plain');
      h.set(Header.receivedAt, String(Date.now()));
      h.set('Nats-Msg-Id', 'evt-at-limit:verify');
      const headerBytes = (h as unknown as { encode(): Uint8Array }).encode().length;
      const body = new Uint8Array(MAX_PAYLOAD - headerBytes).fill(0x7a);
      const ack = await jetstream(nats.nc).publish(t.verified('plain'), body, { headers: h });

      const [dead] = await waitFor('the dead letter', async () => {
        const found = await storedMessages(jsm, t.streams.dlq, t.dlq('dedup', 'plain'));
        return found.length > 0 ? found : undefined;
      });
      assert.ok(dead);
      assert.equal(dead.header.get(Header.dlqReason), 'payload_too_large');
      assert.equal(dead.header.get(Header.dlqDeliveries), '1', 'on the first delivery');
      assert.equal(dead.header.get(Header.dlqReduced), 'too_large');
      assert.equal(dead.header.get(Header.dlqBodyBytes), String(body.length));
      assert.equal(dead.header.get(Header.dlqOriginStream), t.streams.pipe);
      assert.equal(dead.header.get(Header.dlqOriginSeq), String(ack.seq));
      assert.equal(dead.header.get(Header.eventId), 'evt-at-limit');
      assert.equal(dead.data.length, 0);
      await waitFor('hs.verified to drain', async () => {
        const info = await jsm.consumers.info(t.streams.pipe, 'dedup');
        return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      });
      assert.equal((await storedMessages(jsm, t.streams.pipe, t.unique('plain'))).length, 0, 'nothing half-forwarded');
      assert.deepEqual(app.worker().deadLetters, { whole: 0, reduced: 1, retried: 0, stuck: 0 });
      assert.equal(await stageCount('term_reduced'), 1);
      assert.equal(await stageCount('term'), termBefore, 'not counted as a whole dead letter');
    } finally {
      await app.close();
    }
  });
});

async function stageCount(outcome: string): Promise<number> {
  const found = (await metrics.stageMessages.get()).values.find((v) => v.labels.stage === 'dedup' && v.labels.outcome === outcome);
  return found?.value ?? 0;
}
