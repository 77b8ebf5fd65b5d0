import {
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { ControlPlaneService, FILE_DESCRIPTOR_SET_BASE64 } from '@hookstream/proto';
import type { Logger } from '@hookstream/runtime';
import { HealthImplementation } from 'grpc-health-check';
import { hasBearer } from './auth.ts';
import { toServiceError } from './errors.ts';
import type { Handlers } from './handlers.ts';

// What an undecodable request message becomes, so the call can answer INVALID_ARGUMENT
// (grpc-js answers INTERNAL when a deserializer throws).
const UNDECODABLE = Symbol('undecodable request');
type Undecodable = { readonly [UNDECODABLE]: string };

function isUndecodable(request: unknown): request is Undecodable {
  return typeof request === 'object' && request !== null && UNDECODABLE in request;
}

/**
 * The ControlPlane service definition with request decoding that never
 * throws: a message that is not valid protobuf, or carries an integer above
 * 2^53, becomes an {@link Undecodable} the call refuses.
 */
function tolerantService(): typeof ControlPlaneService {
  const service: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(ControlPlaneService)) {
    const decode = method.requestDeserialize as (bytes: Buffer) => unknown;
    service[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (err) {
          return { [UNDECODABLE]: (err as Error).message };
        }
      },
    };
  }
  return service as typeof ControlPlaneService;
}

/** The gRPC service name that health checks ask about (besides '' for the server). */
export const SERVICE_NAME = 'hookstream.v1.ControlPlane';

/** Options for {@link startGrpcServer}. */
export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  /** Bearer token every ControlPlane call must carry; undefined serves without auth. */
  readonly token: string | undefined;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly handlers: Handlers;
  readonly logger: Logger;
}

/** A running gRPC server. */
export interface GrpcServer {
  readonly port: number;
  /** Health status of '' and the ControlPlane service. */
  setServing(serving: boolean): void;
  /** Stops taking calls, lets running ones finish for `graceMs`, then cuts them. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Serves the ControlPlane service (every call authenticated with the bearer
 * token, UNAUTHENTICATED otherwise), grpc.health.v1 and server reflection
 * (both unauthenticated: probes and tools need them, and they reveal no
 * data). Resolves once bound (port 0 picks a free one).
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const { handlers, logger, token } = options;
  const server = new Server({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
  const implementation: UntypedServiceImplementation = {};
  for (const name of Object.keys(ControlPlaneService) as (keyof Handlers)[]) {
    const handler = handlers[name] as (request: unknown) => Promise<unknown>;
    const unary: handleUnaryCall<unknown, unknown> = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      if (token !== undefined && !hasBearer(call.metadata, token)) {
        callback({ code: status.UNAUTHENTICATED, details: 'missing or wrong bearer token' });
        return;
      }
      if (isUndecodable(call.request)) {
        const metadata = new Metadata();
        metadata.set('hs-field', 'request');
        callback({
          code: status.INVALID_ARGUMENT,
          details: `request: not a valid ${name} request message: ${call.request[UNDECODABLE]}`,
          metadata,
        });
        return;
      }
      handler(call.request).then(
        (response) => callback(null, response),
        (err: unknown) => {
          const error = toServiceError(err);
          if (error.code === status.INTERNAL) logger.error({ err, method: name }, 'rpc failed');
          else logger.debug({ method: name, code: error.code, details: error.details }, 'rpc refused');
          callback(error);
        },
      );
    };
    implementation[name] = unary;
  }
  server.addService(tolerantService(), implementation);

  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  const descriptors = loadFileDescriptorSetFromBuffer(Buffer.from(FILE_DESCRIPTOR_SET_BASE64, 'base64'));
  new ReflectionService(descriptors).addToServer(server);

  const credentials =
    options.tls === undefined
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, credentials, (err, bound) => (err === null ? resolve(bound) : reject(err)));
  });
  const setServing = (serving: boolean): void => {
    for (const name of ['', SERVICE_NAME]) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
  };
  return {
    port,
    setServing,
    stop: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        setServing(false);
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
