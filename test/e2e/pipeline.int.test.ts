import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { duplicateNoteKey, Header } from '@hookstream/contracts';
import { decodeDuplicateNote } from '@hookstream/models';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import {
  type ClickHouseServer,
  connectTestNats,
  freePort,
  type NatsServer,
  startClickHouse,
  startEndpoint,
  startNatsServer,
  storedMessages,
  type TestEndpoint,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Webhook } from 'standardwebhooks';
import { type ServiceProcess, startService } from './processes.ts';
import { postStripe } from './stripe.ts';

const STRIPE_SECRET = 'whsec_e2e_secret';
const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const t = topology('e2e');
// Every service gets the master key; secrets are sealed in KV.
const MASTER_KEY = randomBytes(32).toString('base64');

describe('the pipeline, every service a real process', () => {
  let server: NatsServer;
  let clickhouse: ClickHouseServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  const services: ServiceProcess[] = [];
  let ingestPort: number;
  const receivers: Record<string, TestEndpoint> = {};
  let control: ControlApi;

  before(async () => {
    [server, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    // Configuration goes through the control plane (a real process), as an operator would.
    const controlPort = await freePort();
    const controlToken = 'e2e-control-token-0123456789';
    const base = { HS_NATS_URL: server.url, HS_NAMESPACE: 'e2e', HS_MASTER_KEY: MASTER_KEY };
    services.push(
      await startService('control', {
        ...base,
        HS_CONTROL_PORT: String(controlPort),
        HS_CONSOLE_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: controlToken,
      }),
    );
    control = connectControl({ url: `127.0.0.1:${controlPort}`, token: controlToken });
    await control.createSource({
      configJson: JSON.stringify({ id: 'stripe', provider: 'stripe', secrets: [{ id: 'k1', value: STRIPE_SECRET }] }),
    });
    await control.createSchema({
      source: 'stripe',
      eventType: 'payment_intent.succeeded',
      schemaJson: JSON.stringify({
        type: 'object',
        required: ['id', 'type', 'data'],
        properties: { id: { type: 'string' }, type: { type: 'string' }, data: { type: 'object' } },
      }),
      description: '',
    });
    const sourcesKv = await openBucket(nats.nc, t.buckets.sources, { replicas: 1 });
    const rawSource = new TextDecoder().decode((await sourcesKv.get('stripe'))?.value);
    assert.equal(rawSource.includes(STRIPE_SECRET), false, 'no plaintext secret in KV');
    assert.match(rawSource, /enc:v1:k1:/);
    // Three subscribers: everything, payments only, and big payments only (a CEL filter).
    for (const [id, extra] of [
      ['everything', {}],
      ['payments', { eventTypes: ['payment_intent.*'] }],
      ['big', { eventTypes: ['payment_intent.*'], filter: 'data.data.object.amount >= 1000' }],
    ] as const) {
      receivers[id] = await startEndpoint();
      await control.createEndpoint({
        configJson: JSON.stringify({ id, url: receivers[id].url, secrets: [{ id: 'k1', value: ENDPOINT_SECRET }], ...extra }),
      });
    }
    ingestPort = await freePort();
    const env = { HS_NATS_URL: server.url, HS_NAMESPACE: 'e2e', HS_MASTER_KEY: MASTER_KEY };
    services.push(await startService('ingest', { ...env, HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' }));
    for (const name of ['verify', 'dedup', 'validate', 'route']) services.push(await startService(name, env));
    services.push(await startService('deliver', { ...env, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' }));
    services.push(
      await startService('analytics', {
        ...env,
        HS_CLICKHOUSE_URL: clickhouse.url,
        HS_CLICKHOUSE_DATABASE: 'e2e',
        HS_ANALYTICS_BATCH_INTERVAL_MS: '1000',
      }),
    );
  });

  after(async () => {
    control?.close();
    for (const s of services.reverse()) assert.equal(await s.stop(), 0, `${s.name} exits cleanly`);
    for (const r of Object.values(receivers)) await r.close();
    await nats?.drain();
    await server?.stop();
    await clickhouse?.stop();
  });

  const post = (body: string, secret = STRIPE_SECRET) => postStripe(ingestPort, body, secret);

  it('e2e: signed events reach events.* and three subscribers once; retries, forgeries and schema breaks are handled', async () => {
    // Every fourth event is a big payment; events 10-11 are another type.
    const amount = (i: number) => (i % 4 === 0 ? 5000 : 100);
    const type = (i: number) => (i === 10 || i === 11 ? 'customer.created' : 'payment_intent.succeeded');
    const event = (id: string) => {
      const i = Number(id.split('_')[1]);
      return `{"id":"${id}","type":"${type(i)}","data":{"object":{"amount":${amount(i)}}}}`;
    };
    const accepted: Record<string, string> = {};
    for (let i = 0; i < 20; i++) {
      const r = await post(event(`evt_${i}`));
      assert.equal(r.status, 202);
      accepted[`evt_${i}`] = (JSON.parse(r.body) as { id: string }).id;
    }
    // Stripe retries five of them (same provider id, new request).
    const retried: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await post(event(`evt_${i}`));
      assert.equal(r.status, 202);
      retried.push((JSON.parse(r.body) as { id: string }).id);
    }
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
    // Each retry was dropped by dedup as a duplicate of its first copy. (Its
    // hs.obs.duplicate record is no witness: analytics consumes HS_OBS, a work
    // queue, and may already have taken it; dedup's note is kept 72 h.)
    const dedupKv = await openBucket(nats.nc, t.buckets.dedup, { replicas: 1 });
    for (const [i, id] of retried.entries()) {
      const note = await waitFor(
        `dedup's note for the retry of evt_${i}`,
        async () => {
          const entry = await dedupKv.get(duplicateNoteKey(id));
          return entry?.operation === 'PUT' ? decodeDuplicateNote(entry.value) : undefined;
        },
        30_000,
        100,
      );
      assert.equal(note?.first_event_id, accepted[`evt_${i}`], `the retry of evt_${i} is a duplicate of its first copy`);
    }

    // Every request now has a known fate (20 first copies on events.*, 5 duplicates noted, 2 dead letters), so nothing
    // else can still reach HS_EVENTS: the count below is final.
    const final = await storedMessages(jsm, t.streams.events);
    assert.equal(final.length, 20, 'exactly one event per provider id');
    assert.deepEqual(
      new Set(final.map((m) => m.header.get(Header.eventId))),
      new Set(Object.values(accepted)),
      'the first delivery of each',
    );
    assert.equal(events.filter((m) => m.subject === t.events('stripe', 'customer.created')).length, 2);
    const dlq = await storedMessages(jsm, t.streams.dlq);
    assert.equal(dlq.find((m) => m.header.get(Header.eventId) === forged.id)?.header.get(Header.dlqReason), 'bad_signature');
    assert.equal(dlq.find((m) => m.header.get(Header.eventId) === broken.id)?.header.get(Header.dlqReason), 'schema_violation');
    // Subscribers: each gets what it subscribed to, once, signed verifiably.
    const expected = {
      everything: 20,
      payments: 18,
      big: [...Array(20).keys()].filter((i) => type(i) === 'payment_intent.succeeded' && amount(i) >= 1000).length,
    };
    await waitFor(
      'deliveries',
      () => (Object.entries(expected).every(([id, n]) => (receivers[id]?.received.length ?? 0) >= n) ? true : undefined),
      30_000,
      50,
    );
    // HS_PIPE and HS_DELIVERY are work queues: once both are empty, route has fanned out every event and deliver has
    // finished every task and retry, so no further POST can come and the counts below are final.
    const empty = async (stream: string) => ((await jsm.streams.info(stream)).state.messages === 0 ? true : undefined);
    await waitFor('route to finish every event', () => empty(t.streams.pipe), 30_000, 50);
    await waitFor('deliver to finish every task', () => empty(t.streams.delivery), 30_000, 50);
    const webhook = new Webhook(ENDPOINT_SECRET);
    for (const [id, n] of Object.entries(expected)) {
      const got = receivers[id]?.received ?? [];
      const ids = new Set(got.map((r) => r.headers['webhook-id']));
      assert.equal(ids.size, n, `${id}: distinct events`);
      assert.equal(got.length, n, `${id}: no duplicates at the endpoint`);
      for (const r of got) {
        const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(r.headers[h])]));
        assert.doesNotThrow(() => webhook.verify(r.body.toString(), headers), `${id}: signature verifies`);
        assert.ok(Object.values(accepted).includes(String(r.headers['webhook-id'])), 'webhook-id is the event id');
      }
    }

    // Analytics: what happened is in ClickHouse, once per fact.
    const count = async (sql: string) => Number((await clickhouse.query(sql)).trim());
    const deliveries = expected.everything + expected.payments + expected.big;
    await waitFor(
      'rows in ClickHouse',
      async () =>
        (await count("SELECT count() FROM e2e.delivery_attempts FINAL WHERE outcome = 'success'")) === deliveries ? true : undefined,
      30_000,
      250,
    );
    assert.equal(await count('SELECT count() FROM e2e.duplicates FINAL'), 5);
    assert.equal(await count("SELECT count() FROM e2e.rejections FINAL WHERE reason = 'bad_signature'"), 1);
    assert.equal(await count("SELECT count() FROM e2e.schema_failures FINAL WHERE reason = 'schema_violation'"), 1);
    assert.equal(await count("SELECT countMerge(attempts) FROM e2e.endpoint_minute WHERE endpoint_id = 'everything'"), expected.everything);
    // One received row per answer ingest gave: 20 events, 5 retries, the forgery and the broken one, all 202
    // (verification and validation come after the answer).
    await waitFor(
      'received rows',
      async () => ((await count("SELECT count() FROM e2e.received FINAL WHERE source = 'stripe'")) === 27 ? true : undefined),
      30_000,
      250,
    );
    assert.equal(await count("SELECT countIf(status = 202) FROM e2e.received FINAL WHERE source = 'stripe'"), 27);
    assert.equal(await count(`SELECT count() FROM e2e.received FINAL WHERE event_id = '${forged.id}' AND bytes > 0`), 1);
  });
});
