import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions, nkeyAuthenticator } from '@nats-io/transport-node';
import type { BaseConfig } from './config.ts';
import type { Logger } from './logger.ts';

/** A NATS connection plus a live view of whether it is connected. */
export interface NatsHandle {
  readonly nc: NatsConnection;
  /** False between a disconnect and the following reconnect. */
  isConnected(): boolean;
  /**
   * The `max_payload` (bytes, headers and body together) of the server the
   * connection is on now, from its INFO; refreshed on every reconnect (a
   * cluster's nodes may differ). The last known value while disconnected.
   */
  maxPayload(): number;
  /** Drains (finishes pending publishes and subscriptions) and closes. Resolves when closed; never throws. */
  drain(): Promise<void>;
}

/** Options for {@link connectNats}. */
export interface ConnectOptions {
  /** Give up the first connect after this long (ms; the attempt under way then may take up to 2 s more). Reconnects after that are unlimited. */
  readonly connectTimeoutMs?: number;
  /** Keep the caller's stack on request errors (slower; for debugging). */
  readonly asyncTraces?: boolean;
}

/**
 * What {@link connectNats} reads from a {@link BaseConfig}. The .creds, NKey
 * and TLS settings are optional here so callers that only ever talk to a
 * local server (tests, scripts) need not spell them out.
 */
export type NatsConnectConfig = Pick<BaseConfig, 'natsServers' | 'natsUser' | 'natsPassword' | 'natsToken' | 'service'> &
  Partial<Pick<BaseConfig, 'natsCredsFile' | 'natsNkeySeedFile' | 'natsTls'>>;

/**
 * Thrown by {@link connectNats} when no server took the first connection
 * within `connectTimeoutMs`. The message says where and how it tried (never
 * a secret); `cause` is the last attempt's error.
 */
export class NatsConnectError extends Error {
  override name = 'NatsConnectError';
}

/**
 * Connects to NATS with unlimited reconnects, logging status changes. The
 * first connection is retried until `connectTimeoutMs` (30 s by default), so
 * a service started before nats-server waits for it instead of crashing;
 * each distinct failure is logged as it happens. Throws
 * {@link NatsConnectError} after that (a refused credential or certificate
 * included). The .creds, NKey seed and TLS files are read again on every
 * (re)connect, so rotated files take effect without a restart.
 */
export async function connectNats(config: NatsConnectConfig, logger: Logger, options: ConnectOptions = {}): Promise<NatsHandle> {
  const nc = await firstConnect(
    {
      servers: [...config.natsServers],
      name: `hookstream-${config.service}`,
      ...authOptions(config),
      ...tlsOptions(config),
      maxReconnectAttempts: -1,
      reconnectTimeWait: RETRY_MS,
      reconnectJitter: 100,
      pingInterval: 10_000,
      maxPingOut: 3,
      // Capturing a stack trace per request up front costs ~15% of ingest's CPU
      // at load (measured with --cpu-prof); errors still carry their own stack.
      noAsyncTraces: options.asyncTraces !== true,
    },
    describeConnection(config),
    logger,
    options.connectTimeoutMs ?? 30_000,
  );
  let connected = true;
  // nats-server's default; INFO always carries the real value.
  let lastMaxPayload = nc.info?.max_payload ?? 1024 * 1024;
  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          connected = false;
          logger.warn({ server: status.server }, 'nats disconnected');
          break;
        case 'reconnect':
          connected = true;
          logger.info({ server: status.server }, 'nats reconnected');
          break;
        case 'error':
          logger.error({ err: status.error }, 'nats error');
          break;
        default:
          break;
      }
    }
  })().catch((err: unknown) => logger.error({ err }, 'nats status loop failed'));
  logger.info({ ...describeConnection(config), maxPayload: lastMaxPayload }, 'nats connected');
  return {
    nc,
    isConnected: () => connected && !nc.isClosed() && !nc.isDraining(),
    maxPayload: () => {
      const current = nc.info?.max_payload;
      if (current !== undefined && current > 0) lastMaxPayload = current;
      return lastMaxPayload;
    },
    drain: async () => {
      if (nc.isClosed()) return;
      try {
        await nc.drain();
      } catch (err) {
        logger.warn({ err }, 'nats drain failed; closing');
        await nc.close().catch(() => undefined);
      }
    },
  };
}

/**
 * The one authentication method config/readBaseConfig allowed:
 * 1. a .creds file: JWT plus a signature of the server's nonce by its seed;
 * 2. an NKey seed file: the public key plus that signature;
 * 3. user and password, or a token, given to nats.js as they are.
 */
