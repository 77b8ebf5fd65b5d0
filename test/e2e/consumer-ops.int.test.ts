import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type AnyOperationalEvent,
  consume,
  deadLetterStream,
  ensureConsumer,
  ensureDeadLetterStream,
  type HookstreamEvent,
  operationalEvent,
  PermanentError,
} from '@hookstream/consumer';
import { Header, OPERATIONAL_SOURCE, type OperationalKind, type OperationalPayloadMap } from '@hookstream/contracts';
import { buildApp, type PipelineApp } from '@hookstream/pipeline';
import { createLogger, publishOperationalEvent, topology } from '@hookstream/runtime';
import { freePort, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

const NS = 'kitops';
const t = topology(NS);

/**
 * The HS_OPS permissions packages/consumer/README.md ("Operational events")
 * tells operators to grant a team (here `oncall`, in namespace NS), next to a
 * gateway user with every permission: the test runs the kit as `oncall`.
 */
const AUTHORIZATION = `authorization {
  users = [
    { user: gateway, password: gateway-pw }
    { user: oncall, password: oncall-pw, permissions: {
      publish: { allow: [
        "$JS.API.INFO",
        "$JS.API.CONSUMER.INFO.${NS}_HS_OPS.oncall",
        "$JS.API.CONSUMER.DURABLE.CREATE.${NS}_HS_OPS.oncall",
        "$JS.API.CONSUMER.MSG.NEXT.${NS}_HS_OPS.oncall",
        "$JS.ACK.${NS}_HS_OPS.oncall.>",
        "${NS}.teams.oncall.dlq",
        "$JS.API.STREAM.INFO.${NS}_TEAM_oncall_DLQ",
        "$JS.API.STREAM.CREATE.${NS}_TEAM_oncall_DLQ"
      ] }
      subscribe: { allow: ["_INBOX.>"] }
    } }
  ]
}`;

describe('consumer kit: operational events from the real pipeline, read with @hookstream/consumer', () => {
  let server: NatsServer;
  let gateway: NatsConnection;
  let oncall: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  let pipeline: PipelineApp;
  const loops: { controller: AbortController; done: Promise<unknown> }[] = [];

  before(async () => {
    server = await startNatsServer({ extraConfig: AUTHORIZATION });
    gateway = await connect({ servers: server.url, user: 'gateway', pass: 'gateway-pw' });
    jsm = await jetstreamManager(gateway);
    js = jetstream(gateway);
    oncall = await connect({ servers: server.url, user: 'oncall', pass: 'oncall-pw' });
    // Route (in the pipeline) creates HS_OPS and moves operational events from hs.valid._hookstream to hs.ops.{kind}.
    pipeline = buildApp(
      {
        HS_NATS_URL: server.url,
        HS_NATS_USER: 'gateway',
        HS_NATS_PASSWORD: 'gateway-pw',
        HS_NAMESPACE: NS,
        HS_MASTER_KEY: randomBytes(32).toString('base64'),
        HS_INGEST_PORT: String(await freePort()),
        HS_INGEST_HOST: '127.0.0.1',
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
      },
      { logger: createLogger({ service: 'pipeline', level: 'warn' }) },
    );
    await pipeline.run();
  });

  after(async () => {
    for (const loop of loops) loop.controller.abort();
    await Promise.all(loops.map((l) => l.done));
    await pipeline?.close();
    await oncall?.drain();
    await gateway?.drain();
    await server?.stop();
  });

  /** Publishes an operational event the way control and deliver do (publishOperationalEvent onto hs.valid._hookstream). */
  const publish = <K extends OperationalKind>(type: K, data: OperationalPayloadMap[K]) =>
    publishOperationalEvent({ publish: (subject, body, h) => js.publish(subject, body, { headers: h }) }, t, type, data, Date.now());

  it('consumer: an operational consumer reads hs.ops by kind, acks, dead-letters to the team dlq; an events consumer never sees them', async () => {
    const oncallJsm = await jetstreamManager(oncall);
    await ensureDeadLetterStream(oncallJsm, { team: 'oncall', namespace: NS });
    const info = await ensureConsumer(oncallJsm, {
      team: 'oncall',
      operational: true,
      types: ['endpoint.*', 'delivery.exhausted'],
      namespace: NS,
    });
    assert.equal(info.stream_name, t.streams.ops);
    // A team reading every provider event, from the start of the stream: operational events are not among them.
    await ensureConsumer(jsm, { team: 'billing', startAt: 'all', namespace: NS });

    const seen: { event: HookstreamEvent; ops: AnyOperationalEvent }[] = [];
    const controller = new AbortController();
    const done = consume(
      jetstream(oncall),
      'oncall',
      (event) => {
        const ops = operationalEvent(event);
        seen.push({ event, ops });
        if (ops.type === 'delivery.exhausted') throw new PermanentError('cannot page for this one');
      },
      { signal: controller.signal, namespace: NS, operational: true },
    );
    loops.push({ controller, done });

    const at = Date.now();
    // Scenario: an endpoint disabled, a circuit opened (not in the team's kinds), then an exhausted delivery the handler refuses.
    const disabledId = await publish('endpoint.disabled', { endpoint_id: 'ep-ops', reason: 'operator', at });
    const circuitId = await publish('circuit.opened', { endpoint_id: 'ep-ops', replica: 'deliver-1', at });
    const exhaustedId = await publish('delivery.exhausted', {
      endpoint_id: 'ep-ops',
      event_id: 'evt-ops-1',
      source: 'stripe',
      event_type: 'invoice.paid',
      attempts: 9,
      at,
    });
    await waitFor('both events handled', () => (seen.length >= 2 ? true : undefined), 30_000, 50);
    const dlq = await waitFor(
      'the exhausted delivery in the team dlq',
      async () => {
        const found = (await storedMessages(jsm, deadLetterStream('oncall', NS))).filter(
          (m) => m.header.get(Header.eventId) === exhaustedId,
        );
        return found.length > 0 ? found : undefined;
      },
      30_000,
      50,
    );
    // Every operational event, circuit.opened included, reached HS_OPS: the filter is what kept one from the team.
    const stored = (await storedMessages(jsm, t.streams.ops)).map((m) => m.header.get(Header.eventId));
    assert.deepEqual(new Set(stored), new Set([disabledId, circuitId, exhaustedId]));

    assert.deepEqual(
      seen.map((s) => [s.event.id, s.ops.type]),
      [
        [disabledId, 'endpoint.disabled'],
        [exhaustedId, 'delivery.exhausted'],
      ],
    );
    const [first] = seen;
    assert.equal(first?.event.source, OPERATIONAL_SOURCE);
    assert.equal(first?.event.subject, `${NS}.hs.ops.endpoint.disabled`);
    assert.deepEqual(first?.ops.data, { endpoint_id: 'ep-ops', reason: 'operator', at });
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0]?.header.get('hs-dlq-reason'), 'permanent_error');
    assert.equal(dlq[0]?.header.get(Header.source), OPERATIONAL_SOURCE);

    // Both settled: nothing pending or awaiting an ack on the operational consumer.
    const ops = await waitFor(
      'the operational consumer drained',
      async () => {
        const i = await jsm.consumers.info(t.streams.ops, 'oncall');
        return i.num_pending === 0 && i.num_ack_pending === 0 ? i : undefined;
      },
      10_000,
      50,
    );
    assert.equal(ops.delivered.consumer_seq, 2, 'two deliveries, no redelivery');
    const billing = await jsm.consumers.info(t.streams.events, 'billing');
    assert.equal(billing.num_pending, 0);
    assert.equal(billing.delivered.stream_seq, 0, 'the events consumer was never offered an operational event');

    controller.abort();
    assert.deepEqual(await done, { acked: 1, naked: 0, deadLettered: 1 });
  });
});
