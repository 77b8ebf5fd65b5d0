import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { EndpointStore } from '@hookstream/models';
import { buildApp, loadConfig, type RouteApp } from '@hookstream/route';
import { AckingPublisher, ensureStreams, type NatsHandle, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { FILTER_ERROR } from '../src/app.ts';

const SECRETS = [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }];
const t = topology('rt');

describe('route against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let app: RouteApp;
  let store: EndpointStore;
  let publisher: AckingPublisher;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    store = new EndpointStore(await openBucket(nats.nc, t.buckets.endpoints, { replicas: 1 }));
    await store.put({ id: 'everything', url: 'https://a.example/h', secrets: SECRETS });
    await store.put({ id: 'payments', url: 'https://b.example/h', secrets: SECRETS, eventTypes: ['payment_intent.*'] });
    await store.put({
      id: 'big-payments',
      url: 'https://c.example/h',
      secrets: SECRETS,
      eventTypes: ['payment_intent.*'],
      filter: 'data.data.object.amount >= 1000',
    });
    app = buildApp(
      loadConfig({ HS_NATS_URL: server.url, HS_NAMESPACE: 'rt', HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1', HS_LOG_LEVEL: 'silent' }),
    );
    await app.run();
    publisher = new AckingPublisher(nats.nc, 5_000);
  });

  after(async () => {
    publisher?.close();
    await app?.close();
    await nats?.drain();
    await server?.stop();
  });

  async function publishValid(eventId: string, type: string, body: string, source = 'stripe'): Promise<void> {
    const h = headers();
    h.set('Nats-Msg-Id', `${eventId}:validate`);
    h.set(Header.eventId, eventId);
    h.set(Header.source, source);
    h.set(Header.eventType, type);
    h.set(Header.receivedAt, String(Date.now()));
    h.set('hs-h-content-type', 'application/json');
    await publisher.publish(t.valid(source), new TextEncoder().encode(body), h);
  }

  const tasksFor = async (eventId: string) =>
    (await storedMessages(jsm, t.streams.delivery)).filter((m) => m.header.get(Header.eventId) === eventId);

  it('route: every event reaches events.{source}.{type}, and tasks go to the 3 endpoints by pattern and filter', async () => {
    const big = '{"type":"payment_intent.succeeded","data":{"object":{"amount":5000}}}';
    const small = '{"type":"payment_intent.succeeded","data":{"object":{"amount":10}}}';
    const other = '{"type":"customer.created","data":{"object":{}}}';
    await publishValid('big', 'payment_intent.succeeded', big);
    await publishValid('small', 'payment_intent.succeeded', small);
    await publishValid('other', 'customer.created', other);

    const events = await waitFor('three events', async () => {
      const all = await storedMessages(jsm, t.streams.events);
      return all.length === 3 ? all : undefined;
    });
    const bigEvent = events.find((m) => m.header.get(Header.eventId) === 'big');
    assert.equal(bigEvent?.subject, t.events('stripe', 'payment_intent.succeeded'));
    assert.equal(Buffer.from(bigEvent?.data ?? []).toString(), big, 'body untouched');
    assert.equal(events.find((m) => m.header.get(Header.eventId) === 'other')?.subject, 'rt.events.stripe.customer.created');

    await waitFor('all tasks', async () => ((await storedMessages(jsm, t.streams.delivery)).length === 6 ? true : undefined));
    const endpointsOf = async (id: string) => (await tasksFor(id)).map((m) => m.header.get(Header.endpointId)).sort();
    assert.deepEqual(await endpointsOf('big'), ['big-payments', 'everything', 'payments']);
    assert.deepEqual(await endpointsOf('small'), ['everything', 'payments']);
    assert.deepEqual(await endpointsOf('other'), ['everything']);
    const task = (await tasksFor('big')).find((m) => m.header.get(Header.endpointId) === 'payments');
    assert.equal(task?.subject, t.deliver('payments'));
    assert.equal(task?.header.get('Nats-Msg-Id'), 'big:payments');
    assert.equal(Buffer.from(task?.data ?? []).toString(), big);
  });

  it('route: a filter that errors at run time dead-letters that endpoint only; the rest still route', async () => {
    await store.put({ id: 'fragile', url: 'https://d.example/h', secrets: SECRETS, filter: 'data.metadata.tier == "gold"' });
    await waitFor('endpoint picked up', async () => {
      await publishValid(`probe-${Date.now()}`, 'probe', '{"metadata":{"tier":"gold"}}');
      return (await storedMessages(jsm, t.streams.delivery)).some((m) => m.header.get(Header.endpointId) === 'fragile') ? true : undefined;
    });
    await publishValid('no-metadata', 'invoice.paid', '{"id":"in_1"}');
    const dead = await waitFor('filter dead letter', async () =>
      (await storedMessages(jsm, t.streams.dlq)).find((m) => m.header.get(Header.eventId) === 'no-metadata'),
    );
    assert.equal(dead.subject, t.dlq('route', 'stripe'));
    assert.equal(dead.header.get(Header.dlqReason), FILTER_ERROR);
    assert.equal(dead.header.get(Header.endpointId), 'fragile');
    assert.match(dead.header.get(Header.dlqDetail), /fragile/);
    await waitFor('task to everything', async () => ((await tasksFor('no-metadata')).length === 1 ? true : undefined));
    assert.equal((await tasksFor('no-metadata'))[0]?.header.get(Header.endpointId), 'everything');
    assert.equal(app.worker().healthy(), true);
    await store.delete('fragile');
  });

  it('route: an endpoint disabled by deliver (410) gets no new tasks', async () => {
    const state = await openBucket(nats.nc, t.buckets.endpointState, { replicas: 1 });
    await state.put('payments', JSON.stringify({ disabled: true, reason: 'gone', at: Date.now() }));
    await waitFor('state applied', async () => {
      const id = `after-${Date.now()}`;
      await publishValid(id, 'payment_intent.created', '{"data":{"object":{"amount":1}}}');
      const tasks = await waitFor('routed', async () => {
        const ts = await tasksFor(id);
        return ts.length > 0 ? ts : undefined;
      });
      return tasks.every((m) => m.header.get(Header.endpointId) !== 'payments') ? true : undefined;
    });
    await state.delete('payments');
  });

  it("route: a filter whose nested comprehensions explode is cut by its budget (filter_error) and another source's event is not delayed", async () => {
    // Scenario: the probe. Nested all() over a 300-element list is
    // 27 million iterations (5.2 s of one stage for every source); the
    // budget (100,000 steps or 100 ms) ends it with a filter_error for that
    // endpoint. The clock starts before the hostile publish: route runs in
    // this process, so a stall would hold this test's next publish as well.
    await store.put({
      id: 'hostile',
      url: 'https://e.example/h',
      secrets: SECRETS,
      sources: ['attacker'],
      filter: 'data.items.all(x, data.items.all(y, data.items.all(z, true)))',
    });
    await waitFor('endpoint picked up', async () => {
      const id = `probe-${Date.now()}`;
      await publishValid(id, 'probe', '{"items":[1]}', 'attacker');
      const tasks = await waitFor('probe routed', async () => {
        const ts = await tasksFor(id);
        return ts.length > 0 ? ts : undefined;
      });
      return tasks.some((m) => m.header.get(Header.endpointId) === 'hostile') ? true : undefined;
    });
    const items = JSON.stringify({ items: Array.from({ length: 300 }, (_, i) => i) });
    const sent = Date.now();
    await publishValid('cube', 'probe', items, 'attacker');
    await publishValid('unrelated', 'customer.created', '{"id":"cus_1"}');
    const passed = await waitFor('the unrelated event', async () =>
      (await storedMessages(jsm, t.streams.events)).find((m) => m.header.get(Header.eventId) === 'unrelated'),
    );
    const delay = passed.time.getTime() - sent;
    assert.ok(delay < 1_000, `the unrelated event waited ${delay} ms`);
    const dead = await waitFor('budget dead letter', async () =>
      (await storedMessages(jsm, t.streams.dlq)).find((m) => m.header.get(Header.eventId) === 'cube'),
    );
    assert.equal(dead.subject, t.dlq('route', 'attacker'));
    assert.equal(dead.header.get(Header.dlqReason), FILTER_ERROR);
    assert.equal(dead.header.get(Header.endpointId), 'hostile');
    assert.match(
      dead.header.get(Header.dlqDetail),
      /^endpoint hostile: filter budget exceeded: (more than 100000 steps|ran longer than 100 ms)/,
    );
    await waitFor('the hostile event still reaches events.attacker.probe', async () =>
      (await storedMessages(jsm, t.streams.events, t.events('attacker', 'probe'))).some((m) => m.header.get(Header.eventId) === 'cube')
        ? true
        : undefined,
    );
    assert.equal(app.worker().healthy(), true);
    await store.delete('hostile');
  });
});
