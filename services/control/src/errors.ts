import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { ValidationError } from '@hookstream/contracts';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, ConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';

/**
 * An expected failure of an RPC with the gRPC status it answers. Handlers
 * throw it; the server turns it into the call's error. `field` names the bad
 * request field of an INVALID_ARGUMENT (also sent as `hs-field` trailer).
 */
export class RpcError extends Error {
  override name = 'RpcError';
  readonly code: status;
  readonly field: string | undefined;
  constructor(code: status, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}

/** INVALID_ARGUMENT naming `field`. */
export function invalid(field: string, message: string): RpcError {
  return new RpcError(status.INVALID_ARGUMENT, `${field}: ${message}`, { field });
}

/** NOT_FOUND for a resource kind and id. */
export function notFound(kind: string, id: string): RpcError {
  return new RpcError(status.NOT_FOUND, `${kind} ${id} not found`);
}

/** True for the KV answer to a `create` of a taken key or an `update` at a stale revision. */
export function isWrongRevision(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * The gRPC error for anything a handler threw: RpcError as it is,
 * ValidationError as INVALID_ARGUMENT naming its field, the broker not
 * answering (a request timeout, no responders while a stream elects a
 * leader, a lost connection) as UNAVAILABLE (the caller may retry), anything
 * else INTERNAL with a generic message (the detail goes to the log, never to the
 * caller: it may quote a stored record). Pure.
 */
export function toServiceError(err: unknown): Partial<ServiceError> & { code: status; details: string } {
  const metadata = new Metadata();
  if (err instanceof RpcError) {
    if (err.field !== undefined) metadata.set('hs-field', err.field);
    return { code: err.code, details: err.message, metadata };
  }
  if (err instanceof ValidationError) {
    metadata.set('hs-field', err.field);
    return { code: status.INVALID_ARGUMENT, details: err.message, metadata };
  }
  if (isBrokerUnavailable(err)) {
    return { code: status.UNAVAILABLE, details: `NATS did not answer (${err.message}); retry`, metadata };
  }
  return { code: status.INTERNAL, details: 'internal error (see the control service log)', metadata };
}

const BROKER_UNAVAILABLE = [TimeoutError, NoRespondersError, RequestError, ConnectionError, ClosedConnectionError];

function isBrokerUnavailable(err: unknown): err is Error {
  // nats.js turns a JetStream API request's "no responders" into a JetStreamNotEnabled (not exported by its mod).
  return BROKER_UNAVAILABLE.some((kind) => err instanceof kind) || (err instanceof Error && err.name === 'JetStreamNotEnabled');
}
