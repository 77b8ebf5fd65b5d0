import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { httpStatusOf, methodOf } from '../../src/console/rpc-json.ts';

describe('console: RPC over JSON', () => {
  it('console: URL method names map to handler keys only for real RPCs; gRPC codes map to HTTP statuses', () => {
    assert.equal(methodOf('ListEndpoints'), 'listEndpoints');
    assert.equal(methodOf('EndpointHealth'), 'endpointHealth');
    for (const bad of ['listEndpoints', 'Constructor', 'ToString', 'HasOwnProperty', '__proto__', '', 'List-Endpoints']) {
      assert.equal(methodOf(bad), undefined, bad);
    }
    assert.equal(httpStatusOf(status.INVALID_ARGUMENT), 400);
    assert.equal(httpStatusOf(status.NOT_FOUND), 404);
    assert.equal(httpStatusOf(status.FAILED_PRECONDITION), 412);
    assert.equal(httpStatusOf(status.UNIMPLEMENTED), 501);
    assert.equal(httpStatusOf(status.INTERNAL), 500);
  });
});
