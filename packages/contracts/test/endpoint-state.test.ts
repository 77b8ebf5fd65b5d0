import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEndpointState, encodeEndpointState } from '@hookstream/contracts';

const enc = (v: string) => new TextEncoder().encode(v);

describe('endpoint state', () => {
  it('endpoint state: what deliver writes on a 410 is the JSON route, deliver and control read', () => {
    const written = encodeEndpointState({ disabled: true, reason: 'gone', at: 1_700_000_000_000 });
    assert.equal(written, '{"disabled":true,"reason":"gone","at":1700000000000}');
    assert.deepEqual(decodeEndpointState('ep', enc(written)), { disabled: true, reason: 'gone', at: 1_700_000_000_000 });
  });

  it('endpoint state: missing fields default; a malformed value throws, so a live cache reads the key as absent (not disabled)', () => {
    assert.deepEqual(decodeEndpointState('ep', enc('{"disabled":true,"reason":"HTTP 410","at":1}')), {
      disabled: true,
      reason: 'HTTP 410',
      at: 1,
    });
    assert.deepEqual(decodeEndpointState('ep', enc('{"disabled":false}')), { disabled: false, reason: '', at: 0 });
    for (const bad of ['nope', '{"disabled":"yes"}', 'null', '[]', '{}']) {
      assert.throws(() => decodeEndpointState('ep', enc(bad)), Error, bad);
    }
  });
});
