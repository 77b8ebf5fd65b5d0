import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { SchemaStore, SourceStore } from '@hookstream/models';
import { AckingPublisher, createLogger, ensureStreams, type NatsHandle, openBucket, streamConfigs, topology } from '@hookstream/runtime';
import { connectTestNats, httpRequest, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { buildApp, loadConfig, type ValidateApp } from '@hookstream/validate';
import { type JetStreamManager, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const logger = createLogger({ service: 'test', level: 'silent' });
const FORM = 'application/x-www-form-urlencoded';

const chargeSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['id', 'type', 'data'],
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    data: {
      type: 'object',
      required: ['amount', 'currency'],
      properties: { amount: { type: 'integer', minimum: 0 }, currency: { type: 'string', pattern: '^[a-z]{3}$' } },
    },
  },
};

const json = (m: StoredMsg): Record<string, unknown> => JSON.parse(Buffer.from(m.data).toString('utf8')) as Record<string, unknown>;

describe('validate against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let publisher: AckingPublisher;
  let schemas: SchemaStore;
  let validate: ValidateApp;
  const t = topology('vl');
  let sequence = 0;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    await ensureStreams(jsm, streamConfigs(t, { replicas: 1, eventsMaxAgeHours: 24 }));
    publisher = new AckingPublisher(nats.nc, 5_000);
    const sources = new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 }));
    await sources.put({ id: 'stripe', provider: 'stripe' });
    await sources.put({ id: 'strict', provider: 'stripe', schemaMode: 'strict' });
    await sources.put({ id: 'required', provider: 'stripe', requireSchema: true });
    await sources.put({ id: 'slack', scheme: { kind: 'none' }, eventType: { from: 'json', path: '$.payload.type' } });
    await sources.put({ id: 'hostile', provider: 'stripe' });
    schemas = new SchemaStore(await openBucket(nats.nc, t.buckets.schemas, { replicas: 1 }));
    await schemas.put('stripe', 'charge.succeeded', chargeSchema);
    await schemas.put('strict', 'charge.succeeded', chargeSchema);
    await schemas.put('stripe', 'broken', { type: 'object', properties: { a: { $ref: '#/$defs/nowhere' } } });
    await schemas.put('slack', 'block_actions', {
      type: 'object',
      properties: { payload: { type: 'object', required: ['type', 'user'], properties: { type: {}, user: { required: ['id'] } } } },
    });
    // The probe: a pattern that backtracks catastrophically on a run of a's and a b.
    await schemas.put('hostile', 'name.check', { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } });
    // Stored before backreferences were refused at write time (SchemaStore does not compile).
    await schemas.put('hostile', 'backref.check', { type: 'object', properties: { word: { type: 'string', pattern: '^(\\w+) \\1$' } } });
    // About 1,000 RE2 instructions: a list of long strings costs more regex work than the default budget.
    await schemas.put('hostile', 'budget.check', { type: 'object', properties: { list: { items: { pattern: '^[a-z]{1000}' } } } });
    validate = buildApp(
      loadConfig({ HS_NATS_URL: server.url, HS_NAMESPACE: 'vl', HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1', HS_LOG_LEVEL: 'silent' }),
      { logger },
    );
    await validate.run();
  });

  after(async () => {
    await validate?.close();
    publisher?.close();
    await nats?.drain();
    await server?.stop();
  });

  /** Publishes an event onto hs.unique.{source} the way dedup does; resolves to its event id. */
  const publish = async (source: string, body: string | Uint8Array, contentType = 'application/json'): Promise<string> => {
    const id = `evt-${++sequence}`;
    const h = headers();
    h.set('Nats-Msg-Id', `${id}:dedup`);
    h.set(Header.eventId, id);
    h.set(Header.source, source);
    h.set(Header.receivedAt, String(Date.now()));
    h.set('hs-h-content-type', contentType);
    await publisher.publish(t.unique(source), typeof body === 'string' ? new TextEncoder().encode(body) : body, h);
    return id;
  };
  const find = (stream: string, id: string, subject?: string) =>
    waitFor(`${id} in ${stream}`, async () =>
      (await storedMessages(jsm, stream, subject)).find((m) => m.header.get(Header.eventId) === id),
    );
  const valid = (id: string, source = 'stripe') => find(t.streams.pipe, id, t.valid(source));
  const deadLetter = (id: string) => find(t.streams.dlq, id);
  const obsRecords = async (kind: string) => (await storedMessages(jsm, t.streams.obs, t.obs(kind))).map(json);
  const charge = (id: string, data: Record<string, unknown>) => JSON.stringify({ id, type: 'charge.succeeded', data });

  it('validate: valid JSON and form-encoded events reach hs.valid byte-identical with hs-event-type', async () => {
    const body = '{ "id": "evt_1",  "type":"charge.succeeded", "data": {"amount": 100, "currency":"eur", "note":"caf\\u00e9 ☕"}}\n';
    const formBody = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1' } }))}&token=t`;
    const id = await publish('stripe', body);
    const formId = await publish('slack', formBody, `${FORM}; charset=utf-8`);

    const msg = await valid(id);
    assert.equal(msg.subject, t.valid('stripe'));
    assert.equal(Buffer.from(msg.data).toString('utf8'), body);
    assert.equal(msg.header.get(Header.eventType), 'charge.succeeded');
    assert.equal(msg.header.get('Nats-Msg-Id'), `${id}:validate`);
    assert.equal(msg.header.get(Header.source), 'stripe');
    assert.equal(msg.header.get('hs-h-content-type'), 'application/json');

    const form = await valid(formId, 'slack');
    assert.equal(form.subject, t.valid('slack'));
    assert.equal(Buffer.from(form.data).toString('utf8'), formBody);
    assert.equal(form.header.get(Header.eventType), 'block_actions');
  });

  it('validate: invalid events reach the DLQ with their reason and an hs.obs.schema_failure record with the errors', async () => {
    const cases: [string, string, string][] = [
      ['stripe', charge('e', { amount: -1, currency: 'EURO' }), 'schema_violation'],
      ['strict', charge('e', { amount: 1, currency: 'eur', surprise: true }), 'schema_violation'],
      ['stripe', '{"id": "evt", "type": "charge.succeeded", ', 'malformed_body'],
      ['stripe', '{"id": "evt"}', 'missing_event_type'],
      ['stripe', '['.repeat(100_000), 'too_deep'],
      ['stripe', '{"type": "broken", "a": 1}', 'schema_invalid'],
      ['required', '{"type": "charge.succeeded"}', 'no_schema'],
      ['ghost', '{"type": "charge.succeeded"}', 'unknown_source'],
    ];
    const ids: [string, string, string][] = [];
    for (const [source, body, reason] of cases) ids.push([await publish(source, body), source, reason]);
    for (const [[id, source, reason], [, body]] of ids.map((x, i) => [x, cases[i] ?? []] as const)) {
      const dead = await deadLetter(id);
      assert.equal(dead.subject, t.dlq('validate', source));
      assert.equal(dead.header.get(Header.dlqReason), reason, `reason of ${id}`);
      assert.equal(dead.header.get(Header.dlqStage), 'validate');
      assert.equal(Buffer.from(dead.data).toString(), body, 'the dead letter keeps the body');
    }
    const records = await waitFor('schema_failure records', async () => {
      const mine = (await obsRecords('schema_failure')).filter((r) => ids.some(([id]) => id === r.event_id));
      return mine.length === ids.length ? mine : undefined;
    });
    for (const [id, source, reason] of ids) {
      const r = records.find((x) => x.event_id === id);
      assert.equal(r?.kind, 'schema_failure');
      assert.equal(r?.stage, 'validate');
      assert.equal(r?.source, source);
      assert.equal(r?.reason, reason);
      assert.equal(typeof r?.received_at, 'number');
      assert.ok(Array.isArray(r?.errors) && r.errors.length > 0);
    }
    const [violation, strictViolation] = ids.map(([id]) => records.find((r) => r.event_id === id));
    assert.equal(violation?.event_type, 'charge.succeeded');
    assert.deepEqual(((violation?.errors ?? []) as { path: string }[]).map((e) => e.path).sort(), ['/data/amount', '/data/currency']);
    assert.deepEqual(strictViolation?.errors, [
      { path: '/data', keyword: 'additionalProperties', message: "must NOT have additional properties: 'surprise'" },
    ]);
    assert.equal(records.find((r) => r.reason === 'too_deep')?.event_type, null);
    const dead = await deadLetter(ids[0]?.[0] ?? '');
    assert.match(dead.header.get(Header.dlqDetail), /^2 error\(s\) against schema version 1: \[\{"path":/);
  });

  it('validate: an event type with leading or trailing white space is missing_event_type, never checked as one type and routed as another', async () => {
    // Scenario: found by the fuzz suite (test/fuzz). NATS header values are
    // trimmed, so `"charge.succeeded "` was looked up as a type without a
    // schema (and passed), then travelled on as `charge.succeeded`: a body
    // that breaks that type's schema reached its subscribers.
    for (const type of ['charge.succeeded ', ' charge.succeeded', '\u3000charge.succeeded', '\u00a0']) {
      const id = await publish('stripe', JSON.stringify({ id: 'evt_ws', type, data: { amount: -1, currency: 'EURO' } }));
      const dead = await deadLetter(id);
      assert.equal(dead.header.get(Header.dlqReason), 'missing_event_type', JSON.stringify(type));
      assert.match(dead.header.get(Header.dlqDetail), /white space/);
    }
  });

  it('validate: a schema updated live in KV applies to the next event without restart', async () => {
    // Scenario: `livemode` becomes required in version 2 while the service runs.
    const body = charge('evt_live', { amount: 5, currency: 'usd' });
    await valid(await publish('stripe', body));
    const v2 = await schemas.put('stripe', 'charge.succeeded', { ...chargeSchema, required: [...chargeSchema.required, 'livemode'] });
    assert.equal(v2.version, 2);
    const id = await publish('stripe', body);
    const dead = await deadLetter(id);
    assert.equal(dead.header.get(Header.dlqReason), 'schema_violation');
    assert.match(dead.header.get(Header.dlqDetail), /schema version 2.*must have required property 'livemode'/);
    const ok = await publish('stripe', JSON.stringify({ ...JSON.parse(body), livemode: true }));
    await valid(ok);
    await schemas.put('stripe', 'charge.succeeded', chargeSchema);
  });

  it('validate: undeclared fields pass and are recorded on hs.obs.drift once per path', async () => {
    const first = await publish('stripe', charge('d1', { amount: 1, currency: 'eur', risk: { score: 3 } }));
    const second = await publish('stripe', charge('d2', { amount: 2, currency: 'eur', risk: { score: 4 } }));
    await valid(first);
    await valid(second);
    const drift = await waitFor('drift record', async () => {
      const found = (await obsRecords('drift')).filter((r) => r.path === '$.data.risk');
      return found.length > 0 ? found : undefined;
    });
    assert.equal(drift.length, 1, 'rate-limited to once per path');
    assert.deepEqual(
      { ...drift[0], at: 0 },
      {
        kind: 'drift',
        source: 'stripe',
        event_type: 'charge.succeeded',
        path: '$.data.risk',
        json_type: 'object',
        event_id: first,
        at: 0,
      },
    );
  });

  it('validate: events without a schema pass and are counted', async () => {
    const before = validate.counters().noSchema;
    const id = await publish('stripe', '{"id":"evt_n","type":"customer.created"}');
    assert.equal((await valid(id)).header.get(Header.eventType), 'customer.created');
    await waitFor('counted', () => (validate.counters().noSchema > before ? true : undefined));
  });

  it('validate: a flood of garbage bodies leaves the worker healthy', async () => {
    const garbage: (string | Uint8Array)[] = [
      '',
      ' ',
      'null',
      '"just a string"',
      '{"type":',
      '}{',
      '{"a":1}}',
      new Uint8Array([0xff, 0xfe, 0xfd]),
      `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
      '['.repeat(200_000),
      `{"type":"charge.succeeded","s":"${'\\'.repeat(1_001)}`,
      'x'.repeat(100_000),
    ];
    const ids: string[] = [];
    for (let round = 0; round < 4; round++) for (const body of garbage) ids.push(await publish('stripe', body));
    ids.push(await publish('slack', 'payload=%7B%7B%7B', FORM));
    for (const id of ids) {
      const dead = await deadLetter(id);
      assert.match(dead.header.get(Header.dlqReason), /^(malformed_body|too_deep|missing_event_type)$/);
    }
    assert.equal(validate.worker().healthy(), true);
    assert.equal(validate.worker().counts.error, 0, 'no handler threw');
    assert.equal((await httpRequest({ port: validate.healthPort(), path: '/healthz' })).status, 200);
    await valid(await publish('stripe', charge('after', { amount: 1, currency: 'eur' })));
  });

  it("validate: a catastrophic-backtracking schema pattern on one source does not delay another source's event", async () => {
    // Scenario: the probe. With a backtracking engine 28 a's and a b
    // held the whole stage for 21.6 s (each extra a doubles it); RE2 answers
    // in linear time, so the hostile event is judged at once and another
    // source's event sent right after it passes within a second. The clock
    // starts before the hostile publish: validate runs in this process, so a
    // stall would hold this test's next publish as well.
    const sent = Date.now();
    const hostile = await publish('hostile', JSON.stringify({ type: 'name.check', name: `${'a'.repeat(27)}b` }));
    const other = await publish('stripe', charge('evt_unrelated', { amount: 1, currency: 'eur' }));
    const passed = await valid(other);
    const delay = passed.time.getTime() - sent;
    assert.ok(delay < 1_000, `the unrelated event waited ${delay} ms`);
    const dead = await deadLetter(hostile);
    assert.equal(dead.subject, t.dlq('validate', 'hostile'));
    assert.equal(dead.header.get(Header.dlqReason), 'schema_violation');
    assert.match(dead.header.get(Header.dlqDetail), /must match pattern \\"\^\(a\+\)\+\$\\"/);
    await valid(await publish('hostile', JSON.stringify({ type: 'name.check', name: 'a'.repeat(100_000) })), 'hostile');
    assert.equal(validate.worker().healthy(), true);
  });

  it('validate: a stored schema whose regex RE2 cannot run fails its events with schema_invalid naming the pattern', async () => {
    const id = await publish('hostile', JSON.stringify({ type: 'backref.check', word: 'hey hey' }));
    const dead = await deadLetter(id);
    assert.equal(dead.header.get(Header.dlqReason), 'schema_invalid');
    assert.match(dead.header.get(Header.dlqDetail), /^schema version 1 does not compile: \/properties\/word\/pattern: .*backreference/);
    await valid(await publish('stripe', charge('evt_after_backref', { amount: 1, currency: 'eur' })));
  });

  it('validate: an event whose regex work passes HS_VALIDATE_REGEX_BUDGET is dead-lettered as regex_budget', async () => {
    // Scenario: 30 strings of 1,000 characters against a ~1,000-instruction
    // pattern: about 3e7 units of work, over the default budget of 2e7.
    const id = await publish(
      'hostile',
      JSON.stringify({ type: 'budget.check', list: Array.from({ length: 30 }, () => 'z'.repeat(1_000)) }),
    );
    const dead = await deadLetter(id);
    assert.equal(dead.header.get(Header.dlqReason), 'regex_budget');
    assert.match(dead.header.get(Header.dlqDetail), /regex work over the budget of 20000000/);
    const record = await waitFor('the failure record', async () => (await obsRecords('schema_failure')).find((r) => r.event_id === id));
    assert.equal(record.reason, 'regex_budget');
    await valid(await publish('hostile', JSON.stringify({ type: 'budget.check', list: ['z'.repeat(1_000)] })), 'hostile');
  });
});
