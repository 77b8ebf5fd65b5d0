import {
  AckingPublisher,
  type App,
  CleanupStack,
  createLogger,
  decodeSchema,
  decodeSource,
  forwardHeaders,
  Header,
  headerValue,
  type Logger,
  ObsPublisher,
  openBucket,
  openPlatform,
  schemaKey,
  stageMessage,
  stageMsgId,
  startHealthServer,
  startWorker,
  type Worker,
  watchConfig,
} from '@hookstream/runtime';
import type { ValidateConfig } from './config.ts';
import { DriftLimiter } from './drift.ts';
import { handleUnique, type ValidateDeps } from './handler.ts';
import { SchemaCache } from './schemas.ts';

/** Dependencies a test may replace. */
export interface ValidateOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** What validate has done since it started (this replica only). */
export interface ValidateCounters {
  /** Events forwarded to `hs.valid.{source}`. */
  readonly valid: number;
  /** Events rejected (failure record published, then dead-lettered). */
  readonly rejected: number;
  /** Forwarded events whose (source, type) had no schema. */
  readonly noSchema: number;
}

/** The validate service: its App plus what tests look at. */
export interface ValidateApp extends App {
  healthPort(): number;
  worker(): Worker;
  counters(): ValidateCounters;
}

/**
 * Wires validate: NATS and streams, live caches of `hs_sources` and
 * `hs_schemas`, the compiled-schema cache, a durable work-queue consumer on
 * `hs.unique.>`, the handler, and the health server. `close()` stops the
 * consumer (in-flight messages finish), then drains NATS.
 */
export function buildApp(config: ValidateConfig, overrides: ValidateOverrides = {}): ValidateApp {
  const logger = overrides.logger ?? createLogger({ service: config.service, level: config.logLevel });
  const now = overrides.now ?? Date.now;
  const cleanup = new CleanupStack();
  const counters = { valid: 0, rejected: 0, noSchema: 0 };
  let healthPort = 0;
  let worker: Worker | undefined;
  return {
    healthPort: () => healthPort,
    counters: () => ({ ...counters }),
    worker: () => {
      if (worker === undefined) throw new Error('validate is not running');
      return worker;
    },
    run: async () => {
      const platform = await openPlatform(config, logger);
      cleanup.push('nats', () => platform.nats.drain());
      const t = platform.topology;
      const nc = platform.nats.nc;
      const sources = await watchConfig(await openBucket(nc, t.buckets.sources, { replicas: config.streamReplicas }), decodeSource, logger);
      cleanup.push('sources watch', () => sources.stop());
      const schemas = await watchConfig(await openBucket(nc, t.buckets.schemas, { replicas: config.streamReplicas }), decodeSchema, logger);
      cleanup.push('schemas watch', () => schemas.stop());
      const publisher = new AckingPublisher(nc, config.publishTimeoutMs);
      cleanup.push('publisher', () => publisher.close());
      const obs = new ObsPublisher(publisher, t);
      const compiledSchemas = new SchemaCache((record, mode, error) =>
        logger.error(
          { source: record.source, eventType: record.eventType, version: record.version, mode, error },
          'schema does not compile',
        ),
      );
      const drift = new DriftLimiter({ intervalMs: config.driftIntervalMs, now });
      const health = await startHealthServer({
        host: config.healthHost,
        port: config.healthPort,
        liveness: { worker: () => worker === undefined || worker.healthy() },
        readiness: {
          nats: () => platform.nats.isConnected(),
          sources: () => sources.isReady(),
          schemas: () => schemas.isReady(),
          worker: () => worker !== undefined,
        },
      });
      healthPort = health.port;
      cleanup.push('health', () => health.close());
      await Promise.all([sources.ready(), schemas.ready()]);

      const deps: ValidateDeps = {
        source: (id) => sources.get(id),
        schema: (source, eventType) => {
          const record = schemas.get(schemaKey(source, eventType));
          if (record === undefined) compiledSchemas.forget(source, eventType);
          return record;
        },
        compiled: (record, mode) => compiledSchemas.compiled(record, mode),
        maxDepth: config.maxDepth,
        drift,
        now,
        noteNoSchema: (source, eventType) => {
          counters.noSchema++;
          logger.debug({ source, eventType }, 'no schema registered; passed unchecked');
        },
        recordDrift: (record) => obs.record('drift', record, `${record.event_id}:obs:drift:${record.path}`),
        recordFailure: async (record) => {
          await obs.record('schema_failure', record, `${record.event_id}:obs:schema_failure`);
          counters.rejected++;
        },
        forward: async (msg, eventId, sourceId, eventType) => {
          const h = forwardHeaders(msg.headers);
          h.set('Nats-Msg-Id', stageMsgId(eventId, 'validate'));
          h.set(Header.eventType, eventType);
          await publisher.publish(t.valid(sourceId), msg.data, h);
          counters.valid++;
        },
      };
      worker = await startWorker({
        js: platform.js,
        jsm: platform.jsm,
        logger,
        stage: 'validate',
        stream: t.streams.pipe,
        durable: 'validate',
        filterSubject: t.subject('hs.unique.>'),
        maxDeliver: config.maxDeliver,
        ackWaitMs: config.ackWaitMs,
        concurrency: config.concurrency,
        deadLetterSubject: (m) => t.dlq('validate', headerValue(m.headers, Header.source) ?? m.subject.split('.').pop() ?? '_'),
        handle: (m) => handleUnique(stageMessage(m), deps),
      });
      const running = worker;
      cleanup.push('worker', () => running.stop());
    },
    close: () => cleanup.unwind(logger),
  };
}
