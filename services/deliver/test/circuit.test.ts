import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker } from '../src/circuit.ts';

describe('circuit breaker', () => {
  const circuit = { failureThreshold: 3, openMs: 1_000 };

  it('deliver: the circuit opens after N consecutive failures, probes once after openMs, and closes on success', () => {
    const b = new CircuitBreaker();
    b.onFailure(0, circuit);
    b.onFailure(1, circuit);
    b.onSuccess(); // resets the run
    b.onFailure(2, circuit);
    b.onFailure(3, circuit);
    assert.equal(b.state(3), 'closed');
    assert.deepEqual(b.admit(3, 50), { kind: 'send', probe: false });
    b.onFailure(10, circuit);
    assert.equal(b.state(10), 'open');
    assert.deepEqual(b.admit(400, 50), { kind: 'wait', delayMs: 610 });
    assert.equal(b.state(1_010), 'half-open');
    assert.deepEqual(b.admit(1_010, 50), { kind: 'send', probe: true });
    assert.deepEqual(b.admit(1_011, 50), { kind: 'wait', delayMs: 50 }, 'one probe at a time');
    b.onSuccess();
    assert.equal(b.state(1_020), 'closed');
    assert.deepEqual(b.admit(1_020, 50), { kind: 'send', probe: false });
  });

  it('deliver: a failed probe reopens the circuit for openMs; a cancelled probe lets another through', () => {
    const b = new CircuitBreaker();
    for (let i = 0; i < 3; i++) b.onFailure(0, circuit);
    assert.deepEqual(b.admit(1_000, 50), { kind: 'send', probe: true });
    b.onFailure(1_100, circuit);
    assert.equal(b.state(1_100), 'open');
    assert.deepEqual(b.admit(1_500, 50), { kind: 'wait', delayMs: 600 });
    assert.deepEqual(b.admit(2_100, 50), { kind: 'send', probe: true });
    b.cancelProbe();
    assert.deepEqual(b.admit(2_101, 50), { kind: 'send', probe: true });
  });
});
