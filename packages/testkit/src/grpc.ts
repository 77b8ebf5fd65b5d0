import assert from 'node:assert/strict';
import { type ServiceError, status } from '@grpc/grpc-js';

/**
 * Asserts that `promise` rejects with gRPC status `code` (and, when given,
 * details matching `message`); resolves to the error. Fails the test when the
 * promise resolves or rejects with another code.
 */
export async function rejectsWithStatus(promise: Promise<unknown>, code: status, message?: RegExp): Promise<ServiceError> {
  const err = await promise.then(
    () => assert.fail(`expected gRPC status ${status[code]}`),
    (e: unknown) => e as ServiceError,
  );
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
  if (message !== undefined) assert.match(err.details, message);
  return err;
}
