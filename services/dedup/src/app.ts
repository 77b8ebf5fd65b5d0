import { encodeLookupEntry, Header, LOOKUP_TTL_MS, lookupKey, MSG_ID_HEADER, stageMsgId } from '@hookstream/contracts';
import {
  buildStage,
  forwardHeaders,
  type Logger,
  openBucket,
  type StageApp,
  stageMessage,
  startWorker,
  type Worker,
} from '@hookstream/runtime';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { DedupConfig } from './config.ts';
import { type DedupDeps, handleVerified } from './handler.ts';
import { KvClaimStore } from './kv-claims.ts';
import { RELEASING_STAGES, releaseDeadLetter } from './release.ts';

/** Dependencies a test may replace. */
export interface DedupOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** Counts since start (this replica), for tests and metrics. */
export interface DedupCounts {
  unique: number;
  duplicates: number;
  /** Claims released because the claiming event was dead-lettered before `events.*` (docs/dedup.md). */
  released: number;
  /** Copies of an event that had gone on already (a redelivery after a crash or a lost ack): acked, nothing published. */
  repeated: number;
}

/** The dedup service: the stage plus its counts. */
export interface DedupApp extends StageApp {
  readonly counts: Readonly<DedupCounts>;
}

const HOUR_MS = 3_600_000;
/** Dead letters handled at once by each release consumer. */
const RELEASE_CONCURRENCY = 16;

/** The durable consumer on HS_DLQ that releases the claims of one stage's dead letters. */
export function releaseConsumerName(stage: string): string {
  return `dedup-release-${stage}`;
}

/**
 * Creates the release consumer when it does not exist, delivering only dead
 * letters stored from now on: one stored before dedup first ran may have
 * been replayed already, and releasing its claim then could let a repost
 * through as a second copy. An existing consumer keeps its position.
 */
async function ensureReleaseConsumer(jsm: JetStreamManager, stream: string, durable: string, filterSubject: string, ackWaitMs: number) {
  try {
    await jsm.consumers.info(stream, durable);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: filterSubject,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
    });
  }
}

/**
 * Wires dedup on the shared stage wiring: the `hs_dedup` KV bucket (max age =
 * the window) and a durable consumer on `hs.verified.>` whose handler claims
 * each key and forwards first occurrences to `hs.unique.{source}`.
 */
export function buildApp(config: DedupConfig, overrides: DedupOverrides = {}): DedupApp {
  const now = overrides.now ?? Date.now;
  const counts: DedupCounts = { unique: 0, duplicates: 0, released: 0, repeated: 0 };
  const stage = buildStage({
    config,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    stage: 'dedup',
    input: (t) => ({ stream: t.streams.pipe, filterSubject: t.subject('hs.verified.>') }),
    setup: async ({ platform, sources, publisher, obs, topology: t, cleanup, logger, consumers }) => {
      const bucket = await openBucket(platform.nats.nc, t.buckets.dedup, {
        replicas: config.streamReplicas,
        history: 1,
        ttlMs: config.windowHours * HOUR_MS,
      });
      const claims = new KvClaimStore(bucket, { publisher, bucket: t.buckets.dedup });
      // The search index (docs/dedup.md, "The lookup index"): kept as long as HS_RAW keeps the webhook.
      const lookup = await openBucket(platform.nats.nc, t.buckets.lookup, {
        replicas: config.streamReplicas,
        history: 1,
        ttlMs: LOOKUP_TTL_MS,
      });
      // Dead letters of validate and of dedup itself release their claims (docs/dedup.md, "Released claims").
      const releaseWorkers: Worker[] = [];
      for (const releasing of RELEASING_STAGES) {
        const durable = releaseConsumerName(releasing);
        const filterSubject = t.subject(`hs.dlq.${releasing}.>`);
        await ensureReleaseConsumer(platform.jsm, t.streams.dlq, durable, filterSubject, config.ackWaitMs);
        const releaseDeps = {
          source: (id: string) => sources.get(id),
          claims,
          now,
          released: (eventId: string, stage: string) => {
            counts.released++;
            logger.info({ eventId, stage }, 'dedup claim released: its event was dead-lettered before events.*');
          },
        };
        const worker = await startWorker({
          js: platform.js,
          jsm: platform.jsm,
          logger,
          stage: 'dedup-release',
          stream: t.streams.dlq,
          durable,
          filterSubject,
          maxDeliver: config.maxDeliver,
          ackWaitMs: config.ackWaitMs,
          concurrency: RELEASE_CONCURRENCY,
          // Watched with the stage's own consumer: a stalled release consumer shows on dedup's /readyz.
          watch: consumers,
          // Never dead-letters a dead letter: a release that keeps failing is given up (the claim expires with the window).
          deadLetterSubject: (m) => t.dlq('dedup-release', m.subject.split('.').pop() ?? '_'),
          handle: async (m) => {
            try {
              // A dedup dead letter is keyed with its source's locator: wait for the sources to load.
              await sources.ready();
              return await releaseDeadLetter(stageMessage(m), releaseDeps);
            } catch (err) {
              if (m.info.deliveryCount < config.maxDeliver) throw err;
              logger.warn({ err, seq: m.seq }, 'dedup claim release given up; the claim expires with the dedup window');
              return { kind: 'ack' };
            }
          },
        });
        releaseWorkers.push(worker);
        cleanup.push(`release consumer ${releasing}`, () => worker.stop());
      }
      const deps: DedupDeps = {
        source: (id) => sources.get(id),
        claims,
        now,
        defaultWindowMs: config.windowHours * HOUR_MS,
        maxWindowMs: config.windowHours * HOUR_MS,
        forward: async (msg, eventId, sourceId, key) => {
          const h = forwardHeaders(msg.headers);
          h.set(MSG_ID_HEADER, stageMsgId(eventId, 'dedup'));
          h.set(Header.idempotencyKey, key);
          await publisher.publish(t.unique(sourceId), msg.data, h);
          counts.unique++;
        },
        index: async (eventId, sourceId, key) => {
          await lookup.put(
            lookupKey(key, eventId),
            encodeLookupEntry({ event_id: eventId, source: sourceId, key, kind: 'idempotency_key', at: now() }),
          );
        },
        recordDuplicate: async (record) => {
          // The note first: GetEvent answers a duplicate's id from it (docs/dedup.md).
          await claims.putNote(record);
          await obs.record('duplicate', record);
          counts.duplicates++;
        },
        repeated: (eventId) => {
          counts.repeated++;
          logger.debug({ eventId }, 'dedup: this event went on already; nothing published again');
        },
      };
      return {
        handle: (m) => handleVerified(m, deps),
        // A release consumer that stopped for good shows in /readyz (dedup itself still works).
        readiness: { release: () => releaseWorkers.every((w) => w.healthy()) },
      };
    },
  });
  return Object.assign(stage, { counts });
}
