import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { ValidationError } from '@hookstream/contracts';
import {
  attemptsSql,
  checkConfigLimit,
  endpointReplayHeaders,
  eventsFilter,
  hasBearer,
  jsonDepth,
  matches,
  parseJsonField,
  REDACTED,
  RpcError,
  redact,
  restoreRedacted,
  rotate,
  rotatedView,
  toServiceError,
  uuidV7TimeMs,
} from '@hookstream/control';
import { type ConfigError, topology } from '@hookstream/runtime';
import { headers, NoRespondersError, TimeoutError } from '@nats-io/transport-node';

const headersOf =
  (h: Record<string, string>) =>
  (name: string): string | undefined =>
    h[name];

describe('control: pure helpers', () => {
  it('control: hasBearer accepts only "Bearer <token>" with the exact token', () => {
    const md = (value?: string) => {
      const m = new Metadata();
      if (value !== undefined) m.set('authorization', value);
      return m;
    };
    assert.equal(hasBearer(md('Bearer s3cret-token-value'), 's3cret-token-value'), true);
    assert.equal(hasBearer(md('bearer s3cret-token-value'), 's3cret-token-value'), true);
    assert.equal(hasBearer(md('Bearer s3cret-token-valuX'), 's3cret-token-value'), false);
    assert.equal(hasBearer(md('Bearer s3cret'), 's3cret-token-value'), false);
    assert.equal(hasBearer(md('s3cret-token-value'), 's3cret-token-value'), false);
    assert.equal(hasBearer(md(), 's3cret-token-value'), false);
  });

  it('control: rotate puts the new secret first, bounds the others, drops expired ones', () => {
    const record = {
      id: 'src',
      secrets: [
        { id: 'a', value: 'va' },
        { id: 'b', value: 'vb', notAfterMs: 1_500 },
        { id: 'c', value: 'vc', notAfterMs: 900 },
      ],
    };
    const rotated = rotate(record, { id: 'n', value: 'vn', previousValidUntilMs: 2_000, nowMs: 1_000 });
    assert.deepEqual(rotated.secrets, [
      { id: 'n', value: 'vn' },
      { id: 'a', value: 'va', notAfterMs: 2_000 },
      { id: 'b', value: 'vb', notAfterMs: 1_500 },
    ]);
    assert.throws(
      () => rotate(record, { id: 'a', value: 'x', previousValidUntilMs: 2_000, nowMs: 1_000 }),
      (err: RpcError) => err.code === status.INVALID_ARGUMENT && err.field === 'new_secret_id',
    );
  });

  it('control: redact hides values; restoreRedacted brings stored ones back by id', () => {
    const stored = { id: 'e', secrets: [{ id: 'k1', value: 'whsec_AAAA' }] };
    const shown = redact(stored);
    assert.deepEqual(shown.secrets, [{ id: 'k1', value: REDACTED }]);
    assert.deepEqual(restoreRedacted(shown, stored), stored);
    assert.throws(() => restoreRedacted({ id: 'e', secrets: [{ id: 'k9', value: REDACTED }] }, stored), /secrets\[0\]\.value/);
    assert.deepEqual(redact({ id: 'no-secrets' }), { id: 'no-secrets' });
  });

  it('control: redacted headers and URL query values come back from the stored record by name; unknown ones are refused', () => {
    const stored = {
      id: 'e',
      url: 'https://h.example/old?token=t1&token=t2&plain',
      headers: { Authorization: 'Bearer a', 'X-Team': 'ops' },
      secrets: [{ id: 'k1', value: 'whsec_AAAA' }],
    };
    const shown = redact(stored);
    assert.deepEqual(shown.headers, { Authorization: REDACTED, 'X-Team': REDACTED });
    assert.equal(shown.url, 'https://h.example/old?token=***&token=***&***');
    assert.deepEqual(restoreRedacted(shown, stored), stored);
    // The path changes, the tokens stay; a header named in another case keeps its value; a new value replaces.
    assert.deepEqual(
      restoreRedacted(
        { ...shown, url: 'https://h.example/new?token=***&token=x', headers: { authorization: REDACTED, 'X-Team': 'dev' } },
        stored,
      ),
      { ...stored, url: 'https://h.example/new?token=t1&token=x', headers: { authorization: 'Bearer a', 'X-Team': 'dev' } },
    );
    assert.throws(
      () => restoreRedacted({ ...shown, headers: { 'X-New': REDACTED } }, stored),
      (err: RpcError) => err.code === status.INVALID_ARGUMENT && err.field === 'headers.X-New',
    );
    assert.throws(
      () => restoreRedacted({ ...shown, url: 'https://h.example/old?other=***' }, stored),
      (err: RpcError) => err.code === status.INVALID_ARGUMENT && err.field === 'url',
    );
  });

  it('control: a rotation answer shows the new secret and redacts every other secret-bearing value', () => {
    const record = {
      id: 'e',
      url: 'https://h.example/?token=t',
      headers: { Authorization: 'Bearer a' },
      secrets: [
        { id: 'new', value: 'whsec_NEW' },
        { id: 'old', value: 'whsec_OLD', notAfterMs: 5 },
      ],
    };
    assert.deepEqual(rotatedView(record, 'new'), {
      id: 'e',
      url: 'https://h.example/?token=***',
      headers: { Authorization: REDACTED },
      secrets: [
        { id: 'new', value: 'whsec_NEW' },
        { id: 'old', value: REDACTED, notAfterMs: 5 },
      ],
    });
  });

  it('control: config JSON over the size or depth limit is INVALID_ARGUMENT naming the field and the limit, checked before parsing', () => {
    const limits = { maxBytes: 100, maxDepth: 3 };
    assert.deepEqual(parseJsonField('{"a":[1,{"b":2}]}', 'config_json', limits), { a: [1, { b: 2 }] });
    assert.equal(jsonDepth('{"a":"[[[[{{{{","b":"\\"[["}'), 1, 'brackets in strings do not count');
    assert.equal(jsonDepth('[[[[[[[[', 4), 5, 'stops counting past the limit');
    const refused = (text: string, message: RegExp) =>
      assert.throws(
        () => parseJsonField(text, 'config_json', limits),
        (err: RpcError) => err.code === status.INVALID_ARGUMENT && err.field === 'config_json' && message.test(err.message),
      );
    refused(`"${'x'.repeat(200)}"`, /^config_json: is 202 bytes, over the limit of 100 bytes \(HS_CONTROL_MAX_CONFIG_BYTES\)/);
    refused('[[[[1]]]]', /deeper than the limit of 3 levels \(HS_CONTROL_MAX_CONFIG_DEPTH\)/);
    refused(' ', /is required/);
    checkConfigLimit(256 * 1024, 1024 * 1024);
    assert.throws(
      () => checkConfigLimit(600 * 1024, 1024 * 1024),
      (err: ConfigError) => /614400.*1048576/.test(err.message),
    );
  });

  it('control: dead-letter filters match stage by subject, the rest by headers', () => {
    const h = headersOf({ 'hs-source': 'stripe', 'hs-dlq-reason': 'bad_signature' });
    const any = { stage: '', source: '', endpoint: '', reason: '' };
    assert.equal(matches('hs.dlq.verify.stripe', h, any), true);
    assert.equal(matches('hs.dlq.verify.stripe', h, { ...any, stage: 'verify', reason: 'bad_signature' }), true);
    assert.equal(matches('hs.dlq.verify.stripe', h, { ...any, stage: 'validate' }), false);
    assert.equal(matches('hs.dlq.verify.stripe', h, { ...any, source: 'github' }), false);
    assert.equal(matches('hs.dlq.deliver.ep1', headersOf({}), { ...any, endpoint: 'ep1' }), true);
    assert.equal(matches('hs.dlq.verify.stripe', h, { ...any, endpoint: 'ep1' }), false);
  });

  it('control: errors map to gRPC codes; unknown ones never leak their message', () => {
    assert.equal(toServiceError(new ValidationError('url', 'must use http')).code, status.INVALID_ARGUMENT);
    assert.equal(toServiceError(new ValidationError('url', 'must use http')).metadata?.get('hs-field')[0], 'url');
    assert.equal(toServiceError(new RpcError(status.NOT_FOUND, 'x')).code, status.NOT_FOUND);
    const internal = toServiceError(new Error('secret whsec_leak'));
    assert.equal(internal.code, status.INTERNAL);
    assert.doesNotMatch(internal.details, /whsec_leak/);
    // The broker not answering is UNAVAILABLE (retry), never a "not found" or INTERNAL.
    assert.equal(toServiceError(new TimeoutError()).code, status.UNAVAILABLE);
    assert.equal(toServiceError(new NoRespondersError('$JS.API.STREAM.MSG.GET.x')).code, status.UNAVAILABLE);
    const notEnabled = Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' });
    assert.equal(toServiceError(notEnabled).code, status.UNAVAILABLE);
  });
});

