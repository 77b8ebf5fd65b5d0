import { hostname } from 'node:os';
import { encodeLookupEntry, Header, LOOKUP_TTL_MS, lookupKey, MSG_ID_HEADER, stageMsgId } from '@hookstream/contracts';
import { buildStage, forwardHeaders, type Logger, openBucket, publishOperationalEvent, type StageApp } from '@hookstream/runtime';
import type { VerifyConfig } from './config.ts';
import { handleRaw, type VerifyDeps } from './handler.ts';
import { RejectionRates } from './rejection-rate.ts';

/** Dependencies a test may replace. */
export interface VerifyOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
  /** The replica name in `source.rejection_rate` events (default host name and pid). */
  readonly replica?: string;
}

/** The verify service. */
export type VerifyApp = StageApp;

/**
 * Wires verify on the shared stage wiring: a durable consumer on `hs.raw.>`
 * (HS_RAW keeps its messages; acks only move the consumer) whose handler
 * forwards authentic events to `hs.verified.{source}` and records the rest,
 * counting both per source: a window whose rejected share reaches
 * `config.rejectionAlert` is announced once as `source.rejection_rate`.
 */
export function buildApp(config: VerifyConfig, overrides: VerifyOverrides = {}): VerifyApp {
  const now = overrides.now ?? Date.now;
  return buildStage({
    config,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    stage: 'verify',
    input: (t) => ({ stream: t.streams.raw, filterSubject: t.subject('hs.raw.>') }),
    setup: async ({ platform, sources, publisher, obs, topology: t, logger }) => {
      // The search index (docs/control-plane.md, "Finding a webhook"): dedup writes it for what passes verify.
      const lookup = await openBucket(platform.nats.nc, t.buckets.lookup, {
        replicas: config.streamReplicas,
        history: 1,
        ttlMs: LOOKUP_TTL_MS,
      });
      const rates = new RejectionRates(config.rejectionAlert);
      const replica = overrides.replica ?? `${hostname()}-${process.pid}`;
      // Counted after the outcome is published. The alert does not hold up
      // the message that crossed the threshold; one not published is logged
      // and the next request of the window tries again.
      const counted = (source: string, rejected: boolean): void => {
        const alert = rates.count(source, rejected, now());
        if (alert === undefined) return;
        publishOperationalEvent(publisher, t, 'source.rejection_rate', { ...alert, replica }, now()).catch((err: unknown) => {
          rates.retract(alert);
          logger.error({ err, source }, 'operational event not published');
        });
      };
      const deps: VerifyDeps = {
        source: (id) => sources.get(id),
        now,
        recordRejection: async (record) => {
          await obs.record('rejection', record);
          counted(record.source, true);
        },
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
          counted(sourceId, false);
        },
      };
      return { handle: (m) => handleRaw(m, deps) };
    },
  });
}
