import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ValidationError } from '@hookstream/contracts';
import { NoRespondersError, TimeoutError } from '@nats-io/transport-node';
import { RpcError, toServiceError } from '../src/errors.ts';

describe('control: errors', () => {
  it('control: errors map to gRPC codes; unknown ones never leak their message', () => {
    assert.equal(toServiceError(new ValidationError('url', 'must use http')).code, status.INVALID_ARGUMENT);
    assert.equal(toServiceError(new ValidationError('url', 'must use http')).metadata?.get('hs-field')[0], 'url');
    assert.equal(toServiceError(new RpcError(status.NOT_FOUND, 'x')).code, status.NOT_FOUND);
    const internal = toServiceError(new Error('secret whsec_leak'));
    assert.equal(internal.code, status.INTERNAL);
    assert.doesNotMatch(internal.details, /whsec_leak/);
    // The broker not answering is UNAVAILABLE (retry), never a "not found" or INTERNAL.
    assert.equal(toServiceError(new TimeoutError()).code, status.UNAVAILABLE);
    assert.equal(toServiceError(new NoRespondersError('$JS.API.STREAM.MSG.GET.x')).code, status.UNAVAILABLE);
    const notEnabled = Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' });
    assert.equal(toServiceError(notEnabled).code, status.UNAVAILABLE);
  });
});
