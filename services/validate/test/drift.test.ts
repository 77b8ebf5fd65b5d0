import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DriftLimiter, findDrift } from '../src/drift.ts';

describe('validate drift', () => {
  it('validate: drift follows $ref, allOf, anyOf and patternProperties, and skips open objects', () => {
    const schema = {
      $defs: { customer: { type: 'object', properties: { id: { type: 'string' } } } },
      allOf: [{ properties: { id: {} } }],
      anyOf: [{ properties: { kind: {} } }],
      properties: {
        customer: { $ref: '#/$defs/customer' },
        metadata: { type: 'object' },
        tags: { type: 'object', properties: {}, patternProperties: { '^x-': {} } },
        extra: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
        tuple: { prefixItems: [{ properties: { p: {} } }], items: { properties: { q: {} } } },
      },
    };
    const value = {
      id: 'a',
      kind: 'k',
      customer: { id: 'c', email: 'e@x' },
      metadata: { anything: 1 },
      tags: { 'x-ok': 1, bad: null },
      extra: { free: 'x' },
      tuple: [{ p: 1, p2: 2 }, { q: 1, q2: [] }, { q2: {} }],
      'new field': 1.5,
    };
    assert.deepEqual(findDrift(value, schema), [
      { path: '$.customer.email', jsonType: 'string' },
      { path: '$.tags.bad', jsonType: 'null' },
      { path: '$.tuple[0].p2', jsonType: 'number' },
      { path: '$.tuple[*].q2', jsonType: 'array' },
      { path: '$["new field"]', jsonType: 'number' },
    ]);
  });

  it('validate: drift findings per event are bounded', () => {
    const value = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, i]));
    assert.equal(findDrift(value, { properties: {} }).length, 64);
    assert.deepEqual(findDrift(value, true), []);
  });

  it('validate: the drift limiter forgets expired keys and stays bounded', () => {
    let now = 0;
    const limiter = new DriftLimiter({ intervalMs: 1_000, now: () => now, maxKeys: 3 });
    for (const k of ['a', 'b', 'c', 'd']) assert.equal(limiter.tryAcquire(k), 0);
    assert.equal(limiter.size, 3, 'the oldest key was dropped');
    assert.equal(limiter.tryAcquire('d'), undefined);
    now = 1_000;
    assert.equal(limiter.tryAcquire('d'), 1_000);
    assert.equal(limiter.size, 1, 'expired keys pruned');
    limiter.release('d', 1_000);
    assert.equal(limiter.tryAcquire('d'), 1_000, 'released keys go again');
  });
});
