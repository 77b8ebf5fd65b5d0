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
import type { VerifyConfig } from './config.ts';
import { handleRaw, type VerifyDeps } from './handler.ts';

/** Dependencies a test may replace. */
export interface VerifyOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** The verify service: its App plus what tests look at. */
export interface VerifyApp extends App {
  healthPort(): number;
  worker(): Worker;
}

/** Header naming which of the source's secrets matched (useful during rotation). */
export const SECRET_ID_HEADER = 'hs-verified-secret-id';

/**
 * Wires verify: NATS and streams, the live `hs_sources` cache, a durable
 * consumer on `hs.raw.>` (HS_RAW keeps its messages; acks only move the
 * consumer), the handler, and the health server. `close()` stops the
 * consumer (in-flight messages finish), then drains NATS.
 */
export function buildApp(config: VerifyConfig, overrides: VerifyOverrides = {}): VerifyApp {
  const logger = overrides.logger ?? createLogger({ service: config.service, level: config.logLevel });
  const now = overrides.now ?? Date.now;
  const cleanup = new CleanupStack();
  let healthPort = 0;
  let worker: Worker | undefined;
  return {
    healthPort: () => healthPort,
    worker: () => {
      if (worker === undefined) throw new Error('verify is not running');
      return worker;
    },
    run: async () => {
      const platform = await openPlatform(config, logger);
      cleanup.push('nats', () => platform.nats.drain());
      const t = platform.topology;
      const sources = await watchConfig(
        await openBucket(platform.nats.nc, t.buckets.sources, { replicas: config.streamReplicas }),
        decodeSource,
        logger,
      );
      cleanup.push('sources watch', () => sources.stop());
      const publisher = new AckingPublisher(platform.nats.nc, config.publishTimeoutMs);
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

      const deps: VerifyDeps = {
        source: (id) => sources.get(id),
        now,
        recordRejection: (record) => obs.record('rejection', record, `${record.event_id}:obs:rejection:verify`),
        forward: async (msg, eventId, sourceId, secretId) => {
          const h = forwardHeaders(msg.headers);
          h.set('Nats-Msg-Id', stageMsgId(eventId, 'verify'));
          if (secretId !== undefined) h.set(SECRET_ID_HEADER, secretId);
          await publisher.publish(t.verified(sourceId), msg.data, h);
        },
      };
      worker = await startWorker({
        js: platform.js,
        jsm: platform.jsm,
        logger,
        stage: 'verify',
        stream: t.streams.raw,
        durable: 'verify',
        filterSubject: t.subject('hs.raw.>'),
        maxDeliver: config.maxDeliver,
        ackWaitMs: config.ackWaitMs,
        concurrency: config.concurrency,
        deadLetterSubject: (m) => t.dlq('verify', headerValue(m.headers, Header.source) ?? m.subject.split('.').pop() ?? '_'),
        handle: (m) => handleRaw(stageMessage(m), deps),
      });
      const running = worker;
      cleanup.push('worker', () => running.stop());
    },
    close: () => cleanup.unwind(logger),
  };
}
