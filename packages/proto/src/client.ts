import { type CallOptions, ChannelCredentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ControlPlaneClient, ControlPlaneService } from './gen/hookstream/v1/control.generated.ts';

type Service = typeof ControlPlaneService;
type MethodName = keyof Service;
type RequestOf<K extends MethodName> = ReturnType<Service[K]['requestDeserialize']>;
type ResponseOf<K extends MethodName> = ReturnType<Service[K]['responseDeserialize']>;

/**
 * Every ControlPlane RPC as a promise-returning method. A request may leave
 * out top-level fields (they take their proto3 defaults). Rejects with the
 * call's ServiceError (`code` is the gRPC status).
 */
export type ControlApi = {
  readonly [K in MethodName]: (request?: Partial<RequestOf<K>>, options?: { readonly deadlineMs?: number }) => Promise<ResponseOf<K>>;
} & {
  /** Closes the channel. */
  close(): void;
};

/** Options for {@link connectControl}. */
export interface ControlClientOptions {
  /** `host:port`, optionally prefixed `https://` (TLS) or `http://` (plaintext, the default). */
  readonly url: string;
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string | undefined;
  /** PEM root certificates to trust for TLS instead of the system's. */
  readonly caPem?: Buffer;
  /** Default per-call deadline, ms. 30 s when absent. */
  readonly deadlineMs?: number;
}

/**
 * A promise client for the control plane. Connects lazily (the first call
 * dials); never throws. Call `close()` when done.
 */
export function connectControl(options: ControlClientOptions): ControlApi {
  const tls = options.url.startsWith('https://');
  const address = options.url.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const credentials = tls ? ChannelCredentials.createSsl(options.caPem ?? null) : ChannelCredentials.createInsecure();
  const client = new ControlPlaneClient(address, credentials);
  const api: Record<string, unknown> = { close: () => client.close() };
  for (const name of Object.keys(ControlPlaneService) as MethodName[]) {
    const method = ControlPlaneService[name];
    api[name] = (request: object = {}, callOptions: { deadlineMs?: number } = {}) =>
      new Promise((resolve, reject) => {
        const metadata = new Metadata();
        if (options.token !== undefined) metadata.set('authorization', `Bearer ${options.token}`);
        const full = { ...method.requestDeserialize(Buffer.alloc(0)), ...request };
        const deadline: CallOptions = { deadline: Date.now() + (callOptions.deadlineMs ?? options.deadlineMs ?? 30_000) };
        const call = client[name].bind(client) as (
          req: unknown,
          md: Metadata,
          opts: CallOptions,
          cb: (err: ServiceError | null, res: unknown) => void,
        ) => unknown;
        call(full, metadata, deadline, (err, res) => (err === null ? resolve(res) : reject(err)));
      });
  }
  return api as ControlApi;
}
