import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  decodeOperationalEvent,
  Header,
  isOperationalKind,
  OPERATIONAL_SOURCE,
  type OperationalKind,
  type OperationalPayloadMap,
  operationalEventSubject,
} from '@hookstream/contracts';
import { buildApp as buildControl, loadConfig as controlConfig } from '@hookstream/control';
import { buildApp as buildDedup, loadConfig as dedupConfig } from '@hookstream/dedup';
import { buildApp as buildDeliver, loadConfig as deliverConfig } from '@hookstream/deliver';
import { buildApp as buildIngest, type IngestApp, loadConfig as ingestConfig } from '@hookstream/ingest';
import { EndpointStore, SourceStore } from '@hookstream/models';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { buildApp as buildRoute, loadConfig as routeConfig } from '@hookstream/route';
import { type App, createLogger, type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import {
  connectTestNats,
  type NatsServer,
  startEndpoint,
  startNatsServer,
  storedMessages,
  type TestEndpoint,
  waitFor,
} from '@hookstream/testkit';
import { buildApp as buildValidate, loadConfig as validateConfig } from '@hookstream/validate';
import { buildApp as buildVerify, loadConfig as verifyConfig } from '@hookstream/verify';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Webhook } from 'standardwebhooks';
import { postStripe } from './stripe.ts';

const NS = 'ops';
const t = topology(NS);
const STRIPE_SECRET = 'whsec_ops_stripe';
const PAGER_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const TOKEN = 'test-token-0123456789abcdef';
const logger = createLogger({ service: 'test', level: process.env.OPS_LOG ?? 'silent' });
// Rejection windows of an hour: a burst crosses a window boundary only if it runs over the hour.
const WINDOW_MS = 3_600_000;
const ALWAYS_FAILING = {
  retry: { initialDelayMs: 100, maxDelayMs: 100, maxAgeMs: 600 },
  circuit: { failureThreshold: 1000, openMs: 1_000 },
};

/** One operational event as a JetStream subscriber reads it on `hs.ops.{kind}`. */
interface Seen<K extends OperationalKind> {
  readonly eventId: string;
  readonly source: string | undefined;
  readonly data: OperationalPayloadMap[K];
}

