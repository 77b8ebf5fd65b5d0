import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DriftRecord, Header, type SchemaFailureRecord } from '@hookstream/contracts';
import { parseSchemaRecord, parseSourceConfig, type SchemaRecord, type SourceConfig, schemaKey } from '@hookstream/models';
import { SchemaCache } from '@hookstream/schema-compiler';
import type { UniqueMessage } from '@hookstream/validate';
import { DriftLimiter } from '../src/drift.ts';
import { handleUnique, type ValidateDeps } from '../src/handler.ts';

const RECEIVED_AT = 1_700_000_000_000;
const HOUR = 3_600_000;

const stripe = parseSourceConfig({ id: 'stripe', provider: 'stripe' });
const strict = parseSourceConfig({ id: 'strict', provider: 'stripe', schemaMode: 'strict' });
const off = parseSourceConfig({ id: 'off', provider: 'stripe', schemaMode: 'off' });
const required = parseSourceConfig({ id: 'required', provider: 'stripe', requireSchema: true });
const github = parseSourceConfig({ id: 'github', provider: 'github' });
const slack = parseSourceConfig({ id: 'slack', scheme: { kind: 'none' }, eventType: { from: 'json', path: '$.payload.type' } });

const chargeSchema = {
  type: 'object',
  required: ['id', 'type', 'data'],
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    data: {
      type: 'object',
      required: ['amount', 'currency'],
      properties: {
        amount: { type: 'integer', minimum: 0 },
        currency: { type: 'string', minLength: 3, maxLength: 3 },
        lines: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } },
      },
    },
  },
};

const record = (source: string, eventType: string, schema: SchemaRecord['schema'], version = 1): SchemaRecord =>
  parseSchemaRecord({ source, eventType, version, schema });

function message(source: string, body: string, headers: Record<string, string> = {}, envelope: Record<string, string> = {}): UniqueMessage {
  const all: Record<string, string> = {
    [Header.eventId]: 'evt-1',
    [Header.source]: source,
    [Header.receivedAt]: String(RECEIVED_AT),
    ...envelope,
  };
  for (const [k, v] of Object.entries(headers)) all[`hs-h-${k.toLowerCase()}`] = v;
  return { subject: `hs.unique.${source}`, data: new TextEncoder().encode(body), header: (n) => all[n] };
}

function fakeDeps(records: SchemaRecord[] = [], clock = { now: RECEIVED_AT + 1_000 }) {
  const sources: Record<string, SourceConfig> = { stripe, strict, off, required, github, slack };
  const schemas = new Map(records.map((r) => [schemaKey(r.source, r.eventType), r]));
  const forwarded: { eventId: string; source: string; eventType: string }[] = [];
  const failures: SchemaFailureRecord[] = [];
  const drift: DriftRecord[] = [];
  const noSchema: string[] = [];
  const invalid: string[] = [];
  const cache = new SchemaCache((r, _mode, error) => invalid.push(`${r.eventType}: ${error}`));
  const deps: ValidateDeps = {
    source: (id) => sources[id],
    schema: (source, eventType) => schemas.get(schemaKey(source, eventType)),
    compiled: (r, mode) => cache.compiled(r, mode),
    maxDepth: 128,
    drift: new DriftLimiter({ intervalMs: HOUR, now: () => clock.now }),
    now: () => clock.now,
    noteNoSchema: (source, eventType) => noSchema.push(`${source}/${eventType}`),
    forward: async (_msg, eventId, source, eventType) => {
      forwarded.push({ eventId, source, eventType });
    },
    recordFailure: async (r) => {
      failures.push(r);
    },
    recordDrift: async (r) => {
      drift.push(r);
    },
  };
  return { deps, forwarded, failures, drift, noSchema, invalid, schemas, clock };
}

const charge = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: 'evt_1', type: 'charge.succeeded', data, ...extra });

