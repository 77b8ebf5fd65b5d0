import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topology } from '@hookstream/runtime';
import { headers } from '@nats-io/transport-node';
import { endpointReplayHeaders, eventsFilter, uuidV7TimeMs } from '../src/events.ts';

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
});
