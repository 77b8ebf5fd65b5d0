import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeOperationalEvent,
  encodeOperationalEvent,
  endpointWantsEvent,
  isOperationalKind,
  OPERATIONAL_SOURCE,
  type OperationalEvent,
  operationalEventId,
  operationalEventSubject,
  operationalMsgId,
} from '@hookstream/contracts';
import { OPERATIONAL_KINDS, operationalEventKey } from '../src/operational-events.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const disabled: OperationalEvent<'endpoint.disabled'> = {
  type: 'endpoint.disabled',
  data: { endpoint_id: 'orders', reason: 'gone', at: 1_700_000_000_000 },
};

// These ids are persisted (JetStream's duplicate window, webhook-id): each assertion pins the exact form.
describe('operational events', () => {
  it('operational events: the subject is hs.ops.{kind}, the source a valid but reserved id', () => {
    assert.equal(operationalEventSubject('endpoint.disabled'), 'hs.ops.endpoint.disabled');
    assert.equal(operationalEventSubject('source.rejection_rate'), 'hs.ops.source.rejection_rate');
    assert.equal(OPERATIONAL_SOURCE, '_hookstream');
    assert.deepEqual(
      [...OPERATIONAL_KINDS],
      ['endpoint.disabled', 'endpoint.enabled', 'circuit.opened', 'circuit.closed', 'delivery.exhausted', 'source.rejection_rate'],
    );
    assert.equal(isOperationalKind('circuit.opened'), true);
    assert.equal(isOperationalKind('payment.succeeded'), false);
  });

  it('operational events: the key says what makes each kind one event', () => {
    assert.equal(operationalEventKey(disabled), 'endpoint.disabled:orders:gone:1700000000000');
    assert.equal(
      operationalEventKey({ type: 'endpoint.enabled', data: { endpoint_id: 'orders', reason: 'operator', at: 5 } }),
      'endpoint.enabled:orders:5',
    );
    assert.equal(
      operationalEventKey({ type: 'circuit.opened', data: { endpoint_id: 'orders', replica: 'r1', at: 7 } }),
      'circuit.opened:orders:r1:7',
    );
    const exhausted = { endpoint_id: 'orders', event_id: 'e1', source: 'stripe', event_type: 'x', attempts: 9, at: 1 };
    assert.equal(operationalEventKey({ type: 'delivery.exhausted', data: exhausted }), 'delivery.exhausted:e1:orders');
    assert.equal(
      operationalEventKey({ type: 'delivery.exhausted', data: { ...exhausted, replay: 'dlq-4' } }),
      'delivery.exhausted:e1:orders:dlq-4',
    );
    // Another replica, other counts, a later time: the same window of the same source is one event.
    const window = { source: 'stripe', window_start: 60_000, window_ms: 60_000, rejected: 10, total: 20, rate: 0.5, threshold: 0.5 };
    const a = operationalEventKey({ type: 'source.rejection_rate', data: { ...window, replica: 'a' } });
    const b = operationalEventKey({ type: 'source.rejection_rate', data: { ...window, replica: 'b', rejected: 30, total: 40 } });
    assert.equal(a, 'source.rejection_rate:stripe:60000');
    assert.equal(a, b);
  });

  it('operational events: the event id is a name-based UUID of the key; the msg id is {event id}:ops', () => {
    const id = operationalEventId(disabled);
    assert.match(id, UUID);
    assert.equal(id.length, 36);
    assert.equal(operationalEventId({ ...disabled, data: { ...disabled.data } }), id);
    assert.notEqual(operationalEventId({ ...disabled, data: { ...disabled.data, at: disabled.data.at + 1 } }), id);
    assert.equal(operationalMsgId(id), `${id}:ops`);
  });

  it('operational events: the body is {type, data} JSON and reads back', () => {
    const body = encodeOperationalEvent(disabled);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(body)), {
      type: 'endpoint.disabled',
      data: { endpoint_id: 'orders', reason: 'gone', at: 1_700_000_000_000 },
    });
    assert.deepEqual(decodeOperationalEvent(body), disabled);
    assert.throws(
      () => decodeOperationalEvent(new TextEncoder().encode('{"type":"payment.succeeded","data":{}}')),
      /not an operational event/,
    );
    assert.throws(() => decodeOperationalEvent(new TextEncoder().encode('{"type":"circuit.opened"}')), /data must be an object/);
  });

  it('operational events: an endpoint subscribes with its sources and event types, like any event', () => {
    const ctx = { state: undefined, filter: () => ({ ok: true, match: true }) as const };
    const event = { source: OPERATIONAL_SOURCE, type: 'endpoint.disabled' };
    const ops = { id: 'pager', enabled: true, sources: [OPERATIONAL_SOURCE], eventTypes: ['endpoint.*'] };
    assert.deepEqual(endpointWantsEvent(ops, event, ctx), { wants: true });
    assert.deepEqual(endpointWantsEvent({ ...ops, eventTypes: ['circuit.*'] }, event, ctx), { wants: false, why: 'event_type' });
    // An endpoint of provider sources does not get them, nor one of every source: they are opt-in.
    assert.deepEqual(endpointWantsEvent({ ...ops, sources: ['stripe'] }, event, ctx), { wants: false, why: 'source' });
    assert.deepEqual(endpointWantsEvent({ id: 'all', enabled: true, eventTypes: ['*'] }, event, ctx), { wants: false, why: 'source' });
    assert.deepEqual(endpointWantsEvent({ id: 'all', enabled: true, eventTypes: ['*'] }, { source: 'stripe', type: 'x' }, ctx), {
      wants: true,
    });
  });
});
