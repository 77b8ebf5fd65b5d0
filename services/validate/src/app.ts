import { Header, MSG_ID_HEADER, stageMsgId } from '@hookstream/contracts';
import { decodeSchema, schemaKey } from '@hookstream/models';
import { buildStage, forwardHeaders, type Logger, openBucket, type StageApp, watchConfig } from '@hookstream/runtime';
import { SchemaCache } from '@hookstream/schema-compiler';
import type { ValidateConfig } from './config.ts';
import { DriftLimiter } from './drift.ts';
import { handleUnique, type ValidateDeps } from './handler.ts';

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

/** The validate service: the stage plus its counters. */
export interface ValidateApp extends StageApp {
  counters(): ValidateCounters;
}

/**
 * Wires validate on the shared stage wiring: a live cache of `hs_schemas`,
 * the compiled-schema cache, the drift limiter, and a durable work-queue
 * consumer on `hs.unique.>` whose handler forwards valid events to
 * `hs.valid.{source}` with `hs-event-type` set.
 */
export function buildApp(config: ValidateConfig, overrides: ValidateOverrides = {}): ValidateApp {
  const now = overrides.now ?? Date.now;
  const counters = { valid: 0, rejected: 0, noSchema: 0 };
  const stage = buildStage({
    config,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    stage: 'validate',
    input: (t) => ({ stream: t.streams.pipe, filterSubject: t.subject('hs.unique.>') }),
    setup: async ({ platform, sources, publisher, obs, cleanup, logger, topology: t }) => {
      const schemas = await watchConfig(
        await openBucket(platform.nats.nc, t.buckets.schemas, { replicas: config.streamReplicas }),
        decodeSchema,
        logger,
      );
      cleanup.push('schemas watch', () => schemas.stop());
      const compiledSchemas = new SchemaCache((record, mode, error) =>
        logger.error(
          { source: record.source, eventType: record.eventType, version: record.version, mode, error },
          'schema does not compile',
        ),
      );
      const drift = new DriftLimiter({ intervalMs: config.driftIntervalMs, now });
      const deps: ValidateDeps = {
        source: (id) => sources.get(id),
        schema: (source, eventType) => {
          const record = schemas.get(schemaKey(source, eventType));
          if (record === undefined) compiledSchemas.forget(source, eventType);
          return record;
        },
        compiled: (record, mode) => compiledSchemas.compiled(record, mode),
        maxDepth: config.maxDepth,
        regexBudget: config.regexBudget,
        drift,
        now,
        noteNoSchema: (source, eventType) => {
          counters.noSchema++;
          logger.debug({ source, eventType }, 'no schema registered; passed unchecked');
        },
        recordDrift: (record) => obs.record('drift', record),
        recordFailure: async (record) => {
          await obs.record('schema_failure', record);
          counters.rejected++;
        },
        forward: async (msg, eventId, sourceId, eventType) => {
          const h = forwardHeaders(msg.headers);
          h.set(MSG_ID_HEADER, stageMsgId(eventId, 'validate'));
          h.set(Header.eventType, eventType);
          await publisher.publish(t.valid(sourceId), msg.data, h);
          counters.valid++;
        },
      };
      return { handle: (m) => handleUnique(m, deps), readiness: { schemas: () => schemas.isReady() }, ready: schemas.ready() };
    },
  });
  return Object.assign(stage, { counters: () => ({ ...counters }) });
}