describe('validate handler', () => {
  it('validate: a valid event is forwarded with its type and acked', async () => {
    const f = fakeDeps([record('stripe', 'charge.succeeded', chargeSchema)]);
    const outcome = await handleUnique(message('stripe', charge({ amount: 100, currency: 'usd' })), f.deps);
    assert.deepEqual(outcome, { kind: 'ack' });
    assert.deepEqual(f.forwarded, [{ eventId: 'evt-1', source: 'stripe', eventType: 'charge.succeeded' }]);
    assert.deepEqual(f.failures, []);
    assert.deepEqual(f.drift, []);
  });

  it('validate: an invalid event reports every error with path, keyword and message', async () => {
    const f = fakeDeps([record('stripe', 'charge.succeeded', chargeSchema)]);
    const body = JSON.stringify({ type: 'charge.succeeded', data: { amount: -5, currency: 'dollars', lines: [{ sku: 7 }] } });
    const outcome = await handleUnique(message('stripe', body), f.deps);
    assert.equal(outcome.kind, 'term');
    assert.equal(outcome.kind === 'term' && outcome.reason, 'schema_violation');
    assert.equal(f.forwarded.length, 0);
    const failure = f.failures[0];
    assert.ok(failure);
    assert.equal(failure.kind, 'schema_failure');
    assert.equal(failure.stage, 'validate');
    assert.equal(failure.event_id, 'evt-1');
    assert.equal(failure.source, 'stripe');
    assert.equal(failure.event_type, 'charge.succeeded');
    assert.equal(failure.received_at, RECEIVED_AT);
    assert.equal(failure.at, RECEIVED_AT + 1_000);
    assert.deepEqual(
      [...failure.errors].sort((a, b) => a.path.localeCompare(b.path)),
      [
        { path: '', keyword: 'required', message: "must have required property 'id'" },
        { path: '/data/amount', keyword: 'minimum', message: 'must be >= 0' },
        { path: '/data/currency', keyword: 'maxLength', message: 'must NOT have more than 3 characters' },
        { path: '/data/lines/0/sku', keyword: 'type', message: 'must be string' },
      ],
    );
    const detail = outcome.kind === 'term' ? (outcome.detail ?? '') : '';
    assert.match(detail, /^4 error\(s\) against schema version 1: \[/);
    assert.match(detail, /"keyword":"minimum"/);
  });

  it('validate: unknown fields pass in additive mode and are recorded as drift', async () => {
    const f = fakeDeps([record('stripe', 'charge.succeeded', chargeSchema)]);
    const body = charge({ amount: 1, currency: 'eur', newField: 'x', lines: [{ sku: 'a', qty: 2 }, { qty: 3 }] }, { livemode: false });
    assert.deepEqual(await handleUnique(message('stripe', body), f.deps), { kind: 'ack' });
    assert.equal(f.forwarded.length, 1);
    assert.deepEqual(
      f.drift.map((d) => [d.path, d.json_type]),
      [
        ['$.data.newField', 'string'],
        ['$.data.lines[*].qty', 'number'],
        ['$.livemode', 'boolean'],
      ],
    );
    assert.deepEqual(f.drift[0], {
      kind: 'drift',
      source: 'stripe',
      event_type: 'charge.succeeded',
      path: '$.data.newField',
      json_type: 'string',
      event_id: 'evt-1',
      at: RECEIVED_AT + 1_000,
    });
  });

  it('validate: unknown fields are rejected in strict mode, and the stored schema is not changed', async () => {
    const stored = record('strict', 'charge.succeeded', chargeSchema);
    const snapshot = structuredClone(stored.schema);
    const f = fakeDeps([stored]);
    const outcome = await handleUnique(message('strict', charge({ amount: 1, currency: 'eur', newField: 'x' })), f.deps);
    assert.equal(outcome.kind === 'term' && outcome.reason, 'schema_violation');
    assert.deepEqual(f.failures[0]?.errors, [
      { path: '/data', keyword: 'additionalProperties', message: "must NOT have additional properties: 'newField'" },
    ]);
    assert.deepEqual(f.drift, []);
    assert.deepEqual(stored.schema, snapshot);
    // The same record in additive mode (another source's view) still passes.
    assert.deepEqual(await handleUnique(message('strict', charge({ amount: 1, currency: 'eur' })), f.deps), { kind: 'ack' });
  });

  it('validate: drift is recorded once per (source, type, path) per hour', async () => {
    // Scenario: the same new field arrives three times; the clock moves
    // 59 minutes, then past the hour.
    const f = fakeDeps([record('stripe', 'charge.succeeded', chargeSchema)]);
    const body = charge({ amount: 1, currency: 'eur', newField: 1 });
    await handleUnique(message('stripe', body), f.deps);
    f.clock.now += 59 * 60_000;
    await handleUnique(message('stripe', body, {}, { [Header.eventId]: 'evt-2' }), f.deps);
    assert.equal(f.drift.length, 1, 'not again within the hour');
    f.clock.now += 2 * 60_000;
    await handleUnique(message('stripe', body, {}, { [Header.eventId]: 'evt-3' }), f.deps);
    assert.deepEqual(
      f.drift.map((d) => d.event_id),
      ['evt-1', 'evt-3'],
    );
    assert.equal(f.forwarded.length, 3, 'drift never holds an event back');
  });

  it('validate: a drift record that fails to publish is retried with the event', async () => {
    const f = fakeDeps([record('stripe', 'charge.succeeded', chargeSchema)]);
    const body = charge({ amount: 1, currency: 'eur', newField: 1 });
    const failing: ValidateDeps = {
      ...f.deps,
      recordDrift: async () => {
        throw new Error('no PubAck');
      },
    };
    await assert.rejects(handleUnique(message('stripe', body), failing), /no PubAck/);
    await handleUnique(message('stripe', body), f.deps);
    assert.equal(f.drift.length, 1, 'the rate limit was given back');
  });

  it('validate: a form-encoded Slack payload is parsed and validated', async () => {
    const schema = {
      type: 'object',
      required: ['payload'],
      properties: {
        payload: {
          type: 'object',
          required: ['type', 'user'],
          properties: { type: { const: 'block_actions' }, user: { type: 'object', required: ['id'] } },
        },
      },
    };
    const f = fakeDeps([record('slack', 'block_actions', schema)]);
    const payload = JSON.stringify({ type: 'block_actions', user: { id: 'U1', name: 'ana' }, actions: [] });
    const body = new URLSearchParams({ payload }).toString();
    const outcome = await handleUnique(
      message('slack', body, { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' }),
      f.deps,
    );
    assert.deepEqual(outcome, { kind: 'ack' });
    assert.deepEqual(f.forwarded[0], { eventId: 'evt-1', source: 'slack', eventType: 'block_actions' });
    assert.deepEqual(
      f.drift.map((d) => d.path),
      ['$.payload.actions'],
    );

    const bad = new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', user: {} }) }).toString();
    const rejected = await handleUnique(message('slack', bad, { 'Content-Type': 'application/x-www-form-urlencoded' }), f.deps);
    assert.equal(rejected.kind === 'term' && rejected.reason, 'schema_violation');
    assert.deepEqual(f.failures[0]?.errors, [{ path: '/payload/user', keyword: 'required', message: "must have required property 'id'" }]);
  });

  it('validate: a form-encoded body without payload becomes an object, repeated keys arrays', async () => {
    // JSON.parse, so that `__proto__` is a property here, as in the form.
    const schema = JSON.parse(
      '{"type":"object","required":["command","tag","__proto__"],"properties":{"command":{"type":"string"},"tag":{"type":"array","items":{"type":"string"}},"__proto__":{"type":"string"}}}',
    ) as Record<string, unknown>;
    const f = fakeDeps([record('slack', '/deploy', schema)]);
    const body = 'command=%2Fdeploy&tag=a&tag=b&__proto__=x';
    const outcome = await handleUnique(
      message('slack', body, { 'Content-Type': 'application/x-www-form-urlencoded' }, { [Header.eventType]: '/deploy' }),
      f.deps,
    );
    assert.deepEqual(outcome, { kind: 'ack' });
    assert.deepEqual(f.forwarded[0]?.eventType, '/deploy');
    assert.deepEqual(f.drift, []);
  });

  it('validate: a form payload that looks like JSON but is not is malformed_body', async () => {
    const f = fakeDeps();
    const body = new URLSearchParams({ payload: '{"type": ' }).toString();
    const outcome = await handleUnique(message('slack', body, { 'Content-Type': 'application/x-www-form-urlencoded' }), f.deps);
    assert.equal(outcome.kind === 'term' && outcome.reason, 'malformed_body');
    assert.equal(f.failures[0]?.errors[0]?.path, '/payload');
  });

  it('validate: non-JSON garbage is rejected with malformed_body', async () => {
    for (const body of ['', 'not json', '{"a":', '{"a":1}}', '\u0000\u0001']) {
      const f = fakeDeps();
      const outcome = await handleUnique(message('stripe', body), f.deps);
      assert.equal(outcome.kind === 'term' && outcome.reason, 'malformed_body', JSON.stringify(body));
      assert.equal(f.failures[0]?.event_type, null);
      assert.equal(f.failures[0]?.errors[0]?.keyword, 'json');
    }
    const f = fakeDeps();
    const invalidUtf8: UniqueMessage = { ...message('stripe', ''), data: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) };
    const outcome = await handleUnique(invalidUtf8, f.deps);
    assert.equal(outcome.kind === 'term' && outcome.detail, 'not valid UTF-8');
  });

  it('validate: huge nesting is too_deep without throwing', async () => {
    const f = fakeDeps();
    for (const body of ['['.repeat(100_000), `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`, `{"x":${'['.repeat(129)}${']'.repeat(129)}}`]) {
      const outcome = await handleUnique(message('stripe', body), f.deps);
      assert.equal(outcome.kind === 'term' && outcome.reason, 'too_deep');
    }
    // Brackets inside strings do not count, and 128 levels are fine.
    const nested = `{"type":"x","s":"${'['.repeat(500)}","n":${'['.repeat(127)}${']'.repeat(127)}}`;
    assert.deepEqual(await handleUnique(message('stripe', nested), f.deps), { kind: 'ack' });
  });

  it('validate: the event type comes from the header, the JSON path, or hs-event-type', async () => {
    const f = fakeDeps();
    await handleUnique(message('github', '{"action":"opened"}', { 'X-GitHub-Event': 'pull_request' }), f.deps);
    await handleUnique(message('stripe', '{"type":"invoice.paid"}'), f.deps);
    await handleUnique(message('stripe', '{"type":"invoice.paid"}', {}, { [Header.eventType]: 'set.upstream' }), f.deps);
    assert.deepEqual(
      f.forwarded.map((x) => x.eventType),
      ['pull_request', 'invoice.paid', 'set.upstream'],
    );
  });

  it('validate: no event type is missing_event_type', async () => {
    const f = fakeDeps();
    const cases: UniqueMessage[] = [
      message('stripe', '{"id":"evt_1"}'),
      message('stripe', '{"type":""}'),
      message('stripe', '{"type":{"nested":true}}'),
      message('github', '{"action":"opened"}'),
      message('stripe', JSON.stringify({ type: 'x'.repeat(300) })),
      message('stripe', JSON.stringify({ type: 'a\r\nb' })),
    ];
    for (const m of cases) {
      const outcome = await handleUnique(m, f.deps);
      assert.equal(outcome.kind === 'term' && outcome.reason, 'missing_event_type');
    }
    assert.match(f.failures[0]?.errors[0]?.message ?? '', /no event type at \$\.type/);
    assert.match(f.failures[3]?.errors[0]?.message ?? '', /header X-GitHub-Event/);
    assert.equal(f.forwarded.length, 0);
  });

  it('validate: with no schema an event passes and is counted, unless the source requires one', async () => {
    const f = fakeDeps();
    assert.deepEqual(await handleUnique(message('stripe', '{"type":"new.type"}'), f.deps), { kind: 'ack' });
    assert.deepEqual(f.noSchema, ['stripe/new.type']);
    const outcome = await handleUnique(message('required', '{"type":"new.type"}'), f.deps);
    assert.equal(outcome.kind === 'term' && outcome.reason, 'no_schema');
    assert.equal(f.failures[0]?.event_type, 'new.type');
    assert.equal(f.forwarded.length, 1);
  });

  it('validate: a schema that does not compile gives schema_invalid and is reported once', async () => {
    const broken = { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } };
    const f = fakeDeps([
      record('stripe', 'broken', broken),
      record('stripe', 'old.draft', { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' }),
      record('stripe', 'bad.type', { type: 'objekt' }),
    ]);
    for (let i = 0; i < 3; i++) {
      const outcome = await handleUnique(message('stripe', '{"type":"broken","a":1}'), f.deps);
      assert.equal(outcome.kind === 'term' && outcome.reason, 'schema_invalid');
    }
    assert.match(f.failures[0]?.errors[0]?.message ?? '', /schema version 1 does not compile: .*missing/);
    for (const type of ['old.draft', 'bad.type']) {
      const outcome = await handleUnique(message('stripe', JSON.stringify({ type })), f.deps);
      assert.equal(outcome.kind === 'term' && outcome.reason, 'schema_invalid', type);
    }
    assert.match(f.failures.at(-2)?.errors[0]?.message ?? '', /unsupported \$schema/);
    assert.equal(f.invalid.length, 3, 'logged once per schema version');
  });

  it('validate: a new schema version is compiled and applied to the next event', async () => {
    const f = fakeDeps([record('stripe', 'charge.succeeded', chargeSchema)]);
    const body = charge({ amount: 1, currency: 'eur' });
    assert.deepEqual(await handleUnique(message('stripe', body), f.deps), { kind: 'ack' });
    const v2 = { ...chargeSchema, required: [...chargeSchema.required, 'livemode'] };
    f.schemas.set(schemaKey('stripe', 'charge.succeeded'), record('stripe', 'charge.succeeded', v2, 2));
    const outcome = await handleUnique(message('stripe', body), f.deps);
    assert.equal(outcome.kind === 'term' && outcome.reason, 'schema_violation');
    assert.match(outcome.kind === 'term' ? (outcome.detail ?? '') : '', /schema version 2/);
  });

  it('validate: mode off checks no schema but still needs JSON and a type', async () => {
    const f = fakeDeps([record('off', 'charge.succeeded', chargeSchema)]);
    assert.deepEqual(await handleUnique(message('off', '{"type":"charge.succeeded","anything":true}'), f.deps), { kind: 'ack' });
    assert.deepEqual(f.noSchema, []);
    const outcome = await handleUnique(message('off', 'garbage'), f.deps);
    assert.equal(outcome.kind === 'term' && outcome.reason, 'malformed_body');
  });

  it('validate: draft-07 schemas are compiled by the draft-07 validator', async () => {
    const draft7 = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      definitions: { money: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer' } } } },
      properties: { type: { type: 'string' }, total: { $ref: '#/definitions/money' } },
    };
    const f = fakeDeps([record('stripe', 'd7', draft7), record('strict', 'd7', draft7)]);
    assert.deepEqual(await handleUnique(message('stripe', '{"type":"d7","total":{"amount":3,"cents":1}}'), f.deps), { kind: 'ack' });
    assert.deepEqual(
      f.drift.map((d) => d.path),
      ['$.total.cents'],
    );
    const outcome = await handleUnique(message('strict', '{"type":"d7","total":{"amount":3,"cents":1}}'), f.deps);
    assert.deepEqual(f.failures[0]?.errors, [
      { path: '/total', keyword: 'additionalProperties', message: "must NOT have additional properties: 'cents'" },
    ]);
    assert.equal(outcome.kind, 'term');
  });

  it('validate: a source deleted after dedup gives unknown_source', async () => {
    const f = fakeDeps();
    const outcome = await handleUnique(message('gone', '{}'), f.deps);
    assert.equal(outcome.kind === 'term' && outcome.reason, 'unknown_source');
    assert.equal(f.failures[0]?.source, 'gone');
  });

  it('validate: a failing downstream publish throws, so the worker retries', async () => {
    const f = fakeDeps();
    const failing: ValidateDeps = {
      ...f.deps,
      forward: async () => {
        throw new Error('no PubAck');
      },
    };
    await assert.rejects(handleUnique(message('stripe', '{"type":"a"}'), failing), /no PubAck/);
    assert.deepEqual(f.noSchema, [], 'counted only once forwarded');
  });
});
