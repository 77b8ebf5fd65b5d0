import { encodeLookupEntry, Header, LOOKUP_TTL_MS, lookupKey, MSG_ID_HEADER, stageMsgId } from '@hookstream/contracts';
import { buildStage, forwardHeaders, type Logger, openBucket, type StageApp } from '@hookstream/runtime';
import type { VerifyConfig } from './config.ts';
import { handleRaw, type VerifyDeps } from './handler.ts';

/** Dependencies a test may replace. */
export interface VerifyOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** The verify service. */
export type VerifyApp = StageApp;

/**
 * Wires verify on the shared stage wiring: a durable consumer on `hs.raw.>`
 * (HS_RAW keeps its messages; acks only move the consumer) whose handler
 * forwards authentic events to `hs.verified.{source}` and records the rest.
 */
export function buildApp(config: VerifyConfig, overrides: VerifyOverrides = {}): VerifyApp {
  const now = overrides.now ?? Date.now;
  return buildStage({
    config,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    stage: 'verify',
    input: (t) => ({ stream: t.streams.raw, filterSubject: t.subject('hs.raw.>') }),
    setup: async ({ platform, sources, publisher, obs, topology: t }) => {
      // The search index (docs/control-plane.md, "Finding a webhook"): dedup writes it for what passes verify.
      const lookup = await openBucket(platform.nats.nc, t.buckets.lookup, {
        replicas: config.streamReplicas,
        history: 1,
        ttlMs: LOOKUP_TTL_MS,
      });
      const deps: VerifyDeps = {
        source: (id) => sources.get(id),
        now,
        recordRejection: (record) => obs.record('rejection', record),
        index: async (eventId, sourceId, key) => {
          await lookup.put(
            lookupKey(key, eventId),
            encodeLookupEntry({ event_id: eventId, source: sourceId, key, kind: 'idempotency_key', at: now() }),
          );
        },
        forward: async (msg, eventId, sourceId, secretId) => {
          const h = forwardHeaders(msg.headers);
          h.set(MSG_ID_HEADER, stageMsgId(eventId, 'verify'));
          if (secretId !== undefined) h.set(Header.verifiedSecretId, secretId);
          await publisher.publish(t.verified(sourceId), msg.data, h);
        },
      };
      return { handle: (m) => handleRaw(m, deps) };
    },
  });
}
