import { Header } from '@hookstream/contracts';
import { decodeSource, type SourceConfig } from '@hookstream/models';
import type { BaseConfig, EnvReader } from './config.ts';
import { type ConfigCache, openBucket, watchConfig } from './config-cache.ts';
import { headerValue, type StageMessage, stageMessage } from './envelope.ts';
import type { Check } from './health.ts';
import type { App, CleanupStack } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import { ObsPublisher } from './obs.ts';
import type { Outcome } from './outcome.ts';
import type { Platform } from './platform.ts';
import { AckingPublisher } from './publisher.ts';
import { buildService } from './service.ts';
import { ConsumerWatch, defaultStallAfterMs } from './stall.ts';
import { extractTraceContext, inSpan } from './telemetry.ts';
import type { Topology } from './topology.ts';
import { type Limiter, startWorker, type Worker } from './worker.ts';

/** The settings every pipeline stage (a consumer that publishes onward) has. */
export interface StageSettings {
  /** Messages handled at once. */
  readonly concurrency: number;
  /** Deliveries before a message that keeps failing is dead-lettered. */
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  /** How long to wait for JetStream's ack of a downstream publish. */
  readonly publishTimeoutMs: number;
  /**
   * How long a consumer with pending work may deliver nothing to an idle
   * worker before it counts as stalled (see {@link ConsumerWatch}). Absent:
   * {@link defaultStallAfterMs} of `ackWaitMs`.
   */
  readonly stallAfterMs?: number;
}

/**
 * Reads `HS_{PREFIX}_CONCURRENCY` (64), `_MAX_DELIVER` (10), `_ACK_WAIT_MS`
 * (30 s), `_PUBLISH_TIMEOUT_MS` (5 s) and `_STALL_AFTER_MS` (twice the ack
 * wait, at least 30 s) from the reader.
 */
export function readStageSettings(r: EnvReader, prefix: string): StageSettings {
  const ackWaitMs = r.int(`HS_${prefix}_ACK_WAIT_MS`, 30_000, 1_000, 600_000);
  return {
    concurrency: r.int(`HS_${prefix}_CONCURRENCY`, 64, 1, 10_000),
    maxDeliver: r.int(`HS_${prefix}_MAX_DELIVER`, 10, 1, 1_000),
    ackWaitMs,
    publishTimeoutMs: r.int(`HS_${prefix}_PUBLISH_TIMEOUT_MS`, 5_000, 100, 60_000),
    stallAfterMs: r.int(`HS_${prefix}_STALL_AFTER_MS`, defaultStallAfterMs(ackWaitMs), 1_000, 3_600_000),
  };
}

/** What a stage's `setup` gets: the shared resources, already open. */
export interface StageContext {
  readonly platform: Platform;
  readonly topology: Topology;
  readonly sources: ConfigCache<SourceConfig>;
  /** Publishes onward and waits for the PubAck. */
  readonly publisher: AckingPublisher;
  readonly obs: ObsPublisher;
  /** Push cleanups for what setup opens; they run before NATS drains. */
  readonly cleanup: CleanupStack;
  readonly logger: Logger;
  /**
   * The stage's stall watch: pass it as `watch` to a `startWorker` the
   * stage runs itself, so that consumer's stalls show on `/readyz` too.
   */
  readonly consumers: ConsumerWatch;
}

/** What a stage's `setup` returns. */
export interface StageWiring {
  /** The handler for one message. Throwing counts as a transient failure. */
  readonly handle: (msg: StageMessage) => Promise<Outcome>;
  /** Extra readiness checks (e.g. another config cache loaded). */
  readonly readiness?: Readonly<Record<string, Check>>;
  /** Resolves when setup's own state is loaded; the consumer starts after it. */
  readonly ready?: Promise<void>;
  /**
   * Consumers the stage manages itself (deliver: one per endpoint), started
   * once `ready` resolves. `start` runs one durable consumer of the input
   * stream with the stage's handler, spans and dead-letter routing; the
   * stage answers the running whole (stopped on close; unhealthy makes the
   * service unhealthy). Absent: one durable consumer named after the stage
   * on `input`'s filter subject.
   */
  readonly consume?: (start: StartConsumer) => Promise<Worker>;
}

