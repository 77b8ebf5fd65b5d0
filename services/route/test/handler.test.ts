import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { compileFilter, type EndpointConfig, FilterCache, parseData, parseEndpointConfig } from '@hookstream/models';
import { headers } from '@nats-io/transport-node';
import { handleValid, planRoutes, type RouteDeps, type ValidMessage } from '../src/handler.ts';

const SECRET = [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }];
const endpoint = (over: Record<string, unknown>): EndpointConfig =>
  parseEndpointConfig({ url: 'https://example.com/h', secrets: SECRET, ...over });

function message(body: string, type: string, extra: Record<string, string> = {}): ValidMessage {
  const h = headers();
  h.set(Header.eventId, 'e1');
  h.set(Header.source, 'stripe');
  h.set(Header.eventType, type);
  h.set('hs-h-content-type', 'application/json');
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return { subject: 'hs.valid.stripe', data: new TextEncoder().encode(body), header: (n) => h.get(n) || undefined, headers: h };
}

const plan = (eps: EndpointConfig[], msg: ValidMessage, disabled: string[] = []) =>
  planRoutes(eps, (id) => (disabled.includes(id) ? { disabled: true, reason: 'gone', at: 0 } : undefined), new FilterCache(), {
    type: msg.header(Header.eventType) ?? '',
    source: 'stripe',
    id: 'e1',
    msg,
  });

describe('route planning', () => {
  it('route: patterns, sources and enabled decide which endpoints get a task', () => {
    const eps = [
      endpoint({ id: 'all' }),
      endpoint({ id: 'payments', eventTypes: ['payment_intent.*'] }),
      endpoint({ id: 'refunds', eventTypes: ['charge.refunded'] }),
      endpoint({ id: 'github-only', sources: ['github'] }),
      endpoint({ id: 'off', enabled: false }),
      endpoint({ id: 'gone' }),
    ];
    const result = plan(eps, message('{}', 'payment_intent.succeeded'), ['gone']);
    assert.deepEqual(result.endpointIds, ['all', 'payments']);
    assert.deepEqual(result.failures, []);
  });

  it('route: an endpoint ordered by a key gets the lane its key hashes to; the same key always the same lane', () => {
    const byCustomer = endpoint({
      id: 'ledger',
      ordering: 'strict',
      orderingKey: { from: 'json', path: '$.data.object.customer' },
      orderingLanes: 8,
    });
    const byHeader = endpoint({ id: 'by-shop', ordering: 'strict', orderingKey: { from: 'header', name: 'X-Shop' } });
    const laneOf = (body: string, extra: Record<string, string> = {}) =>
      plan([byCustomer, byHeader, endpoint({ id: 'plain' })], message(body, 'x', extra)).lanes;
    const a = laneOf('{"data":{"object":{"customer":"cus_A"}}}', { 'hs-h-x-shop': 'shop-1' });
    assert.equal(a.has('plain'), false, 'an unordered endpoint has no lane');
    assert.deepEqual(laneOf('{"data":{"object":{"customer":"cus_A"}},"other":1}', { 'hs-h-x-shop': 'shop-1' }), a, 'same keys, same lanes');
    const lanes = new Set(Array.from({ length: 40 }, (_, i) => laneOf(`{"data":{"object":{"customer":"cus_${i}"}}}`).get('ledger')));
    assert.ok(
      lanes.size > 4 && [...lanes].every((l) => l !== undefined && l >= 0 && l < 8),
      `40 customers spread over the 8 lanes: ${[...lanes]}`,
    );
    assert.equal(laneOf('{"no":"customer"}').get('ledger'), 0, 'an event without the key takes lane 0');
    assert.equal(laneOf('not json').get('ledger'), 0);
  });

  it('route: ordering keys are checked when an endpoint is saved', () => {
    assert.throws(() => endpoint({ id: 'x', orderingKey: { from: 'json', path: '$.a' } }), /orderingKey: needs "ordering": "strict"/);
    assert.throws(() => endpoint({ id: 'x', ordering: 'strict', orderingKey: { from: 'json', path: 'a' } }), /orderingKey/);
    assert.throws(
      () => endpoint({ id: 'x', ordering: 'strict', orderingKey: { from: 'json', path: '$.a' }, orderingLanes: 257 }),
      /orderingLanes/,
    );
    assert.throws(() => endpoint({ id: 'x', ordering: 'sorted' }), /ordering/);
  });

  it('route: filters see type, source, data and sender headers', () => {
    const eps = [
      endpoint({ id: 'big', filter: 'data.data.object.amount >= 1000' }),
      endpoint({ id: 'small', filter: 'data.data.object.amount < 1000' }),
      endpoint({ id: 'live', filter: "headers['x-mode'] == 'live' && source == 'stripe' && type.startsWith('payment')" }),
    ];
    const msg = message('{"data":{"object":{"amount":2500}}}', 'payment_intent.succeeded', { 'hs-h-x-mode': 'live' });
    assert.deepEqual(plan(eps, msg).endpointIds, ['big', 'live']);
  });

  it('route: a filter that errors at run time fails for its endpoint only', () => {
    const eps = [
      endpoint({ id: 'needs-amount', filter: 'data.amount > 1' }),
      endpoint({ id: 'all' }),
      endpoint({ id: 'not-bool', filter: '"yes"' }),
    ];
    const result = plan(eps, message('{"other":1}', 'x'));
    assert.deepEqual(result.endpointIds, ['all']);
    assert.deepEqual(
      result.failures.map((f) => f.endpointId),
      ['needs-amount', 'not-bool'],
    );
    assert.match(result.failures[0]?.error ?? '', /amount/);
  });

  it('route: form bodies are objects for filters, garbage is null', () => {
    assert.deepEqual(parseData(new TextEncoder().encode('a=1&b=x'), 'application/x-www-form-urlencoded'), { a: '1', b: 'x' });
    assert.equal(parseData(new TextEncoder().encode('{oops'), 'application/json'), null);
    assert.deepEqual(compileFilter('data == null')({ type: '', source: '', id: '', data: null, headers: {} }), { ok: true, match: true });
  });

  it('route: the event, every task and every filter failure are published before the ack', async () => {
    const published: string[] = [];
    const deps: RouteDeps = {
      endpoints: () => [endpoint({ id: 'a' }), endpoint({ id: 'b', filter: 'data.missing > 1' })],
      state: () => undefined,
      filters: new FilterCache(),
      now: () => 0,
      publishEvent: async (_m, id, source, type) => {
        published.push(`event:${id}:${source}:${type}`);
      },
      publishTask: async (_m, id, ep) => {
        published.push(`task:${id}:${ep}`);
      },
      deadLetterFilter: async (_m, id, _s, failure) => {
        published.push(`dlq:${id}:${failure.endpointId}`);
      },
    };
    assert.deepEqual(await handleValid(message('{}', 'charge.succeeded'), deps), { kind: 'ack' });
    assert.deepEqual(published.sort(), ['dlq:e1:b', 'event:e1:stripe:charge.succeeded', 'task:e1:a']);
  });
});
