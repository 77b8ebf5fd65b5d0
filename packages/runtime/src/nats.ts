import { connect, type NatsConnection } from '@nats-io/transport-node';
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
  /** Give up the first connect after this long (ms). Reconnects after that are unlimited. */
  readonly connectTimeoutMs?: number;
  /** Keep the caller's stack on request errors (slower; for debugging). */
  readonly asyncTraces?: boolean;
}

/**
 * Connects to NATS with unlimited reconnects, logging status changes. The
 * first connection is retried until `connectTimeoutMs` (30 s by default), so
 * a service started before nats-server waits for it instead of crashing.
 * Throws the last connect error after that.
 */
export async function connectNats(
  config: Pick<BaseConfig, 'natsServers' | 'natsUser' | 'natsPassword' | 'natsToken' | 'service'>,
  logger: Logger,
  options: ConnectOptions = {},
): Promise<NatsHandle> {
  const nc = await connect({
    servers: [...config.natsServers],
    name: `hookstream-${config.service}`,
    ...(config.natsUser !== undefined ? { user: config.natsUser, pass: config.natsPassword ?? '' } : {}),
    ...(config.natsToken !== undefined ? { token: config.natsToken } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    waitOnFirstConnect: true,
    timeout: options.connectTimeoutMs ?? 30_000,
    pingInterval: 10_000,
    maxPingOut: 3,
    // Capturing a stack trace per request up front costs ~15% of ingest's CPU
    // at load (measured with --cpu-prof); errors still carry their own stack.
    noAsyncTraces: options.asyncTraces !== true,
  });
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
  logger.info({ servers: config.natsServers, maxPayload: lastMaxPayload }, 'nats connected');
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
