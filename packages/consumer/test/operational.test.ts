import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeOperationalEvent, Header, OPERATIONAL_SOURCE, operationalEventSubject } from '@hookstream/contracts';
import { headers } from '@nats-io/transport-node';
import {
  CONSUMER_METADATA,
  ConsumerOptionsError,
  operationalFilterSubjects,
  operationalStream,
  resolveConsumerConfig,
} from '../src/consumer.ts';
import { EnvelopeError, parseEvent } from '../src/envelope.ts';
import { operationalEvent } from '../src/operational.ts';

/** A parsed event as route publishes an operational one on `hs.ops.{kind}` (pure test: no NATS). */
function opsEvent(body: Uint8Array, set: Record<string, string> = {}) {
  const h = headers();
  const all: Record<string, string> = {
    [Header.eventId]: '0190a1b2-0000-8000-8000-000000000001',
    [Header.source]: OPERATIONAL_SOURCE,
    [Header.receivedAt]: '1796050913601',
    [Header.eventType]: 'endpoint.disabled',
    'hs-h-content-type': 'application/json',
    ...set,
  };
  for (const [k, v] of Object.entries(all)) h.set(k, v);
  return parseEvent({ subject: 'hs.ops.endpoint.disabled', data: body, headers: h, info: { deliveryCount: 1, streamSequence: 3 } });
}

describe('consumer kit: operational events', () => {
  it('operationalFilterSubjects: every kind by default, patterns on hs.ops, the namespace prefix', () => {
    assert.deepEqual(operationalFilterSubjects(undefined), ['hs.ops.>']);
    assert.deepEqual(operationalFilterSubjects([]), ['hs.ops.>']);
    assert.deepEqual(operationalFilterSubjects(['endpoint.*', 'delivery.exhausted'], 'ns'), [
      'ns.hs.ops.endpoint.*',
      'ns.hs.ops.delivery.exhausted',
    ]);
    // The same grammar as the subject route publishes on.
    assert.deepEqual(operationalFilterSubjects(['circuit.opened']), [operationalEventSubject('circuit.opened')]);
    assert.deepEqual(operationalFilterSubjects(['*.*', 'source.>']), ['hs.ops.*.*', 'hs.ops.source.>']);
  });

  it('operationalFilterSubjects: a malformed pattern or one matching no kind is refused', () => {
    for (const t of ['endpoint.disable', 'endpoint', 'endpoint.*.x', 'payment_intent.*', 'a..b', '>.a', 'endpoint disabled']) {
      assert.throws(() => operationalFilterSubjects([t]), ConsumerOptionsError, t);
    }
  });

  it('resolveConsumerConfig: operational makes the durable on HS_OPS ({ns}_HS_OPS), same name, dlq and metadata', () => {
    const r = resolveConsumerConfig({ team: 'oncall', operational: true, types: ['endpoint.*'], namespace: 'ns' });
    assert.equal(r.stream, 'ns_HS_OPS');
    assert.equal(operationalStream(), 'HS_OPS');
    assert.equal(r.name, 'oncall');
    assert.deepEqual(r.config.filter_subjects, ['ns.hs.ops.endpoint.*']);
    assert.equal(r.deadLetterSubject, 'ns.teams.oncall.dlq');
    assert.equal(r.config.metadata?.[CONSUMER_METADATA.deadLetterSubject], 'ns.teams.oncall.dlq');
    assert.equal(resolveConsumerConfig({ team: 'oncall', operational: true }).stream, 'HS_OPS');
    assert.deepEqual(resolveConsumerConfig({ team: 'oncall', operational: true }).config.filter_subjects, ['hs.ops.>']);
    // Without the flag nothing changes: providers' events on HS_EVENTS.
    assert.equal(resolveConsumerConfig({ team: 'oncall', operational: false }).stream, 'HS_EVENTS');
  });

  it('resolveConsumerConfig: sources with operational is refused', () => {
    assert.throws(() => resolveConsumerConfig({ team: 'oncall', operational: true, sources: ['stripe'] }), ConsumerOptionsError);
    assert.throws(
      () => resolveConsumerConfig({ team: 'oncall', operational: true, sources: [] }),
      /sources cannot be given with operational/,
    );
  });

  it('operationalEvent: decodes the body, typed by kind', () => {
    const body = encodeOperationalEvent({ type: 'endpoint.disabled', data: { endpoint_id: 'ep1', reason: 'operator', at: 5 } });
    const e = operationalEvent(opsEvent(body));
    assert.equal(e.type, 'endpoint.disabled');
    // The narrowing is what the type promises: data of endpoint.disabled has reason.
    const reason = e.type === 'endpoint.disabled' ? e.data.reason : undefined;
    assert.equal(reason, 'operator');
    assert.deepEqual(e.data, { endpoint_id: 'ep1', reason: 'operator', at: 5 });
  });

  it('operationalEvent: an event of another source, a body that is not one, or a kind unlike hs-event-type throws EnvelopeError', () => {
    const body = encodeOperationalEvent({ type: 'endpoint.disabled', data: { endpoint_id: 'ep1', reason: 'gone', at: 5 } });
    const cases: [ReturnType<typeof opsEvent>, string][] = [
      [opsEvent(body, { [Header.source]: 'stripe' }), Header.source],
      [opsEvent(new TextEncoder().encode('{"type":"payment_intent.succeeded","data":{}}')), 'body'],
      [opsEvent(new TextEncoder().encode('not json')), 'body'],
      [opsEvent(body, { [Header.eventType]: 'endpoint.enabled' }), Header.eventType],
    ];
    for (const [event, field] of cases) {
      assert.throws(
        () => operationalEvent(event),
        (err: unknown) => err instanceof EnvelopeError && err.field === field,
        field,
      );
    }
  });
});
