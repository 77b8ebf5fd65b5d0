import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointState } from '@hookstream/control';

describe('control: endpoint health', () => {
  it('console: endpoint state values parse leniently', () => {
    const enc = (v: string) => new TextEncoder().encode(v);
    assert.deepEqual(parseEndpointState(enc('{"disabled":true,"reason":"HTTP 410","at":1}')), { disabled: true, reason: 'HTTP 410' });
    assert.deepEqual(parseEndpointState(enc('{"disabled":"yes"}')), { disabled: false, reason: '' });
    assert.equal(parseEndpointState(enc('nope')), undefined);
  });
});
