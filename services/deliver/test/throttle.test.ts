import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointConfig } from '@hookstream/models';
import { endpointSlots, rateHoldMs } from '../src/handler.ts';
import { EndpointGates, PROBE_WAIT_MS } from '../src/throttle.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('circuit gates and rate holds', () => {
  const endpoint = (extra: object = {}) =>
    parseEndpointConfig({ id: 'ep', url: 'http://127.0.0.1/', secrets: [{ id: 's', value: SECRET }], maxConcurrency: 2, ...extra });

  it('deliver: gates do not gate concurrency (the consumer does) and count what is in flight', () => {
    const gates = new EndpointGates(
      () => 0,
      () => 0.5,
    );
    const ep = endpoint();
    const passes = [gates.admit(ep), gates.admit(ep), gates.admit(ep)];
    assert.ok(passes.every((p) => p.kind === 'send'));
    assert.equal(gates.inFlight('ep'), 3);
    const [a] = passes;
    assert.ok(a?.kind === 'send');
    a.pass.done('success', 5);
    a.pass.done('success', 5); // settling twice is harmless
    assert.equal(gates.inFlight('ep'), 2);
  });

  it('deliver: gates open the circuit on failures and defer for the rest of openMs plus jitter', () => {
    let now = 0;
    const gates = new EndpointGates(
      () => now,
      () => 0,
    );
    const ep = endpoint({ circuit: { failureThreshold: 2, openMs: 1_000 } });
    for (let i = 0; i < 2; i++) {
      const a = gates.admit(ep);
      assert.ok(a.kind === 'send');
      a.pass.done('failure', 10);
    }
    assert.equal(gates.circuitState('ep'), 'open');
    now = 300;
    const w = gates.admit(ep);
    assert.ok(w.kind === 'wait' && w.delayMs === 700, JSON.stringify(w));
    now = 1_000;
    const probe = gates.admit(ep);
    assert.equal(probe.kind, 'send');
    const held = gates.admit(ep);
    assert.ok(
      held.kind === 'wait' && held.delayMs >= PROBE_WAIT_MS.min && held.delayMs <= PROBE_WAIT_MS.max,
      'no second request while the probe is out',
    );
    assert.ok(probe.kind === 'send');
    probe.pass.done('success', 10);
    assert.equal(gates.circuitState('ep'), 'closed');
  });

  it('deliver: a rate limit holds each slot slots/rate seconds from the start of its request', () => {
    // 2 slots at 4/s: each slot is kept 500 ms from its request's start.
    const ep = endpoint({ maxConcurrency: 2, rateLimitPerSecond: 4 });
    assert.equal(rateHoldMs(ep, 1_000, 1_020), 480);
    assert.equal(rateHoldMs(ep, 1_000, 1_700), 0, 'a request slower than the pace is not held');
    assert.equal(rateHoldMs(endpoint(), 1_000, 1_020), 0, 'no rate limit, no hold');
    assert.equal(rateHoldMs(endpoint({ ordering: 'strict', rateLimitPerSecond: 4 }), 1_000, 1_000), 250, 'strict: one slot');
    // Ordered by a key: 4 lanes of one slot each, so each request paces 4 / rate.
    const keyed = endpoint({ ordering: 'strict', orderingKey: { from: 'json', path: '$.c' }, orderingLanes: 4, rateLimitPerSecond: 2 });
    assert.equal(rateHoldMs(keyed, 1_000, 1_000), 2_000, 'the rate holds over all lanes together');
    assert.equal(endpointSlots(endpoint({ ordering: 'strict', maxConcurrency: 8 })), 1);
    assert.equal(endpointSlots(endpoint({ maxConcurrency: 8 })), 8);
  });
});
