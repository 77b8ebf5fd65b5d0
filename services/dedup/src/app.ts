import { buildStage, forwardHeaders, Header, type Logger, openBucket, type StageApp, stageMsgId } from '@hookstream/runtime';
import type { DedupConfig } from './config.ts';
import { type DedupDeps, handleVerified } from './handler.ts';
import { KvClaimStore } from './kv-claims.ts';

/** Dependencies a test may replace. */
export interface DedupOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** Counts since start (this replica), for tests and metrics. */
export interface DedupCounts {
  unique: number;
  duplicates: number;
}

/** The dedup service: the stage plus its counts. */
export interface DedupApp extends StageApp {
  readonly counts: Readonly<DedupCounts>;
}

const HOUR_MS = 3_600_000;

/**
 * Wires dedup on the shared stage wiring: the `hs_dedup` KV bucket (max age =
 * the window) and a durable consumer on `hs.verified.>` whose handler claims
 * each key and forwards first occurrences to `hs.unique.{source}`.
 */
export function buildApp(config: DedupConfig, overrides: DedupOverrides = {}): DedupApp {
  const now = overrides.now ?? Date.now;
  const counts: DedupCounts = { unique: 0, duplicates: 0 };
  const stage = buildStage({
    config,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    stage: 'dedup',
    input: (t) => ({ stream: t.streams.pipe, filterSubject: t.subject('hs.verified.>') }),
    setup: async ({ platform, sources, publisher, obs, topology: t }) => {
      const bucket = await openBucket(platform.nats.nc, t.buckets.dedup, {
        replicas: config.streamReplicas,
        history: 1,
        ttlMs: config.windowHours * HOUR_MS,
      });
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
      return { handle: (m) => handleVerified(m, deps) };
    },
  });
  return Object.assign(stage, { counts });
}
