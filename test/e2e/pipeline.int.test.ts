import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Header, type NatsHandle, openBucket, SchemaStore, SourceStore, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, httpRequest, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import Stripe from 'stripe';
import { type ServiceProcess, startService } from './processes.ts';

const STRIPE_SECRET = 'whsec_e2e_secret';
const t = topology('e2e');

describe('the pipeline, every service a real process', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  const services: ServiceProcess[] = [];
  let ingestPort: number;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({
      id: 'stripe',
      provider: 'stripe',
      secrets: [{ id: 'k1', value: STRIPE_SECRET }],
    });
    await new SchemaStore(await openBucket(nats.nc, t.buckets.schemas, { replicas: 1 })).put('stripe', 'payment_intent.succeeded', {
      type: 'object',
      required: ['id', 'type', 'data'],
      properties: { id: { type: 'string' }, type: { type: 'string' }, data: { type: 'object' } },
    });
    ingestPort = await freePort();
    const env = { HS_NATS_URL: server.url, HS_NAMESPACE: 'e2e' };
    services.push(await startService('ingest', { ...env, HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' }));
    for (const name of ['verify', 'dedup', 'validate', 'route']) services.push(await startService(name, env));
  });

  after(async () => {
    for (const s of services.reverse()) assert.equal(await s.stop(), 0, `${s.name} exits cleanly`);
    await nats?.drain();
    await server?.stop();
  });

  const post = (body: string, secret = STRIPE_SECRET) =>
    httpRequest({
      port: ingestPort,
      path: '/v1/webhooks/stripe',
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Math.floor(Date.now() / 1000) }),
      },
    });

  it('e2e: signed events reach events.* once; retries, forgeries and schema breaks are handled', async () => {
    const event = (id: string, extra = '') => `{"id":"${id}","type":"payment_intent.succeeded","data":{"object":{"amount":100}}${extra}}`;
    const accepted: Record<string, string> = {};
    for (let i = 0; i < 20; i++) {
      const r = await post(event(`evt_${i}`));
      assert.equal(r.status, 202);
      accepted[`evt_${i}`] = (JSON.parse(r.body) as { id: string }).id;
    }
    // Stripe retries five of them (same provider id, new request).
    for (let i = 0; i < 5; i++) assert.equal((await post(event(`evt_${i}`))).status, 202);
    const forged = JSON.parse((await post(event('evt_forged'), 'whsec_attacker')).body) as { id: string };
    const broken = JSON.parse((await post('{"id":"evt_broken","type":"payment_intent.succeeded"}')).body) as { id: string };

    const events = await waitFor(
      '20 events on events.*',
      async () => {
        const all = await storedMessages(jsm, t.streams.events);
        return all.length >= 20 ? all : undefined;
      },
      30_000,
      100,
    );
    await waitFor('dead letters', async () => ((await storedMessages(jsm, t.streams.dlq)).length >= 2 ? true : undefined), 30_000, 100);
    // Give stragglers a moment to show up if anything were duplicated.
    await new Promise((r) => setTimeout(r, 500));
    const final = await storedMessages(jsm, t.streams.events);
    assert.equal(final.length, 20, 'exactly one event per provider id');
    assert.deepEqual(
      new Set(final.map((m) => m.header.get(Header.eventId))),
      new Set(Object.values(accepted)),
      'the first delivery of each',
    );
    assert.ok(events.every((m) => m.subject === t.events('stripe', 'payment_intent.succeeded')));
    const dlq = await storedMessages(jsm, t.streams.dlq);
    assert.equal(dlq.find((m) => m.header.get(Header.eventId) === forged.id)?.header.get(Header.dlqReason), 'bad_signature');
    assert.equal(dlq.find((m) => m.header.get(Header.eventId) === broken.id)?.header.get(Header.dlqReason), 'schema_violation');
    const duplicates = await storedMessages(jsm, t.streams.obs, t.obs('duplicate'));
    assert.equal(duplicates.length, 5);
  });
});
