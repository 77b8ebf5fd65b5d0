import { decodeSource, type SourceConfig } from '@hookstream/models';
import {
  AckingPublisher,
  type App,
  bodyLimitProblem,
  buildService,
  type ConfigCache,
  ConfigError,
  envelopeHeadroomBytes,
  type Logger,
  ObsPublisher,
  openBucket,
  watchConfig,
} from '@hookstream/runtime';
import type { IngestConfig } from './config.ts';
import { type IngestServer, startIngestServer } from './http-server.ts';

/** Dependencies a test may replace. */
export interface IngestOverrides {
  readonly logger?: Logger;
  /** The clock requests are received by (secret windows, rate limits); a test sets it to check a bound without sleeping. */
  readonly now?: () => number;
}

/** The ingest service: its App plus what tests look at. */
export interface IngestApp extends App {
  /** Set once `run()` resolved. */
  server(): IngestServer;
  healthPort(): number;
}

/**
 * Wires ingest on the runtime's service skeleton ({@link buildService}):
 * NATS and streams, the live `hs_sources` cache, the health server and the
 * webhook server. `run()` throws ConfigError, naming the body limit, the
 * envelope headroom and the server's `max_payload`, when a body of the
 * configured limit could not travel the pipeline. `close()` unwinds in
 * reverse: stop HTTP (finishing in-flight requests), close the publisher,
 * close health, stop the watch, drain NATS.
 */
export function buildApp(config: IngestConfig, overrides: IngestOverrides = {}): IngestApp {
  let http: IngestServer | undefined;
  const service = buildService({
    config,
    logger: overrides.logger,
    setup: async ({ platform, cleanup, logger }) => {
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
      return {
        readiness: {
          sources: () => sources.isReady(),
          http: () => http !== undefined,
        },
        start: async () => {
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
            now: overrides.now ?? Date.now,
          });
          const server = http;
          cleanup.push('http', () => server.stop());
        },
      };
    },
  });
  return {
    server: () => {
      if (http === undefined) throw new Error('ingest is not running');
      return http;
    },
    healthPort: service.healthPort,
    run: service.run,
    close: service.close,
  };
}
