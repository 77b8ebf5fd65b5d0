import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeLookupEntry, Header, lookupKey } from '@hookstream/contracts';
import { buildApp as buildIngest, type IngestApp, loadConfig as loadIngestConfig } from '@hookstream/ingest';
import { SourceStore } from '@hookstream/models';
import { createLogger, type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import { connectTestNats, httpRequest, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { buildApp, loadConfig, type VerifyApp } from '@hookstream/verify';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { sign as githubSign } from '@octokit/webhooks-methods';
import Stripe from 'stripe';

const logger = createLogger({ service: 'test', level: 'silent' });
const STRIPE_OLD = 'whsec_old_secret';
const STRIPE_NEW = 'whsec_new_secret';
const GITHUB_SECRET = 'gh-secret';
const SHOPIFY_SECRET = 'shpss_secret';

const post = (port: number, source: string, body: string, headers: Record<string, string>) =>
  httpRequest({ port, path: `/v1/webhooks/${source}`, method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

const idOf = (r: { body: string }): string => (JSON.parse(r.body) as { id: string }).id;

describe('verify through ingest against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let ingest: IngestApp;
  let verify: VerifyApp;
  let port: number;
  const t = topology('vf');

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    const store = new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 }));
    // Rotation in progress: the old Stripe secret is valid for another hour.
    await store.put({
      id: 'stripe',
      provider: 'stripe',
      secrets: [
        { id: 'old', value: STRIPE_OLD, notAfterMs: Date.now() + 3_600_000 },
        { id: 'new', value: STRIPE_NEW },
      ],
    });
    await store.put({ id: 'github', provider: 'github', secrets: [{ id: 'k1', value: GITHUB_SECRET }] });
    await store.put({ id: 'shopify', provider: 'shopify', secrets: [{ id: 'k1', value: SHOPIFY_SECRET }], verifyInline: true });
    await store.put({ id: 'nosecret', provider: 'github' });
    const env = {
      HS_NATS_URL: server.url,
      HS_NAMESPACE: 'vf',
      HS_HEALTH_PORT: '0',
      HS_HEALTH_HOST: '127.0.0.1',
      HS_LOG_LEVEL: 'silent',
    };
    ingest = buildIngest(loadIngestConfig({ ...env, HS_INGEST_PORT: '0', HS_INGEST_HOST: '127.0.0.1' }), { logger });
    await ingest.run();
    port = ingest.server().port;
    verify = buildApp(loadConfig(env), { logger });
    await verify.run();
  });

  after(async () => {
    await verify?.close();
    await ingest?.close();
    await nats?.drain();
    await server?.stop();
  });

  const verified = async (id: string) =>
    waitFor(`${id} on hs.verified`, async () =>
      (await storedMessages(jsm, t.streams.pipe)).find((m) => m.header.get(Header.eventId) === id),
    );
  const deadLetter = async (id: string) =>
    waitFor(`${id} in the DLQ`, async () => (await storedMessages(jsm, t.streams.dlq)).find((m) => m.header.get(Header.eventId) === id));

  it('verify: authentic Stripe (both rotated secrets) and GitHub events reach hs.verified byte-identical', async () => {
    const body = '{ "id": "evt_1",  "type":"payment_intent.succeeded", "note":"caf\\u00e9 ☕"}\n';
    const ts = Math.floor(Date.now() / 1000);
    const withOld = await post(port, 'stripe', body, {
      'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_OLD, timestamp: ts }),
    });
    const withNew = await post(port, 'stripe', body, {
      'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_NEW, timestamp: ts }),
    });
    const ghBody = '{"action":"opened","number":1}';
    const gh = await post(port, 'github', ghBody, {
      'X-Hub-Signature-256': await githubSign(GITHUB_SECRET, ghBody),
      'X-GitHub-Event': 'pull_request',
      'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    });
    for (const r of [withOld, withNew, gh]) assert.equal(r.status, 202);

    const old = await verified(idOf(withOld));
    assert.equal(old.subject, t.verified('stripe'));
    assert.equal(Buffer.from(old.data).toString('utf8'), body);
    assert.equal(old.header.get(Header.verifiedSecretId), 'old');
    assert.equal(old.header.get('Nats-Msg-Id'), `${idOf(withOld)}:verify`);
    assert.equal((await verified(idOf(withNew))).header.get(Header.verifiedSecretId), 'new');
    const ghMsg = await verified(idOf(gh));
    assert.equal(Buffer.from(ghMsg.data).toString('utf8'), ghBody);
    assert.equal(ghMsg.header.get('hs-h-x-github-event'), 'pull_request');
  });

  it('verify: forged, stale, unsigned and secret-less events reach the DLQ with their reason and an obs record', async () => {
    const body = '{"id":"evt_2"}';
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Record<string, string>, string][] = [
      [
        'stripe',
        { 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_forged', timestamp: now }) },
        'bad_signature',
      ],
      [
        'stripe',
        { 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_NEW, timestamp: now - 600 }) },
        'stale_timestamp',
      ],
      [
        'stripe',
        { 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_NEW, timestamp: now + 600 }) },
        'stale_timestamp',
      ],
      ['stripe', {}, 'missing_signature'],
      ['stripe', { 'Stripe-Signature': 'garbage,,=,t=,v1=zz' }, 'malformed_signature'],
      ['github', { 'X-Hub-Signature-256': await githubSign(GITHUB_SECRET, `${body} `) }, 'bad_signature'],
      ['nosecret', { 'X-Hub-Signature-256': await githubSign(GITHUB_SECRET, body) }, 'no_secret'],
    ];
    const ids: [string, string][] = [];
    for (const [source, headers, reason] of cases) {
      const r = await post(port, source, body, headers);
      assert.equal(r.status, 202, 'ingest accepts before verification');
      ids.push([idOf(r), reason]);
    }
    for (const [id, reason] of ids) {
      const dead = await deadLetter(id);
      assert.equal(dead.header.get(Header.dlqReason), reason, `reason of ${id}`);
      assert.equal(dead.header.get(Header.dlqStage), 'verify');
      assert.equal(Buffer.from(dead.data).toString(), body);
    }
    const records = await waitFor('obs records', async () => {
      // Rejection records only: ingest's `received` record (one per answer) carries the event id too.
      const all = (await storedMessages(jsm, t.streams.obs, t.obs('rejection'))).map(
        (m) => JSON.parse(Buffer.from(m.data).toString()) as Record<string, unknown>,
      );
      const mine = all.filter((r) => ids.some(([id]) => id === r.event_id));
      return mine.length === ids.length ? mine : undefined;
    });
    for (const [id, reason] of ids) {
      const rec = records.find((r) => r.event_id === id);
      assert.equal(rec?.reason, reason);
      assert.equal(rec?.stage, 'verify');
      assert.equal(typeof rec?.received_at, 'number');
    }
    const pipe = await storedMessages(jsm, t.streams.pipe);
    for (const [id] of ids)
      assert.equal(
        pipe.find((m) => m.header.get(Header.eventId) === id),
        undefined,
        'nothing forged is forwarded',
      );
    assert.equal(verify.worker().healthy(), true);
  });

  it("verify: a forged Stripe event is indexed in hs_lookup under Stripe's evt_ id, so it can be found by it", async () => {
    const body = '{"id":"evt_forged_lookup","type":"charge.succeeded"}';
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: 'whsec_forged',
      timestamp: Math.floor(Date.now() / 1000),
    });
    const id = idOf(await post(port, 'stripe', body, { 'Stripe-Signature': signature }));
    await deadLetter(id);
    const entry = await (await new Kvm(nats.nc).open(t.buckets.lookup)).get(lookupKey('evt_forged_lookup', id));
    assert.equal(entry?.operation, 'PUT');
    const decoded = entry === null ? undefined : decodeLookupEntry(entry.value);
    assert.deepEqual({ ...decoded, at: 0 }, { event_id: id, source: 'stripe', key: 'evt_forged_lookup', kind: 'idempotency_key', at: 0 });
  });

  it('verify: a flood of malformed signature headers never crashes the service', async () => {
    const junk = [
      '',
      ' ',
      't=',
      'v1=',
      't=abc,v1=def',
      't=1,v1=',
      '=,=,=',
      'x'.repeat(4000),
      't=99999999999999999999,v1=00',
      '\u00e9\u00e9',
    ];
    const ids: string[] = [];
    for (const value of junk) {
      const headers: Record<string, string> = value === '' ? {} : { 'Stripe-Signature': encodeURI(value) };
      const r = await post(port, 'stripe', '{}', headers);
      assert.equal(r.status, 202);
      ids.push(idOf(r));
    }
    for (const id of ids) await deadLetter(id);
    assert.equal(verify.worker().healthy(), true);
    assert.equal((await httpRequest({ port: verify.healthPort(), path: '/healthz' })).status, 200);
  });

  it('verify: inline sources answer 401 with the reason at ingest and 202 when authentic', async () => {
    const body = '{"id":1}';
    const good = createHmac('sha256', SHOPIFY_SECRET).update(body).digest('base64');
    const ok = await post(port, 'shopify', body, { 'X-Shopify-Hmac-Sha256': good, 'X-Shopify-Topic': 'orders/create' });
    assert.equal(ok.status, 202);
    await verified(idOf(ok));
    const bad = await post(port, 'shopify', body, { 'X-Shopify-Hmac-Sha256': createHmac('sha256', 'nope').update(body).digest('base64') });
    assert.equal(bad.status, 401);
    const answer = JSON.parse(bad.body) as { error: string; id: string };
    assert.equal(answer.error, 'bad_signature');
    const record = await waitFor('inline rejection record', async () =>
      (await storedMessages(jsm, t.streams.obs, t.obs('rejection')))
        .map((m) => JSON.parse(Buffer.from(m.data).toString()) as Record<string, unknown>)
        .find((r) => r.event_id === answer.id),
    );
    assert.equal(record.stage, 'ingest');
    assert.equal(record.reason, 'bad_signature');
    const raw = await storedMessages(jsm, t.streams.raw);
    assert.equal(
      raw.find((m) => m.header.get(Header.eventId) === answer.id),
      undefined,
      'a 401 is not archived',
    );
  });
});
