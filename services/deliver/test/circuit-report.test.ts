import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCircuitReport } from '@hookstream/models';
import { createLogger } from '@hookstream/runtime';
import type { CircuitState } from '../src/circuit.ts';
import { CircuitReporter } from '../src/circuit-report.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

/** A KV stand-in that records puts and deletes (the reporter is pure over it). */
function fakeKv(failPuts = 0) {
  const entries = new Map<string, Uint8Array>();
  const calls: string[] = [];
  let failures = failPuts;
  return {
    entries,
    calls,
    put: async (key: string, value: Uint8Array) => {
      calls.push(`put ${key}`);
      if (failures > 0) {
        failures--;
        throw new Error('nats down');
      }
      entries.set(key, value);
      return entries.size;
    },
    delete: async (key: string) => {
      calls.push(`delete ${key}`);
      entries.delete(key);
    },
  };
}

describe('circuit reports', () => {
  it('deliver: open and half-open circuits are written each report; a closed one is deleted once; stop withdraws the rest', async () => {
    const kv = fakeKv();
    let states: [string, CircuitState][] = [
      ['a', 'open'],
      ['b', 'closed'],
      ['c.x', 'half-open'],
    ];
    const reporter = new CircuitReporter({ kv, replica: 'pod-1.ns-42', states: () => states, now: () => 1_000, logger });
    await reporter.report();
    assert.deepEqual(kv.calls, ['put a.pod-1_ns-42', 'put c_x.pod-1_ns-42']);
    const stored = kv.entries.get('a.pod-1_ns-42');
    assert.ok(stored);
    assert.deepEqual(decodeCircuitReport(stored), { endpoint: 'a', replica: 'pod-1.ns-42', state: 'open', reportedAtMs: 1_000 });
    kv.calls.length = 0;
    states = [
      ['a', 'closed'],
      ['c.x', 'half-open'],
    ];
    await reporter.report();
    await reporter.report();
    assert.deepEqual(kv.calls, ['put c_x.pod-1_ns-42', 'delete a.pod-1_ns-42', 'put c_x.pod-1_ns-42']);
    kv.calls.length = 0;
    const stop = reporter.start(60_000);
    await stop();
    assert.deepEqual(kv.calls, ['delete c_x.pod-1_ns-42']);
    assert.equal(kv.entries.size, 0);
  });

  it('deliver: a failed report write is tried again at the next report, never thrown', async () => {
    const kv = fakeKv(1);
    const reporter = new CircuitReporter({ kv, replica: 'r', states: () => [['a', 'open']], now: () => 5, logger });
    await reporter.report();
    assert.equal(kv.entries.size, 0);
    await reporter.report();
    assert.equal(kv.entries.size, 1);
  });

  it('runtime: malformed circuit reports decode to undefined', () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    assert.equal(decodeCircuitReport(new TextEncoder().encode('{')), undefined);
    assert.equal(decodeCircuitReport(enc(null)), undefined);
    assert.equal(decodeCircuitReport(enc({ endpoint: 'a', replica: 'r', state: 'broken', reportedAtMs: 1 })), undefined);
    assert.equal(decodeCircuitReport(enc({ endpoint: 'a', replica: 'r', state: 'open' })), undefined);
  });
});