/** One durable consumer of a stage's input stream, as {@link StageWiring.consume} asks for it. */
export interface ConsumerSpec {
  readonly durable: string;
  readonly filterSubject: string;
  /** Messages handled at once by this consumer in this process. */
  readonly concurrency: number;
  /** The consumer's `max_ack_pending` (in flight across every replica). */
  readonly maxAckPending?: number;
  /** Overrides the stage's `maxDeliver`. */
  readonly maxDeliver?: number;
  /** A permit pool shared with the stage's other consumers. */
  readonly limiter?: Limiter;
  /** Called when this consumer can no longer consume (default: the service turns unhealthy). */
  readonly onFatal?: (err: Error) => void;
  /** Replaces the stage's handler for this consumer. */
  readonly handle?: (msg: StageMessage) => Promise<Outcome>;
}

/** Starts one consumer with the stage's handler (see {@link StageWiring.consume}). */
export type StartConsumer = (spec: ConsumerSpec) => Promise<Worker>;

/** Options for {@link buildStage}. */
export interface StageOptions {
  readonly config: BaseConfig & StageSettings;
  readonly logger?: Logger;
  /** Stage name: durable consumer name, DLQ subject token, log field. */
  readonly stage: string;
  /** The stream and filter subject the stage consumes. */
  readonly input: (t: Topology) => { readonly stream: string; readonly filterSubject: string };
  /** Opens the stage's own resources and returns its handler. */
  readonly setup: (ctx: StageContext) => Promise<StageWiring>;
  /**
   * The last token of `hs.dlq.{stage}.{key}` for messages the worker itself
   * dead-letters (poison, handler errors). Default: the event's source.
   */
  readonly deadLetterKey?: (msg: StageMessage) => string | undefined;
}

// Stalled consumers named in a /readyz body; the count says how many there are.
const MAX_STALLED_SHOWN = 20;

/** A running stage, as its service's `buildApp` returns it. */
export interface StageApp extends App {
  /** The health server's port, once running. */
  healthPort(): number;
  /** The consumer loop, once running. Throws before. */
  worker(): Worker;
}

/**
 * The wiring every pipeline stage shares, on {@link buildService}'s
 * skeleton: NATS and streams, the live
 * `hs_sources` cache, an {@link AckingPublisher} and {@link ObsPublisher},
 * the stage's own `setup`, the health server (`/healthz`: the worker runs;
 * `/readyz`: NATS up, config loaded, consuming, no consumer stalled: the
 * `consumers` check, whose detail lists each stalled consumer and why, see
 * {@link ConsumerWatch}), and a durable consumer whose
 * dead letters go to `hs.dlq.{stage}.{source}`. `close()` unwinds in reverse:
 * stop consuming (in-flight messages finish), close what setup opened, drain
 * NATS.
 */
