import { Header, MSG_ID_HEADER, stageMsgId } from '@hookstream/contracts';
import { buildStage, forwardHeaders, type Logger, type StageApp } from '@hookstream/runtime';
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
    setup: async ({ sources, publisher, obs, topology: t }) => {
      const deps: VerifyDeps = {
        source: (id) => sources.get(id),
        now,
        recordRejection: (record) => obs.record('rejection', record),
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
