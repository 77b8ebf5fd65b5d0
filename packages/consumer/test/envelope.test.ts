import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { headers } from '@nats-io/transport-node';
import { EnvelopeError, type EventMessage, parseEvent } from '../src/envelope.ts';

const enc = new TextEncoder();

/** A fake JsMsg with the envelope route publishes (pure test: no NATS). */
function message(body: string, set: Record<string, string | string[]> = {}, omit: string[] = []): EventMessage {
  const h = headers();
  const all: Record<string, string | string[]> = {
    [Header.eventId]: '0190a1b2-0000-7000-8000-000000000001',
    [Header.source]: 'stripe',
    [Header.receivedAt]: '1796050913601',
    [Header.eventType]: 'payment_intent.succeeded',
    [Header.verifiedSecretId]: 'k1',
    [Header.idempotencyKey]: 'evt_1',
    'hs-h-content-type': 'application/json',
    ...set,
  };
  for (const [k, v] of Object.entries(all)) {
    if (omit.includes(k)) continue;
    for (const value of Array.isArray(v) ? v : [v]) h.append(k, value);
  }
  return {
    subject: 'events.stripe.payment_intent.succeeded',
    data: enc.encode(body),
    headers: h,
    info: { deliveryCount: 2, streamSequence: 7 },
  };
}

describe('consumer envelope', () => {
  it('parseEvent: reads every envelope header, the provider headers and the JSON body', () => {
    const e = parseEvent(message('{"id":"evt_1","amount":5}', { 'hs-h-x-repeated': ['a', 'b'] }));
    assert.equal(e.id, '0190a1b2-0000-7000-8000-000000000001');
    assert.equal(e.source, 'stripe');
    assert.equal(e.type, 'payment_intent.succeeded');
    assert.deepEqual(e.receivedAt, new Date(1796050913601));
    assert.equal(e.verifiedSecretId, 'k1');
    assert.equal(e.idempotencyKey, 'evt_1');
    assert.deepEqual(e.providerHeaders, { 'content-type': 'application/json', 'x-repeated': 'a, b' });
    assert.equal(e.deliveryCount, 2);
    assert.equal(e.streamSequence, 7);
    assert.deepEqual(e.json<{ amount: number }>(), { id: 'evt_1', amount: 5 });
    assert.equal(e.text(), '{"id":"evt_1","amount":5}');
    assert.deepEqual([...e.raw], [...enc.encode('{"id":"evt_1","amount":5}')]);
  });

  it('parseEvent: a Slack form body decodes, payload as JSON', () => {
    const payload = { type: 'block_actions', user: { id: 'U1' } };
    const e = parseEvent(message(`payload=${encodeURIComponent(JSON.stringify(payload))}&token=t`, {}, [Header.verifiedSecretId]));
    assert.equal(e.verifiedSecretId, undefined, 'absent for the none scheme');
    const form = e.form<typeof payload>();
    assert.deepEqual(form.payload, payload);
    assert.equal(form.fields.token, 't');
    const slash = parseEvent(message('command=%2Fdeploy&text=api+now')).form();
    assert.deepEqual(slash, { fields: { command: '/deploy', text: 'api now' }, payload: undefined });
  });

  it('parseEvent: a body that is not JSON throws EnvelopeError naming the body', () => {
    const e = parseEvent(message('payload=%7B%7B'));
    assert.throws(
      () => e.json(),
      (err: unknown) => err instanceof EnvelopeError && err.field === 'body',
    );
    assert.throws(
      () => e.form(),
      (err: unknown) => err instanceof EnvelopeError && err.field === 'body',
    );
  });

  for (const missing of [Header.eventId, Header.source, Header.receivedAt]) {
    it(`parseEvent: a message without ${missing} is not a hookstream event`, () => {
      assert.throws(
        () => parseEvent(message('{}', {}, [missing])),
        (err: unknown) => err instanceof EnvelopeError && err.field === missing && err.message.includes(missing),
      );
    });
  }

  it('parseEvent: hs-received-at that is not epoch milliseconds is refused; a missing type reads _', () => {
    assert.throws(
      () => parseEvent(message('{}', { [Header.receivedAt]: '2026-12-01' })),
      (err: unknown) => err instanceof EnvelopeError && err.field === Header.receivedAt,
    );
    assert.equal(parseEvent(message('{}', {}, [Header.eventType])).type, '_');
  });

  it('parseEvent: a message with no headers at all names hs-event-id', () => {
    const bare: EventMessage = {
      subject: 'events.x.y',
      data: enc.encode('{}'),
      headers: undefined,
      info: { deliveryCount: 1, streamSequence: 1 },
    };
    assert.throws(
      () => parseEvent(bare),
      (err: unknown) => err instanceof EnvelopeError && err.field === Header.eventId,
    );
  });
});
