import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { duplicateNoteKey } from '@hookstream/contracts';
import { EndpointStore, SourceStore } from '@hookstream/models';
import { type NatsHandle, openBucket, secretBoxFromEnv, topology } from '@hookstream/runtime';
import {
  connectTestNats,
  freePort,
  httpRequest,
  type NatsServer,
  startEndpoint,
  startNatsServer,
  type TestEndpoint,
  waitFor,
} from '@hookstream/testkit';
import { Kvm } from '@nats-io/kv';
import { type ServiceProcess, startService } from '../../../test/e2e/processes.ts';
import { postStripe } from '../../../test/e2e/stripe.ts';

const STRIPE_SECRET = 'whsec_pipeline_secret';
const MASTER_KEY = randomBytes(32).toString('base64');
const NS = 'combined';
const t = topology(NS);

describe('pipeline: the six stages in one process against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let receiver: TestEndpoint;
  let pipeline: ServiceProcess;
  let ingestPort: number;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    const box = secretBoxFromEnv({ HS_MASTER_KEY: MASTER_KEY });
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 }), box).put({
      id: 'stripe',
      provider: 'stripe',
      secrets: [{ id: 'k1', value: STRIPE_SECRET }],
    });
    receiver = await startEndpoint();
    await new EndpointStore(await openBucket(nats.nc, t.buckets.endpoints, { replicas: 1 }), box).put({
      id: 'all',
      url: receiver.url,
      secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
    });
    ingestPort = await freePort();
    pipeline = await startService('pipeline', {
      HS_NATS_URL: server.url,
      HS_NAMESPACE: NS,
      HS_MASTER_KEY: MASTER_KEY,
      HS_INGEST_PORT: String(ingestPort),
      HS_INGEST_HOST: '127.0.0.1',
      HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32',
    });
  });

  after(async () => {
    if (pipeline !== undefined) assert.equal(await pipeline.stop(), 0, 'the combined process exits cleanly on SIGTERM');
    await receiver?.close();
    await nats?.drain();
    await server?.stop();
  });

  const post = (body: string) => postStripe(ingestPort, body, STRIPE_SECRET);

  it('pipeline: a signed event goes through every stage to the endpoint, once; a repost is a duplicate', async () => {
    const body = JSON.stringify({ id: 'evt_combined_1', type: 'charge.succeeded', data: { object: { amount: 5 } } });
    assert.equal((await post(body)).status, 202);
    const received = await waitFor(
      'the delivery',
      () => receiver.received.find((r) => r.body.toString().includes('evt_combined_1')),
      20_000,
    );
    assert.equal(received.headers['webhook-id'] !== undefined, true, 'signed as Standard Webhooks');
    const again = await post(body);
    assert.equal(again.status, 202);
    // Dedup notes a dropped duplicate under the repost's own id; once the note is there the repost went no further.
    const againId = (JSON.parse(again.body) as { id: string }).id;
    const dedup = await new Kvm(nats.nc).open(t.buckets.dedup);
    await waitFor(
      'dedup to note the repost as a duplicate',
      async () => ((await dedup.get(duplicateNoteKey(againId)))?.value.length ? true : undefined),
      20_000,
    );
    assert.equal(
      receiver.received.filter((r) => r.body.toString().includes('evt_combined_1')).length,
      1,
      'the repost was dropped as a duplicate',
    );
  });

  it('pipeline: /readyz passes with all six stages named; /metrics has every stage', async () => {
    const ready = await httpRequest({ port: pipeline.healthPort, path: '/readyz' });
    assert.equal(ready.status, 200);
    const answer = JSON.parse(ready.body) as { status: string; checks: Record<string, boolean> };
    assert.equal(answer.status, 'ok');
    const metrics = await httpRequest({ port: pipeline.healthPort, path: '/metrics' });
    for (const stage of ['verify', 'dedup', 'validate', 'route', 'deliver']) {
      assert.match(metrics.body, new RegExp(`hookstream_stage_messages_total\\{[^}]*stage="${stage}"`), `${stage}'s series`);
    }
  });

  it('pipeline: a stage that turns unready makes the combined /readyz fail and name it', async () => {
    // Scenario: the broker goes away; every stage's NATS check fails, and the combined answer says which.
    await server.stopProcess();
    try {
      // Each stage notices the lost connection on its own clock, so the first
      // 503 can name one stage before the others: wait for the answer that
      // names both ingest and verify (every stage fails in the end).
      const failing = await waitFor(
        'the combined /readyz to fail, naming ingest and verify',
        async () => {
          const r = await httpRequest({ port: pipeline.healthPort, path: '/readyz' });
          if (r.status !== 503) return undefined;
          const stages = (JSON.parse(r.body) as { details?: { stages?: Record<string, unknown> } }).details?.stages;
          return stages?.verify !== 'ok' && stages?.ingest !== 'ok' ? r : undefined;
        },
        15_000,
        200,
      );
      assert.equal(failing.status, 503);
      const body = JSON.parse(failing.body) as { details?: { stages?: Record<string, unknown> } };
      assert.notEqual(body.details?.stages?.verify, 'ok', 'verify named as not ready');
      assert.notEqual(body.details?.stages?.ingest, 'ok', 'ingest named as not ready');
    } finally {
      await server.restart();
    }
    await waitFor(
      'the combined /readyz to pass again',
      async () => ((await httpRequest({ port: pipeline.healthPort, path: '/readyz' })).status === 200 ? true : undefined),
      30_000,
      200,
    );
  });
});