function authOptions(config: NatsConnectConfig): Pick<NodeConnectionOptions, 'authenticator' | 'user' | 'pass' | 'token'> {
  const creds = config.natsCredsFile;
  if (creds !== undefined) return { authenticator: credsAuthenticator(() => readFileSync(creds)) };
  const seedFile = config.natsNkeySeedFile;
  if (seedFile !== undefined) {
    // A seed file written by `nk -gen user` ends with a newline the decoder rejects.
    return { authenticator: nkeyAuthenticator(() => new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim())) };
  }
  return {
    ...(config.natsUser !== undefined ? { user: config.natsUser, pass: config.natsPassword ?? '' } : {}),
    ...(config.natsToken !== undefined ? { token: config.natsToken } : {}),
  };
}

/** nats.js TLS options: the files are loaded by the client on each connect; undefined keeps the client's default (TLS when the server asks). */
function tlsOptions(config: NatsConnectConfig): Pick<NodeConnectionOptions, 'tls'> {
  const tls = config.natsTls;
  if (tls === undefined) return {};
  return {
    tls: {
      ...(tls.caFile !== undefined ? { caFile: tls.caFile } : {}),
      ...(tls.certFile !== undefined ? { certFile: tls.certFile } : {}),
      ...(tls.keyFile !== undefined ? { keyFile: tls.keyFile } : {}),
      ...(tls.handshakeFirst ? { handshakeFirst: true } : {}),
    },
  };
}

const RETRY_MS = 250;
/** One attempt's wait for a server's INFO and PONG: at most the time left, but within these bounds. */
const ATTEMPT_TIMEOUT_MS = { min: 2_000, max: 10_000 };

/** Where and how a connection goes, for logs and errors: URLs without passwords, the auth method's name, TLS on or off. */
interface ConnectionFacts {
  readonly servers: readonly string[];
  readonly auth: 'creds' | 'nkey' | 'user' | 'token' | 'none';
  readonly tls: boolean;
  /** Whether a TLS client certificate is offered. */
  readonly clientCert: boolean;
}

function describeConnection(config: NatsConnectConfig): ConnectionFacts {
  const auth =
    config.natsCredsFile !== undefined
      ? 'creds'
      : config.natsNkeySeedFile !== undefined
        ? 'nkey'
        : config.natsUser !== undefined
          ? 'user'
          : config.natsToken !== undefined
            ? 'token'
            : 'none';
  return {
    servers: config.natsServers.map(redactUrl),
    auth,
    tls: config.natsTls !== undefined,
    clientCert: config.natsTls?.certFile !== undefined,
  };
}

/**
 * The first connection. nats.js's own `waitOnFirstConnect` retries forever
 * (its `timeout` bounds one attempt only), so a refused credential or
 * certificate would hang a service without a word. Instead:
 * 1. one attempt tries every server once, waiting the time left for each
 *    but within {@link ATTEMPT_TIMEOUT_MS} (the last attempt may end up to
 *    2 s after the deadline: cut shorter, it would report a meaningless
 *    timeout instead of the server's refusal);
 * 2. a failure is logged the first time its message is seen, then the
 *    attempt is repeated after {@link RETRY_MS};
 * 3. once the deadline is reached the last failure is thrown, wrapped in a
 *    {@link NatsConnectError} that says where and how.
 */
async function firstConnect(
  connectOptions: NodeConnectionOptions,
  facts: ConnectionFacts,
  logger: Logger,
  timeoutMs: number,
): Promise<NatsConnection> {
  const deadline = Date.now() + timeoutMs;
  let lastMessage: string | undefined;
  for (;;) {
    const timeout = Math.min(Math.max(deadline - Date.now(), ATTEMPT_TIMEOUT_MS.min), ATTEMPT_TIMEOUT_MS.max);
    try {
      return await connect({ ...connectOptions, waitOnFirstConnect: false, timeout });
    } catch (err) {
      const message = err instanceof Error ? `${err.name}: ${err.message}` : `connect failed: ${String(err)}`;
      if (Date.now() + RETRY_MS >= deadline) {
        throw new NatsConnectError(
          `cannot connect to NATS at ${facts.servers.join(',')} (auth ${facts.auth}, tls ${facts.tls ? 'on' : 'off'}) within ${timeoutMs} ms: ${message}${hint(facts, err)}`,
          { cause: err },
        );
      }
      if (message !== lastMessage) logger.warn({ ...facts, err }, 'nats connect failed; retrying');
      lastMessage = message;
      await sleep(RETRY_MS);
    }
  }
}

/**
 * What a bare timeout most likely means. When a server with `verify: true`
 * refuses the client's certificate, TLS 1.3 finishes the handshake on the
 * client's side first and nats.js loses the server's alert, so all it
 * reports is a timeout.
 */
function hint(facts: ConnectionFacts, err: unknown): string {
  if (!facts.tls || !(err instanceof Error) || err.name !== 'TimeoutError') return '';
  return facts.clientCert
    ? ' (over TLS this is often the server refusing the client certificate: is HS_NATS_TLS_CERT signed by a CA the server trusts?)'
    : ' (over TLS this is often a server that requires a client certificate: set HS_NATS_TLS_CERT and HS_NATS_TLS_KEY)';
}

/** A server URL without the user and password it may carry. */
function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/]*@/, '$1***@');
}