export function buildStage(options: StageOptions): StageApp {
  const { config, stage } = options;
  let worker: Worker | undefined;
  const service = buildService({
    config,
    logger: options.logger,
    setup: async ({ platform, topology: t, cleanup, logger, refreshMetrics }) => {
      const sources = await watchConfig(
        await openBucket(platform.nats.nc, t.buckets.sources, { replicas: config.streamReplicas }),
        (key, value) => decodeSource(key, value, config.secretBox),
        logger,
      );
      cleanup.push('sources watch', () => sources.stop());
      const publisher = new AckingPublisher(platform.nats.nc, config.publishTimeoutMs);
      cleanup.push('publisher', () => publisher.close());
      const obs = new ObsPublisher(publisher, t);
      const consumers = new ConsumerWatch({
        jsm: platform.jsm,
        logger,
        stallAfterMs: config.stallAfterMs ?? defaultStallAfterMs(config.ackWaitMs),
      });
      cleanup.push('consumer watch', () => consumers.stop());
      const wiring = await options.setup({ platform, topology: t, sources, publisher, obs, cleanup, logger, consumers });
      const start = async (): Promise<void> => {
        await Promise.all([sources.ready(), wiring.ready]);
        const input = options.input(t);
        const startConsumer: StartConsumer = (spec) =>
          startWorker({
            js: platform.js,
            jsm: platform.jsm,
            logger,
            stage,
            stream: input.stream,
            durable: spec.durable,
            filterSubject: spec.filterSubject,
            maxDeliver: spec.maxDeliver ?? config.maxDeliver,
            ackWaitMs: config.ackWaitMs,
            concurrency: spec.concurrency,
            ...(spec.maxAckPending !== undefined ? { maxAckPending: spec.maxAckPending } : {}),
            ...(spec.limiter !== undefined ? { limiter: spec.limiter } : {}),
            ...(spec.onFatal !== undefined ? { onFatal: spec.onFatal } : {}),
            watch: consumers,
            deadLetterSubject: (m) =>
              t.dlq(
                stage,
                options.deadLetterKey?.(stageMessage(m)) ?? headerValue(m.headers, Header.source) ?? m.subject.split('.').pop() ?? '_',
              ),
            // One span per stage per message, a child of the previous stage's.
            handle: (m) => {
              const msg = stageMessage(m);
              return inSpan(
                stage,
                'consumer',
                extractTraceContext(m.headers),
                {
                  'hookstream.event_id': msg.header(Header.eventId) ?? '',
                  'hookstream.source': msg.header(Header.source) ?? '',
                  'hookstream.event_type': msg.header(Header.eventType) ?? '',
                  'hookstream.delivery_count': m.info.deliveryCount,
                },
                async (span) => {
                  const outcome = await (spec.handle ?? wiring.handle)(msg);
                  span.setAttribute('hookstream.outcome', outcome.kind);
                  if (outcome.kind === 'term') span.setAttribute('hookstream.reason', outcome.reason);
                  return outcome;
                },
              );
            },
          });
        worker =
          wiring.consume !== undefined
            ? await wiring.consume(startConsumer)
            : await startConsumer({ durable: stage, filterSubject: input.filterSubject, concurrency: config.concurrency });
        const running = worker;
        cleanup.push('worker', () => running.stop());
        // Consumer lag, read at scrape time. (Dead-letter depth is control's
        // to report: reportDlqDepth.)
        if (wiring.consume === undefined) {
          refreshMetrics(async () => {
            const info = await platform.jsm.consumers.info(input.stream, stage);
            metrics.consumerPending.set({ stage }, info.num_pending);
            metrics.consumerAckPending.set({ stage }, info.num_ack_pending);
          });
        }
      };
      return {
        liveness: { worker: () => worker === undefined || worker.healthy() },
        readiness: {
          sources: () => sources.isReady(),
          ...wiring.readiness,
          worker: () => worker !== undefined,
          consumers: () => {
            const stalled = consumers.stalled();
            if (stalled.length === 0) return true;
            // Bounded: deliver can run a thousand consumers.
            const shown = stalled.slice(0, MAX_STALLED_SHOWN).map((s) => ({
              consumer: s.consumer,
              stream: s.stream,
              reason: s.reason,
              detail: s.detail,
              stalledForMs: Date.now() - s.sinceMs,
            }));
            return { ok: false, detail: { stalled: stalled.length, consumers: shown } };
          },
        },
        start,
      };
    },
  });
  return {
    healthPort: service.healthPort,
    worker: () => {
      if (worker === undefined) throw new Error(`${stage} is not running`);
      return worker;
    },
    run: service.run,
    close: service.close,
  };
}
