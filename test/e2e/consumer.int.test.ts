import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  consume,
  deadLetterStream,
  type EventHandler,
  ensureConsumer,
  ensureDeadLetterStream,
  type HookstreamEvent,
  PermanentError,
} from '@hookstream/consumer';
import { Header, MSG_ID_HEADER } from '@hookstream/contracts';
import { SourceStore } from '@hookstream/models';
import { buildApp, type PipelineApp } from '@hookstream/pipeline';
import { createLogger, openBucket, secretBoxFromEnv, topology } from '@hookstream/runtime';
import { freePort, httpRequest, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { postStripe } from './stripe.ts';

const NS = 'kit';
const t = topology(NS);
const MASTER_KEY = randomBytes(32).toString('base64');
const STRIPE_SECRET = 'whsec_consumer_kit';
const SLACK_SECRET = 'slack_signing_secret_consumer_kit';

/**
 * The permissions packages/consumer/README.md tells operators to grant a team
 * (here `billing`, in namespace NS), next to a gateway user with every
 * permission: the test below runs the kit as `billing`.
 */
const AUTHORIZATION = `authorization {
  users = [
    { user: gateway, password: gateway-pw }
    { user: billing, password: billing-pw, permissions: {
      publish: { allow: [
        "$JS.API.INFO",
        "$JS.API.CONSUMER.INFO.${NS}_HS_EVENTS.billing",
        "$JS.API.CONSUMER.DURABLE.CREATE.${NS}_HS_EVENTS.billing",
        "$JS.API.CONSUMER.MSG.NEXT.${NS}_HS_EVENTS.billing",
        "$JS.ACK.${NS}_HS_EVENTS.billing.>",
        "${NS}.teams.billing.dlq",
        "$JS.API.STREAM.INFO.${NS}_TEAM_billing_DLQ",
        "$JS.API.STREAM.CREATE.${NS}_TEAM_billing_DLQ"
      ] }
      subscribe: { allow: ["_INBOX.>"] }
    } }
  ]
}`;

/** POSTs a Slack interactivity request (form body, `payload=` JSON) signed as Slack signs: `v0=` HMAC of `v0:{ts}:{body}`. */
function postSlack(port: number, payload: unknown) {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
  return httpRequest({
    port,
    path: '/v1/webhooks/slack',
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-signature': signature, 'x-slack-request-timestamp': ts },
  });
}

describe('consumer kit: events from the real pipeline, read with @hookstream/consumer', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let pipeline: PipelineApp;
  let ingestPort: number;
  const loops: { controller: AbortController; done: Promise<unknown> }[] = [];

  before(async () => {
    server = await startNatsServer({ extraConfig: AUTHORIZATION });
    nc = await connect({ servers: server.url, user: 'gateway', pass: 'gateway-pw' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    const sources = new SourceStore(
      await openBucket(nc, t.buckets.sources, { replicas: 1 }),
      secretBoxFromEnv({ HS_MASTER_KEY: MASTER_KEY }),
    );
    await sources.put({ id: 'stripe', provider: 'stripe', secrets: [{ id: 'k1', value: STRIPE_SECRET }] });
    await sources.put({
      id: 'slack',
      provider: 'slack',
      secrets: [{ id: 'slack-2026', value: SLACK_SECRET }],
      eventType: { from: 'json', path: '$.payload.type' },
    });
    ingestPort = await freePort();
    // The six stages in this process, each its own buildApp, as @hookstream/pipeline runs them in production.
    pipeline = buildApp(
      {
        HS_NATS_URL: server.url,
        HS_NATS_USER: 'gateway',
        HS_NATS_PASSWORD: 'gateway-pw',
        HS_NAMESPACE: NS,
        HS_MASTER_KEY: MASTER_KEY,
        HS_INGEST_PORT: String(ingestPort),
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
    await nc?.drain();
    await server?.stop();
  });

  /** Starts a consume loop for `team` that records every event it handles; stopped in after(). */
  const run = (team: string, handler: EventHandler = () => {}, client: JetStreamClient = js) => {
    const seen: HookstreamEvent[] = [];
    const controller = new AbortController();
    const done = consume(
      client,
      team,
      async (e) => {
        seen.push(e);
        await handler(e);
      },
      { signal: controller.signal, namespace: NS },
    );
    loops.push({ controller, done });
    return { seen, controller, done };
  };

  const postEvent = async (type: string, extra: Record<string, unknown> = {}) => {
    const body = JSON.stringify({ id: `evt_${randomBytes(6).toString('hex')}`, type, data: { object: extra } });
    const r = await postStripe(ingestPort, body, STRIPE_SECRET);
    assert.equal(r.status, 202, r.body);
    return { body, eventId: (JSON.parse(r.body) as { id: string }).id };
  };

  const deadLetters = async (team: string, eventId: string) =>
    (await storedMessages(jsm, deadLetterStream(team, NS))).filter((m) => m.header.get(Header.eventId) === eventId);

  it('consumer: a JSON event from the pipeline parses with every envelope field', async () => {
    await ensureConsumer(jsm, { team: 'json', sources: ['stripe'], types: ['payment_intent.succeeded'], namespace: NS });
    const { seen } = run('json');
    const before = Date.now();
    const { body, eventId } = await postEvent('payment_intent.succeeded', { amount: 4200 });
    const e = await waitFor('the event', () => seen.find((x) => x.id === eventId), 30_000, 50);
    assert.equal(e.source, 'stripe');
    assert.equal(e.type, 'payment_intent.succeeded');
    assert.equal(e.subject, t.events('stripe', 'payment_intent.succeeded'));
    assert.ok(e.receivedAt.getTime() >= before - 1_000 && e.receivedAt.getTime() <= Date.now(), 'received just now');
    assert.equal(e.verifiedSecretId, 'k1');
    assert.equal(e.idempotencyKey, (JSON.parse(body) as { id: string }).id);
    assert.equal(e.providerHeaders['content-type'], 'application/json');
    assert.match(e.providerHeaders['stripe-signature'] ?? '', /^t=\d+,v1=/);
    assert.equal(Buffer.from(e.raw).toString('utf8'), body, 'the raw bytes, untouched');
    assert.deepEqual(e.json(), JSON.parse(body));
    assert.equal(e.deliveryCount, 1);
  });

  it('consumer: a Slack form body parses, payload decoded', async () => {
    await ensureConsumer(jsm, { team: 'slackers', sources: ['slack'], namespace: NS });
    const { seen } = run('slackers');
    const payload = { type: 'block_actions', trigger_id: randomBytes(6).toString('hex'), user: { id: 'U1' } };
    const r = await postSlack(ingestPort, payload);
    assert.equal(r.status, 202, r.body);
    const eventId = (JSON.parse(r.body) as { id: string }).id;
    const e = await waitFor('the Slack event', () => seen.find((x) => x.id === eventId), 30_000, 50);
    assert.equal(e.type, 'block_actions');
    assert.equal(e.verifiedSecretId, 'slack-2026');
    assert.equal(e.providerHeaders['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(e.form().payload, payload);
  });

  it('consumer: filters by source and type; ensureConsumer again is idempotent and updates filters', async () => {
    const options = { team: 'customers', sources: ['stripe'], types: ['customer.*'], namespace: NS };
    const first = await ensureConsumer(jsm, options);
    const again = await ensureConsumer(jsm, options);
    assert.deepEqual(again.config.filter_subjects, first.config.filter_subjects);
    assert.equal(again.created, first.created, 'the same consumer');
    const { seen } = run('customers');
    // Scenario: a payment, a Slack action and a customer event arrive in that order; only the last is the team's.
    const payment = await postEvent('payment_intent.succeeded');
    const slack = await postSlack(ingestPort, { type: 'block_actions', trigger_id: randomBytes(6).toString('hex') });
    assert.equal(slack.status, 202);
    const customer = await postEvent('customer.created');
    const slackId = (JSON.parse(slack.body) as { id: string }).id;
    await waitFor(
      'all three on events.*',
      async () => {
        const ids = new Set((await storedMessages(jsm, t.streams.events)).map((m) => m.header.get(Header.eventId)));
        return [payment.eventId, slackId, customer.eventId].every((id) => ids.has(id)) ? true : undefined;
      },
      30_000,
      50,
    );
    // All three are stored, so the consumer's pending count covers each one its filter matches.
    await waitFor(
      'the consumer to have handled everything it matches',
      async () => {
        const info = await jsm.consumers.info(t.streams.events, 'customers');
        return info.num_pending === 0 && info.num_ack_pending === 0 && seen.length > 0 ? true : undefined;
      },
      30_000,
      50,
    );
    assert.deepEqual(
      seen.map((x) => x.id),
      [customer.eventId],
    );
    const updated = await ensureConsumer(jsm, { ...options, types: ['customer.*', 'invoice.>'] });
    assert.deepEqual(updated.config.filter_subjects, [`${NS}.events.stripe.customer.*`, `${NS}.events.stripe.invoice.>`]);
  });

  it('consumer: a thrown error is redelivered with the backoff, then acked', async () => {
    await ensureConsumer(jsm, { team: 'flaky', sources: ['stripe'], types: ['charge.refunded'], backoffMs: [300, 600], namespace: NS });
    const times: number[] = [];
    const { seen } = run('flaky', (e) => {
      times.push(Date.now());
      if (e.deliveryCount < 3) throw new Error('downstream unavailable');
    });
    const { eventId } = await postEvent('charge.refunded');
    await waitFor('the third delivery', () => (seen.filter((x) => x.id === eventId).length >= 3 ? true : undefined), 30_000, 50);
    assert.deepEqual(
      seen.map((x) => x.deliveryCount),
      [1, 2, 3],
    );
    const [t1 = 0, t2 = 0, t3 = 0] = times;
    assert.ok(t2 - t1 >= 250, `first retry after the 300 ms backoff (${t2 - t1} ms)`);
    assert.ok(t3 - t2 >= 550, `second retry after the 600 ms backoff (${t3 - t2} ms)`);
    await waitFor(
      'the ack',
      async () => {
        const info = await jsm.consumers.info(t.streams.events, 'flaky');
        return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined;
      },
      10_000,
      50,
    );
  });

  it('consumer: after max deliver the event is dead-lettered to teams.{team}.dlq and termed', async () => {
    await ensureDeadLetterStream(jsm, { team: 'doomed', namespace: NS });
    await ensureConsumer(jsm, {
      team: 'doomed',
      sources: ['stripe'],
      types: ['charge.failed'],
      maxDeliver: 3,
      backoffMs: [100],
      namespace: NS,
    });
    const { seen } = run('doomed', () => {
      throw new Error('always fails');
    });
    const { body, eventId } = await postEvent('charge.failed');
    const [dead] = await waitFor(
      'the dead letter',
      async () => {
        const d = await deadLetters('doomed', eventId);
        return d.length > 0 ? d : undefined;
      },
      30_000,
      100,
    );
    assert.ok(dead);
    assert.equal(dead.subject, `${NS}.teams.doomed.dlq`);
    assert.equal(dead.header.get(Header.dlqStage), 'consumer');
    assert.equal(dead.header.get(Header.dlqReason), 'max_deliver_exceeded');
    assert.equal(dead.header.get(Header.dlqDeliveries), '3');
    assert.equal(dead.header.get(Header.dlqSubject), t.events('stripe', 'charge.failed'));
    assert.match(dead.header.get(Header.dlqDetail), /always fails/);
    assert.equal(dead.header.get(MSG_ID_HEADER), `${eventId}:dlq:${NS}.teams.doomed.dlq`);
    assert.equal(dead.header.get(Header.source), 'stripe', 'the envelope is kept');
    assert.equal(Buffer.from(dead.data).toString('utf8'), body);
    assert.equal(seen.filter((x) => x.id === eventId).length, 3);
    const info = await jsm.consumers.info(t.streams.events, 'doomed');
    assert.equal(info.num_ack_pending, 0, 'termed, not redelivered');
  });

  it('consumer: a PermanentError dead-letters at once', async () => {
    await ensureDeadLetterStream(jsm, { team: 'strict', namespace: NS });
    await ensureConsumer(jsm, { team: 'strict', sources: ['stripe'], types: ['charge.disputed'], namespace: NS });
    const { seen } = run('strict', () => {
      throw new PermanentError('unknown currency');
    });
    const { eventId } = await postEvent('charge.disputed');
    const [dead] = await waitFor(
      'the dead letter',
      async () => {
        const d = await deadLetters('strict', eventId);
        return d.length > 0 ? d : undefined;
      },
      30_000,
      100,
    );
    assert.equal(dead?.header.get(Header.dlqReason), 'permanent_error');
    assert.equal(dead?.header.get(Header.dlqDeliveries), '1');
    assert.match(dead?.header.get(Header.dlqDetail) ?? '', /PermanentError: unknown currency/);
    assert.equal(seen.filter((x) => x.id === eventId).length, 1, 'not retried');
  });

  it('consumer: a message that is not a hookstream event never reaches the handler and is dead-lettered', async () => {
    await ensureDeadLetterStream(jsm, { team: 'guarded', namespace: NS });
    await ensureConsumer(jsm, { team: 'guarded', sources: ['stripe'], types: ['forged'], namespace: NS });
    const { seen } = run('guarded');
    const h = headers();
    h.set(Header.source, 'stripe');
    const ack = await js.publish(t.events('stripe', 'forged'), new TextEncoder().encode('{"not":"an event"}'), { headers: h });
    const dead = await waitFor(
      'the dead letter',
      async () => {
        const d = (await storedMessages(jsm, deadLetterStream('guarded', NS))).find(
          (m) => m.header.get(Header.dlqReason) === 'not_a_hookstream_event',
        );
        return d;
      },
      30_000,
      100,
    );
    assert.match(dead.header.get(Header.dlqDetail), /hs-event-id is missing/);
    assert.equal(dead.header.get(MSG_ID_HEADER), `${t.streams.events}:${ack.seq}:dlq:${NS}.teams.guarded.dlq`);
    assert.equal(seen.length, 0);
  });

  it("consumer: startAt 'new' does not replay history; 'all' does", async () => {
    // Scenario: events exist before either consumer; 'all' gets them, 'new' only the one posted afterwards.
    const old = await postEvent('refund.created');
    await waitFor(
      'the old event on events.*',
      async () => {
        const stored = await storedMessages(jsm, t.streams.events, t.events('stripe', 'refund.created'));
        return stored.some((m) => m.header.get(Header.eventId) === old.eventId) ? true : undefined;
      },
      30_000,
      50,
    );
    await ensureConsumer(jsm, { team: 'fresh', sources: ['stripe'], types: ['refund.created'], namespace: NS });
    await ensureConsumer(jsm, { team: 'history', sources: ['stripe'], types: ['refund.created'], startAt: 'all', namespace: NS });
    const fresh = run('fresh');
    const history = run('history');
    const later = await postEvent('refund.created');
    await waitFor(
      'both consumers to get the new event',
      () => (fresh.seen.some((x) => x.id === later.eventId) && history.seen.some((x) => x.id === later.eventId) ? true : undefined),
      30_000,
      50,
    );
    assert.deepEqual(
      fresh.seen.map((x) => x.id),
      [later.eventId],
    );
    assert.deepEqual(
      history.seen.map((x) => x.id),
      [old.eventId, later.eventId],
    );
  });

  it('consumer: abort stops the loop cleanly and resolves with its counts', async () => {
    await ensureConsumer(jsm, { team: 'stopper', sources: ['stripe'], types: ['payout.paid'], namespace: NS });
    const loop = run('stopper');
    const { eventId } = await postEvent('payout.paid');
    await waitFor('the event', () => loop.seen.find((x) => x.id === eventId), 30_000, 50);
    await waitFor(
      'the ack',
      async () => ((await jsm.consumers.info(t.streams.events, 'stopper')).num_ack_pending === 0 ? true : undefined),
      10_000,
      50,
    );
    loop.controller.abort();
    assert.deepEqual(await loop.done, { acked: 1, naked: 0, deadLettered: 0 });
  });

  it("consumer: a team user with only the documented permissions runs the kit; another team's consumer is denied", async () => {
    const team = await connect({ servers: server.url, user: 'billing', pass: 'billing-pw' });
    try {
      const teamJsm = await jetstreamManager(team);
      const teamJs = jetstream(team);
      await ensureDeadLetterStream(teamJsm, { team: 'billing', namespace: NS });
      await ensureConsumer(teamJsm, { team: 'billing', sources: ['stripe'], types: ['invoice.paid', 'invoice.voided'], namespace: NS });
      await ensureConsumer(teamJsm, { team: 'billing', sources: ['stripe'], types: ['invoice.paid', 'invoice.voided'], namespace: NS });
      const { seen } = run(
        'billing',
        (e) => {
          if (e.type === 'invoice.voided') throw new PermanentError('voided invoices are not ours');
        },
        teamJs,
      );
      const paid = await postEvent('invoice.paid');
      const voided = await postEvent('invoice.voided');
      await waitFor('the paid invoice', () => seen.find((x) => x.id === paid.eventId), 30_000, 50);
      const dead = await waitFor(
        'the voided invoice dead-lettered by the team user',
        async () => {
          const d = await deadLetters('billing', voided.eventId);
          return d.length > 0 ? d : undefined;
        },
        30_000,
        100,
      );
      assert.equal(dead[0]?.header.get(Header.dlqReason), 'permanent_error');
      await waitFor(
        'the acks',
        async () => ((await jsm.consumers.info(t.streams.events, 'billing')).num_ack_pending === 0 ? true : undefined),
        10_000,
        50,
      );
      await assert.rejects(
        ensureConsumer(teamJsm, { team: 'payroll', namespace: NS }),
        /Permissions Violation/,
        "another team's consumer is not billing's to create",
      );
    } finally {
      await team.close();
    }
  });
});