describe('operational events across the pipeline', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let ingest: IngestApp;
  let api: ControlApi;
  let pager: TestEndpoint;
  let everything: TestEndpoint;
  let gone: TestEndpoint;
  let flaky: TestEndpoint;
  let dying: TestEndpoint;
  let opsDying: TestEndpoint;
  const receivers: TestEndpoint[] = [];
  const apps: App[] = [];

  const endpoint = async (respond?: Parameters<typeof startEndpoint>[0]): Promise<TestEndpoint> => {
    const ep = await startEndpoint(respond);
    receivers.push(ep);
    return ep;
  };

  /** The operational events of `kind` stored on their documented subject. */
  async function seen<K extends OperationalKind>(kind: K): Promise<Seen<K>[]> {
    const subject = `${NS}.${operationalEventSubject(kind)}`;
    return (await storedMessages(jsm, t.streams.ops, subject)).map((m) => {
      const event = decodeOperationalEvent(m.data);
      assert.equal(event.type, kind);
      return { eventId: m.header.get(Header.eventId), source: m.header.get(Header.source), data: event.data as OperationalPayloadMap[K] };
    });
  }

  const waitForEvent = <K extends OperationalKind>(kind: K, match: (d: OperationalPayloadMap[K]) => boolean, timeoutMs = 20_000) =>
    waitFor(
      `${kind} event`,
      async () => {
        const found = (await seen(kind)).filter((e) => match(e.data));
        return found.length > 0 ? found : undefined;
      },
      timeoutMs,
      50,
    );

  /** Waits until route and deliver have nothing left: every consumer of the pipe and delivery streams is drained. */
  const settled = () =>
    waitFor(
      'the pipeline to settle',
      async () => {
        for (const stream of [t.streams.pipe, t.streams.delivery]) {
          for await (const c of jsm.consumers.list(stream)) if (c.num_pending > 0 || c.num_ack_pending > 0) return undefined;
        }
        return true;
      },
      20_000,
      100,
    );

  let endpoints: EndpointStore;
  const addEndpoint = (e: object) => endpoints.put({ secrets: [{ id: 'k1', value: PAGER_SECRET }], ...e });

  const post = (type: string, source = 'stripe', secret = STRIPE_SECRET) =>
    postStripe(ingest.server().port, JSON.stringify({ id: `evt_${Math.random()}`, type }), secret, source);

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    pager = await endpoint();
    const sources = new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 }));
    await sources.put({ id: 'stripe', provider: 'stripe', secrets: [{ id: 'k1', value: STRIPE_SECRET }] });
    await sources.put({ id: 'noisy', provider: 'stripe', secrets: [{ id: 'k1', value: STRIPE_SECRET }] });
    endpoints = new EndpointStore(await openBucket(nats.nc, t.buckets.endpoints, { replicas: 1 }));
    // The team's endpoint for operational events: subscribed like to any source.
    await addEndpoint({ id: 'pager', url: pager.url, sources: [OPERATIONAL_SOURCE], eventTypes: ['*'] });
    // An endpoint of every source: operational events are opt-in, so it gets none.
    everything = await endpoint();
    await addEndpoint({ id: 'everything', url: everything.url, eventTypes: ['*'] });
    gone = await endpoint((_r, res) => {
      res.statusCode = 410;
      res.end('gone');
    });
    await addEndpoint({ id: 'gone', url: gone.url, sources: ['stripe'], eventTypes: ['gone.test'] });
    await addEndpoint({ id: 'manual', url: pager.url, sources: ['stripe'], eventTypes: ['manual.test'] });
    flaky = await endpoint((_r, res, nth) => {
      res.statusCode = nth === 1 ? 500 : 200; // nth counts from 1
      res.end();
    });
    await addEndpoint({
      id: 'flaky',
      url: flaky.url,
      sources: ['stripe'],
      eventTypes: ['flaky.test'],
      retry: { initialDelayMs: 100, maxDelayMs: 200, maxAgeMs: 60_000 },
      circuit: { failureThreshold: 1, openMs: 300 },
    });
    const failing: Parameters<typeof startEndpoint>[0] = (_r, res) => {
      res.statusCode = 500;
      res.end();
    };
    dying = await endpoint(failing);
    opsDying = await endpoint(failing);
    await addEndpoint({ id: 'dying', url: dying.url, sources: ['stripe'], eventTypes: ['dying.test'], ...ALWAYS_FAILING });
    await addEndpoint({
      id: 'ops-dying',
      url: opsDying.url,
      sources: [OPERATIONAL_SOURCE],
      eventTypes: ['delivery.exhausted'],
      ...ALWAYS_FAILING,
    });
    const env = { HS_NATS_URL: server.url, HS_NAMESPACE: NS, HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1' };
    ingest = buildIngest(ingestConfig({ ...env, HS_INGEST_PORT: '0', HS_INGEST_HOST: '127.0.0.1' }), { logger });
    const control = buildControl(
      controlConfig({ ...env, HS_CONTROL_PORT: '0', HS_CONTROL_HOST: '127.0.0.1', HS_CONTROL_TOKEN: TOKEN, HS_CONSOLE_PORT: '0' }),
      { logger },
    );
    apps.push(
      ingest,
      buildVerify(
        verifyConfig({
          ...env,
          HS_VERIFY_REJECTION_ALERT_PERCENT: '50',
          HS_VERIFY_REJECTION_ALERT_MIN_REQUESTS: '5',
          HS_VERIFY_REJECTION_ALERT_WINDOW_MS: String(WINDOW_MS),
        }),
        { logger, replica: 'verify-1' },
      ),
      buildDedup(dedupConfig(env), { logger }),
      buildValidate(validateConfig(env), { logger }),
      buildRoute(routeConfig(env), { logger }),
      buildDeliver(deliverConfig({ ...env, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32', HS_DELIVER_SCAN_INTERVAL_MS: '200' }), {
        logger,
        replica: 'deliver-1',
      }),
      control,
    );
    for (const app of apps) await app.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    for (const app of apps.reverse()) await app.close();
    for (const ep of receivers) await ep.close();
    await nats?.drain();
    await server?.stop();
  });

  it('operational events: a 410 disables the endpoint and publishes endpoint.disabled (gone) on hs.ops.endpoint.disabled', async () => {
    assert.equal((await post('gone.test')).status, 202);
    const [event] = await waitForEvent('endpoint.disabled', (d) => d.endpoint_id === 'gone');
    assert.equal(event?.source, OPERATIONAL_SOURCE);
    assert.equal(event?.data.reason, 'gone');
    assert.equal(typeof event?.data.at, 'number');
    assert.equal(gone.received.length, 1);
  });

  it('operational events: an HTTP endpoint subscribed to _hookstream receives them, signed like any delivery', async () => {
    const [event] = await waitForEvent('endpoint.disabled', (d) => d.endpoint_id === 'gone');
    const req = await waitFor('the pager to get endpoint.disabled', () =>
      pager.received.find((r) => r.headers['webhook-id'] === event?.eventId),
    );
    const headers = {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    };
    assert.deepEqual(new Webhook(PAGER_SECRET).verify(req.body, headers), {
      type: 'endpoint.disabled',
      data: { endpoint_id: 'gone', reason: 'gone', at: event?.data.at },
    });
    assert.equal(req.headers['content-type'], 'application/json');
    // Not for consumers of events.>, nor for an endpoint of every source.
    await settled();
    assert.ok(everything.received.length >= 1, 'the endpoint of every source got the provider event');
    for (const r of everything.received) assert.ok(!isOperationalKind(JSON.parse(r.body.toString()).type), r.body.toString());
    const onEvents = await storedMessages(jsm, t.streams.events);
    assert.deepEqual(
      onEvents.filter((m) => m.header.get(Header.source) === OPERATIONAL_SOURCE),
      [],
    );
  });

  it('operational events: an operator disable and enable through control publish endpoint.disabled and endpoint.enabled, once per change', async () => {
    await api.setEndpointEnabled({ id: 'manual', enabled: false });
    await api.setEndpointEnabled({ id: 'manual', enabled: false }); // no change, no event
    const [disabled] = await waitForEvent('endpoint.disabled', (d) => d.endpoint_id === 'manual');
    assert.equal(disabled?.data.reason, 'operator');
    await api.setEndpointEnabled({ id: 'manual', enabled: true });
    const [enabled] = await waitForEvent('endpoint.enabled', (d) => d.endpoint_id === 'manual');
    assert.equal(enabled?.data.reason, 'operator');
    await settled();
    assert.equal((await seen('endpoint.disabled')).filter((e) => e.data.endpoint_id === 'manual').length, 1);
    assert.equal((await seen('endpoint.enabled')).filter((e) => e.data.endpoint_id === 'manual').length, 1);
  });

  it('operational events: a circuit that opens and closes publishes circuit.opened then circuit.closed, naming the replica', async () => {
    assert.equal((await post('flaky.test')).status, 202);
    const [opened] = await waitForEvent('circuit.opened', (d) => d.endpoint_id === 'flaky');
    const [closed] = await waitForEvent('circuit.closed', (d) => d.endpoint_id === 'flaky');
    assert.equal(opened?.data.replica, 'deliver-1');
    assert.equal(closed?.data.replica, 'deliver-1');
    assert.ok((closed?.data.at ?? 0) > (opened?.data.at ?? Number.POSITIVE_INFINITY), 'closed after it opened');
    assert.equal(flaky.received.length, 2);
  });

  it('operational events: a delivery past its retry window publishes delivery.exhausted; one of an operational event does not (the loop guard)', async () => {
    // Scenario: `dying` always fails, so its task is dead-lettered
    // retries_exhausted and delivery.exhausted names it. `ops-dying` subscribes
    // to delivery.exhausted and always fails too: its own delivery of that
    // event runs out of retries and is dead-lettered, but announces nothing,
    // so it cannot feed itself more events.
    const answer = await post('dying.test');
    assert.equal(answer.status, 202);
    const eventId = (JSON.parse(answer.body) as { id: string }).id;
    const [exhausted] = await waitForEvent('delivery.exhausted', (d) => d.endpoint_id === 'dying');
    assert.equal(exhausted?.data.event_id, eventId);
    assert.equal(exhausted?.data.source, 'stripe');
    assert.equal(exhausted?.data.event_type, 'dying.test');
    assert.ok((exhausted?.data.attempts ?? 0) >= 2);
    await waitFor('ops-dying to be attempted', () => (opsDying.received.length >= 2 ? true : undefined));
    const [dead] = await waitFor('the operational delivery to be dead-lettered', async () => {
      const found = await storedMessages(jsm, t.streams.dlq, t.dlq('deliver', 'ops-dying'));
      return found.length > 0 ? found : undefined;
    });
    assert.equal(dead?.header.get(Header.dlqReason), 'retries_exhausted');
    await settled();
    const all = await seen('delivery.exhausted');
    assert.deepEqual(
      all.map((e) => e.data.endpoint_id),
      ['dying'],
    );
  });

  it('operational events: a burst of bad signatures over the threshold publishes one source.rejection_rate per window', async () => {
    const startedAt = Date.now();
    for (let i = 0; i < 12; i++) assert.equal((await post('noise.test', 'noisy', 'whsec_not_the_secret')).status, 202);
    const endedAt = Date.now();
    const [event] = await waitForEvent('source.rejection_rate', (d) => d.source === 'noisy');
    assert.equal(event?.data.window_ms, WINDOW_MS);
    assert.equal(event?.data.threshold, 0.5);
    assert.equal(event?.data.replica, 'verify-1');
    assert.equal(event?.data.rejected, event?.data.total);
    assert.ok((event?.data.total ?? 0) >= 5);
    // Every bad request counted and every alert routed before counting them.
    await waitFor('12 rejection records', async () => {
      const records = (await storedMessages(jsm, t.streams.obs, t.obs('rejection'))).filter(
        (m) => (JSON.parse(Buffer.from(m.data).toString()) as { source: string }).source === 'noisy',
      );
      return records.length >= 12 ? true : undefined;
    });
    await settled();
    const windows = Math.floor(endedAt / WINDOW_MS) - Math.floor(startedAt / WINDOW_MS) + 1;
    const events = (await seen('source.rejection_rate')).filter((e) => e.data.source === 'noisy');
    assert.ok(events.length >= 1 && events.length <= windows, `${events.length} events over ${windows} window(s)`);
    assert.equal(new Set(events.map((e) => e.data.window_start)).size, events.length, 'one per window');
  });
});
