import {
  AckingPublisher,
  type App,
  CleanupStack,
  createLogger,
  decodeSource,
  forwardHeaders,
  Header,
  headerValue,
  type Logger,
  ObsPublisher,
  openBucket,
  openPlatform,
  stageMessage,
  stageMsgId,
  startHealthServer,
  startWorker,
  type Worker,
  watchConfig,
} from '@hookstream/runtime';
import type { DedupConfig } from './config.ts';
import { type DedupDeps, handleVerified } from './handler.ts';
import { KvClaimStore } from './kv-claims.ts';

/** Dependencies a test may replace. */
export interface DedupOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** Counts since start, for tests and metrics. */
export interface DedupCounts {
  unique: number;
  duplicates: number;
}

/** The dedup service: its App plus what tests look at. */
export interface DedupApp extends App {
  healthPort(): number;
  worker(): Worker;
  readonly counts: Readonly<DedupCounts>;
}

const HOUR_MS = 3_600_000;

/**
 * Wires dedup: NATS and streams, the live sources cache, the `hs_dedup` KV
 * bucket (max age = the window), a durable consumer on `hs.verified.>`, and
 * the health server. `close()` stops the consumer, then drains NATS.
 */
export function buildApp(config: DedupConfig, overrides: DedupOverrides = {}): DedupApp {
  const logger = overrides.logger ?? createLogger({ service: config.service, level: config.logLevel });
  const now = overrides.now ?? Date.now;
  const cleanup = new CleanupStack();
  const counts: DedupCounts = { unique: 0, duplicates: 0 };
  let healthPort = 0;
  let worker: Worker | undefined;
  return {
    counts,
    healthPort: () => healthPort,
    worker: () => {
      if (worker === undefined) throw new Error('dedup is not running');
      return worker;
    },
    run: async () => {
      const platform = await openPlatform(config, logger);
      cleanup.push('nats', () => platform.nats.drain());
      const t = platform.topology;
      const nc = platform.nats.nc;
      const sources = await watchConfig(await openBucket(nc, t.buckets.sources, { replicas: config.streamReplicas }), decodeSource, logger);
      cleanup.push('sources watch', () => sources.stop());
      const bucket = await openBucket(nc, t.buckets.dedup, {
        replicas: config.streamReplicas,
        history: 1,
        ttlMs: config.windowHours * HOUR_MS,
      });
      const publisher = new AckingPublisher(nc, config.publishTimeoutMs);
      cleanup.push('publisher', () => publisher.close());
      const obs = new ObsPublisher(publisher, t);
      const health = await startHealthServer({
        host: config.healthHost,
        port: config.healthPort,
        liveness: { worker: () => worker === undefined || worker.healthy() },
        readiness: { nats: () => platform.nats.isConnected(), sources: () => sources.isReady(), worker: () => worker !== undefined },
      });
      healthPort = health.port;
      cleanup.push('health', () => health.close());
      await sources.ready();

      const deps: DedupDeps = {
        source: (id) => sources.get(id),
        claims: new KvClaimStore(bucket, { publisher, bucket: t.buckets.dedup }),
        now,
        defaultWindowMs: config.windowHours * HOUR_MS,
        maxWindowMs: config.windowHours * HOUR_MS,
        forward: async (msg, eventId, sourceId, key) => {
          const h = forwardHeaders(msg.headers);
          h.set('Nats-Msg-Id', stageMsgId(eventId, 'dedup'));
          h.set(Header.idempotencyKey, key);
          await publisher.publish(t.unique(sourceId), msg.data, h);
          counts.unique++;
        },
        recordDuplicate: async (record) => {
          await obs.record('duplicate', record, `${record.event_id}:obs:duplicate`);
          counts.duplicates++;
        },
      };
      worker = await startWorker({
        js: platform.js,
        jsm: platform.jsm,
        logger,
        stage: 'dedup',
        stream: t.streams.pipe,
        durable: 'dedup',
        filterSubject: t.subject('hs.verified.>'),
        maxDeliver: config.maxDeliver,
        ackWaitMs: config.ackWaitMs,
        concurrency: config.concurrency,
        deadLetterSubject: (m) => t.dlq('dedup', headerValue(m.headers, Header.source) ?? m.subject.split('.').pop() ?? '_'),
        handle: (m) => handleVerified(stageMessage(m), deps),
      });
      const running = worker;
      cleanup.push('worker', () => running.stop());
    },
    close: () => cleanup.unwind(logger),
  };
}
