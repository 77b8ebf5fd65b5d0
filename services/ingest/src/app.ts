import { decodeSource, type SourceConfig } from '@hookstream/models';
import {
  AckingPublisher,
  type App,
  bodyLimitProblem,
  CleanupStack,
  type ConfigCache,
  ConfigError,
  createLogger,
  envelopeHeadroomBytes,
  type Logger,
  ObsPublisher,
  openBucket,
  openPlatform,
  startHealthServer,
  watchConfig,
} from '@hookstream/runtime';
import type { IngestConfig } from './config.ts';
import { type IngestServer, startIngestServer } from './http-server.ts';

/** Dependencies a test may replace. */
export interface IngestOverrides {
  readonly logger?: Logger;
}

/** The ingest service: its App plus what tests look at. */
export interface IngestApp extends App {
  /** Set once `run()` resolved. */
  server(): IngestServer;
  healthPort(): number;
}

/**
 * Wires ingest: NATS and streams, the live `hs_sources` cache, the health
 * server and the webhook server. `run()` throws ConfigError, naming the body
 * limit, the envelope headroom and the server's `max_payload`, when a body
 * of the configured limit could not travel the pipeline. `close()` unwinds
 * in reverse: stop HTTP (finishing in-flight requests), stop the watch,
 * drain NATS, close health.
 */
export function buildApp(config: IngestConfig, overrides: IngestOverrides = {}): IngestApp {
  const logger = overrides.logger ?? createLogger({ service: config.service, level: config.logLevel });
  const cleanup = new CleanupStack();
  let http: IngestServer | undefined;
  let healthPort = 0;
  return {
    server: () => {
      if (http === undefined) throw new Error('ingest is not running');
      return http;
    },
    healthPort: () => healthPort,
    run: async () => {
      const platform = await openPlatform(config, logger);
      cleanup.push('nats', () => platform.nats.drain());
      const maxPayload = platform.nats.maxPayload();
      const problem = bodyLimitProblem(config.maxBodyBytes, maxPayload, config.maxHeaderBytes);
      if (problem !== undefined) throw new ConfigError([`HS_INGEST_MAX_BODY_BYTES: ${problem}`]);
      logger.info(
        { maxBodyBytes: config.maxBodyBytes, headroomBytes: envelopeHeadroomBytes(config.maxHeaderBytes), maxPayload },
        'body limit fits the server max_payload',
      );
      const kv = await openBucket(platform.nats.nc, platform.topology.buckets.sources, { replicas: config.streamReplicas });
      const sources: ConfigCache<SourceConfig> = await watchConfig(kv, (k, v) => decodeSource(k, v, config.secretBox), logger);
      cleanup.push('sources watch', () => sources.stop());
      const health = await startHealthServer({
        host: config.healthHost,
        port: config.healthPort,
        liveness: { process: () => true },
        readiness: {
          nats: () => platform.nats.isConnected(),
          sources: () => sources.isReady(),
          http: () => http !== undefined,
        },
      });
      healthPort = health.port;
      cleanup.push('health', () => health.close());
      await sources.ready();
      const publisher = new AckingPublisher(platform.nats.nc, config.publishTimeoutMs);
      cleanup.push('publisher', () => publisher.close());
      http = await startIngestServer({
        config,
        sources,
        publisher,
        obs: new ObsPublisher(publisher, platform.topology),
        topology: platform.topology,
        natsConnected: () => platform.nats.isConnected(),
        maxPayload: () => platform.nats.maxPayload(),
        logger,
      });
      const server = http;
      cleanup.push('http', () => server.stop());
    },
    close: () => cleanup.unwind(logger),
  };
}