describe('control: events helpers', () => {
  const et = topology('ns');
  it('control: eventsFilter picks the narrowest subject for a source and type pattern', () => {
    assert.equal(eventsFilter(et, '', ''), 'ns.events.*.>');
    assert.equal(eventsFilter(et, 'stripe', '*'), 'ns.events.stripe.>');
    assert.equal(eventsFilter(et, 'stripe', 'charge.succeeded'), 'ns.events.stripe.charge.succeeded');
    assert.equal(eventsFilter(et, 'stripe', 'charge.*'), 'ns.events.stripe.charge.>');
    assert.equal(eventsFilter(et, '', '*.created'), 'ns.events.*.>');
    assert.equal(eventsFilter(et, 'a.b', 'x y'), 'ns.events.a_b.x_y');
  });

  it('control: uuidV7TimeMs reads the time of a UUIDv7 and nothing else', () => {
    assert.equal(uuidV7TimeMs('01a209ea-1db3-7007-8a4e-56f2b82c8342'), 0x01a209ea1db3);
    assert.equal(uuidV7TimeMs('01a209ea-1db3-4007-8a4e-56f2b82c8342'), undefined);
    assert.equal(uuidV7TimeMs('evt_1'), undefined);
  });

  it('control: a replayed task drops Nats-* and deliver progress headers, names its endpoint and replay', () => {
    const h = headers();
    h.set('hs-event-id', 'e1');
    h.set('Nats-Msg-Id', 'e1:route');
    h.set('hs-endpoint-id', 'old');
    h.set('hs-attempt', '7');
    h.set('hs-not-before', '123');
    h.set('hs-replay', 'earlier');
    const out = endpointReplayHeaders(h, 'wh', 'r1', 1_000);
    assert.deepEqual(Object.fromEntries([...out].map(([k, v]) => [k, v.join(',')])), {
      'hs-event-id': 'e1',
      'hs-endpoint-id': 'wh',
      'hs-replay': 'r1',
      'hs-replayed-at': '1000',
    });
  });

  it('control: attemptsSql quotes the event id', () => {
    assert.match(attemptsSql('hookstream', "x'y"), /WHERE event_id = 'x\\'y'/);
  });
});
