import { ClickHouseRowStore, type EndpointStats, endpointStats, type StatsQuery } from '@hookstream/analytics';
import {
  type App,
  CleanupStack,
  createLogger,
  type Logger,
  openBucket,
  openPlatform,
  parseEndpointConfig,
  parseSourceConfig,
  startHealthServer,
} from '@hookstream/runtime';
import { type AttemptSource, clickHouseAttempts, NO_ATTEMPTS } from './attempts.ts';
import type { ControlConfig } from './config.ts';
import { DeadLetters } from './dead-letters.ts';
import { EventStore } from './events.ts';
import { type GrpcServer, startGrpcServer } from './grpc-server.ts';
import { buildHandlers } from './handlers.ts';
import { RecordBucket } from './records.ts';
import { SchemaBucket } from './schemas.ts';

/** Dependencies a test may replace. */
export interface ControlOverrides {
  readonly logger?: Logger;
  /** Where GetEvent reads delivery attempts; by default ClickHouse when configured. */
  readonly attempts?: AttemptSource;
}

/** The control service: its App plus what tests look at. */
export interface ControlApp extends App {
  /** The bound gRPC port; set once `run()` resolved. */
  grpcPort(): number;
  healthPort(): number;
}

/**
 * Wires the control service: NATS and streams, the three config buckets, the
 * DLQ, the gRPC server and the health server. `close()` unwinds in reverse:
 * stop gRPC (letting running calls finish), close health, drain NATS.
 */
export function buildApp(config: ControlConfig, overrides: ControlOverrides = {}): ControlApp {
  const logger = overrides.logger ?? createLogger({ service: config.service, level: config.logLevel });
  const cleanup = new CleanupStack();
  let grpc: GrpcServer | undefined;
  let healthPort = 0;
  return {
    grpcPort: () => {
      if (grpc === undefined) throw new Error('control is not running');
      return grpc.port;
    },
    healthPort: () => healthPort,
    run: async () => {
      if (config.token === undefined) logger.warn('HS_CONTROL_INSECURE=true: the control API accepts calls without a token');
      const platform = await openPlatform(config, logger);
      cleanup.push('nats', () => platform.nats.drain());
      const t = platform.topology;
      let attempts = overrides.attempts ?? NO_ATTEMPTS;
      let stats: ((q: StatsQuery) => Promise<EndpointStats[]>) | undefined;
      const ch = config.clickhouse;
      if (ch !== undefined) {
        const store = new ClickHouseRowStore({ ...ch, requestTimeoutMs: 10_000 });
        cleanup.push('clickhouse', () => store.close());
        if (overrides.attempts === undefined) attempts = clickHouseAttempts(store, ch.database);
        stats = (q) => endpointStats(store, ch.database, q);
      }
      const bucket = (name: string) => openBucket(platform.nats.nc, name, { replicas: config.streamReplicas });
      const handlers = buildHandlers({
        sources: new RecordBucket(await bucket(t.buckets.sources), 'source', parseSourceConfig, config.secretBox),
        endpoints: new RecordBucket(await bucket(t.buckets.endpoints), 'endpoint', parseEndpointConfig, config.secretBox),
        schemas: new SchemaBucket(await bucket(t.buckets.schemas)),
        deadLetters: new DeadLetters(platform.js, platform.jsm, t),
        events: new EventStore(platform.js, platform.jsm, t),
        attempts,
        ...(stats !== undefined ? { stats } : {}),
        rotationGraceMs: config.rotationGraceMs,
        replayPerSecond: config.replayPerSecond,
      });
      const health = await startHealthServer({
        host: config.healthHost,
        port: config.healthPort,
        liveness: { process: () => true },
        readiness: { nats: () => platform.nats.isConnected(), grpc: () => grpc !== undefined },
      });
      healthPort = health.port;
      cleanup.push('health', () => health.close());
      grpc = await startGrpcServer({ host: config.host, port: config.port, token: config.token, tls: config.tls, handlers, logger });
      const server = grpc;
      cleanup.push('grpc', () => server.stop());
      server.setServing(true);
      logger.info({ port: server.port, tls: config.tls !== undefined }, 'control plane serving');
    },
    close: () => cleanup.unwind(logger),
  };
}
