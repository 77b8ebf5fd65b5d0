import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointConfig } from '@hookstream/models';
import { type CircuitChange, EndpointGates } from '../src/throttle.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('circuit changes', () => {
  const ep = parseEndpointConfig({
    id: 'ep',
    url: 'http://127.0.0.1/',
    secrets: [{ id: 's', value: SECRET }],
    circuit: { failureThreshold: 2, openMs: 1_000 },
  });

  it('deliver: a circuit reports opened once when failures open it and closed once when its probe succeeds', () => {
    // Scenario: 2 failures open it; a failed probe re-opens it (no change);
    // a successful probe closes it; successes after that change nothing.
    let now = 0;
    const changes: [string, CircuitChange, number][] = [];
    const gates = new EndpointGates(
      () => now,
      () => 0,
      (id, change, atMs) => changes.push([id, change, atMs]),
    );
    const send = (verdict: 'success' | 'failure') => {
      const a = gates.admit(ep);
      assert.equal(a.kind, 'send');
      if (a.kind === 'send') a.pass.done(verdict, 1);
    };
    send('success');
    send('failure');
    assert.deepEqual(changes, []);
    now = 10;
    send('failure');
    assert.deepEqual(changes, [['ep', 'opened', 10]]);
    now = 1_010;
    send('failure'); // the probe fails: still open
    assert.deepEqual(changes, [['ep', 'opened', 10]]);
    now = 2_010;
    send('success'); // the next probe succeeds
    send('success');
    assert.deepEqual(changes, [
      ['ep', 'opened', 10],
      ['ep', 'closed', 2_010],
    ]);
  });
});
