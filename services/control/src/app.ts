import {
  ClickHouseRowStore,
  driftFields,
  endpointStats,
  lastFailures,
  lastRejections,
  sourceStats,
  statsSeries,
} from '@hookstream/clickhouse';
import { decodeEndpointState } from '@hookstream/contracts';
import {
  decodeEndpoint,
  decodeSource,
  FilterCache,
  parseEndpointConfig,
  parseSourceConfig,
  redactSecrets,
  SOURCE_ID,
} from '@hookstream/models';
import {
  type App,
  buildService,
  ConfigError,
  type Logger,
  openBucket,
  openCircuitBucket,
  publishOperationalEvent,
  readCircuitReports,
  reportDlqDepth,
  watchConfig,
} from '@hookstream/runtime';
import { type AttemptSource, clickHouseAttempts, NO_ATTEMPTS } from './attempts.ts';
import type { ControlConfig } from './config.ts';
import { startConsoleServer } from './console/server.ts';
import { DeadLetters } from './dead-letters.ts';
import { invalid } from './errors.ts';
import { EventStore } from './events.ts';
import { type GrpcServer, startGrpcServer } from './grpc-server.ts';
import { buildHandlers, type HandlerDeps } from './handlers.ts';
import type { HealthSources } from './health.ts';
import { type JsonLimits, RecordBucket } from './records.ts';
import { SchemaBucket } from './schemas.ts';

/** Room left in a KV message for what NATS adds besides the value. */
const KV_HEADROOM_BYTES = 4_096;

/**
 * The config size limit must fit the server: a record grows when secrets are
 * sealed (base64), so it may use at most half of `max_payload`. Throws
 * ConfigError naming both numbers. Pure.
 */
export function checkConfigLimit(maxConfigBytes: number, maxPayload: number): void {
  if (maxConfigBytes * 2 + KV_HEADROOM_BYTES > maxPayload) {
    throw new ConfigError([
      `HS_CONTROL_MAX_CONFIG_BYTES=${maxConfigBytes}: a stored record may be twice that (secrets sealed), ` +
        `more than the NATS server's max_payload of ${maxPayload} bytes; lower it to at most ${Math.floor((maxPayload - KV_HEADROOM_BYTES) / 2)}`,
    ]);
  }
}

/** A source or endpoint id of a health request ('' for all). Throws INVALID_ARGUMENT naming `field`. */
function healthId(id: string, field: string): string {
  if (id !== '' && !SOURCE_ID.test(id)) throw invalid(field, 'must match [A-Za-z0-9_-]{1,64}');
  return id;
}

/** Dependencies a test may replace. */
export interface ControlOverrides {
  readonly logger?: Logger;
  /** Where GetEvent reads delivery attempts; by default ClickHouse when configured. */
  readonly attempts?: AttemptSource;
}

/** The control service: its App plus what tests look at. */
export interface ControlApp extends App {
  /** The bound gRPC port; set once `run()` resolved. */
  grpcPort(): number;
  healthPort(): number;
  /** The bound web console port; 0 when the console is off. */
  consolePort(): number;
}

/**
 * Wires the control service on the runtime's service skeleton
 * ({@link buildService}): NATS and streams, the config buckets, the DLQ,
 * the gRPC server, the web console (same handlers, JSON over HTTP) and the
 * health server. `close()` unwinds in reverse: close the console, stop gRPC
 * (letting running calls finish), close health, drain NATS.
 */
export function buildApp(config: ControlConfig, overrides: ControlOverrides = {}): ControlApp {
  let grpc: GrpcServer | undefined;
  let consolePort = 0;
  const service = buildService({
    config,
    logger: overrides.logger,
    prepare: async ({ logger }) => {
      if (config.token === undefined) logger.warn('HS_CONTROL_INSECURE=true: the control API accepts calls without a token');
    },
    setup: async ({ platform, topology: t, cleanup, logger }) => {
      let attempts = overrides.attempts ?? NO_ATTEMPTS;
      let analytics: Pick<HandlerDeps, 'stats' | 'series' | 'drift'> & Pick<HealthSources, 'analytics'> = {};
      const ch = config.clickhouse;
      if (ch !== undefined) {
        const store = new ClickHouseRowStore({ ...ch, requestTimeoutMs: 10_000 });
        cleanup.push('clickhouse', () => store.close());
        if (overrides.attempts === undefined) attempts = clickHouseAttempts(store, ch.database);
        analytics = {
          stats: (q) => endpointStats(store, ch.database, q),
          series: (q) => statsSeries(store, ch.database, q),
          drift: (q) => driftFields(store, ch.database, q),
          analytics: {
            stats: (q) => endpointStats(store, ch.database, q),
            lastFailures: (q) => lastFailures(store, ch.database, q),
            sourceStats: (q) => sourceStats(store, ch.database, q),
            lastRejections: (q) => lastRejections(store, ch.database, q),
          },
        };
      }
      const maxPayload = platform.nats.nc.info?.max_payload ?? 1024 * 1024;
      checkConfigLimit(config.maxConfigBytes, maxPayload);
      const limits: JsonLimits = { maxBytes: config.maxConfigBytes, maxDepth: config.maxConfigDepth };
      const maxStoredBytes = maxPayload - KV_HEADROOM_BYTES;
      const bucket = (name: string) => openBucket(platform.nats.nc, name, { replicas: config.streamReplicas });
      const endpointsKv = await bucket(t.buckets.endpoints);
      const sourcesKv = await bucket(t.buckets.sources);
      const box = config.secretBox;
      const endpoints = new RecordBucket(endpointsKv, { kind: 'endpoint', parse: parseEndpointConfig, box, maxStoredBytes });
      const sources = new RecordBucket(sourcesKv, { kind: 'source', parse: parseSourceConfig, box, maxStoredBytes });
      const deadLetters = new DeadLetters(platform.js, platform.jsm, t);
      // Control is the one service that reports `hookstream_dlq_messages` (docs/operations.md).
      cleanup.push(
        'dlq depth metric',
        reportDlqDepth(async () => (await platform.jsm.streams.info(t.streams.dlq)).state.messages),
      );
      // The health RPCs (polled by every open console) read live copies of the buckets, as the pipeline
      // services do, instead of one KV get per record per call; a write shows within the watch's delay.
      const endpointCache = await watchConfig(endpointsKv, (key, value) => decodeEndpoint(key, value, config.secretBox), logger);
      const sourceCache = await watchConfig(sourcesKv, (key, value) => decodeSource(key, value, config.secretBox), logger);
      const stateCache = await watchConfig(await bucket(t.buckets.endpointState), decodeEndpointState, logger);
      for (const [name, cache] of [
        ['endpoints watch', endpointCache],
        ['sources watch', sourceCache],
        ['endpoint state watch', stateCache],
      ] as const) {
        cleanup.push(name, () => cache.stop());
      }
      await Promise.all([endpointCache.ready(), sourceCache.ready(), stateCache.ready()]);
      // Replays to an endpoint skip what route would not send it: the endpoint's 410 state and its filter.
      const events = new EventStore(platform.js, platform.jsm, t, { state: (id) => stateCache.get(id), filters: new FilterCache() });
      const circuitBucket = await openCircuitBucket(platform.nats.nc, t.buckets.circuits, { replicas: config.streamReplicas });
      const byId = <T extends { readonly id: string }>(records: Iterable<T>): T[] =>
        [...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      // Health answers show records (an endpoint's URL): redacted like every other answer.
      const healthSources: HealthSources = {
        endpoints: async (id) =>
          (healthId(id, 'endpoint') === '' ? byId(endpointCache.values()) : [(await endpoints.require(id)).record]).map(redactSecrets),
        sources: async (id) =>
          (healthId(id, 'source') === '' ? byId(sourceCache.values()) : [(await sources.require(id)).record]).map(redactSecrets),
        states: async (id) => stateCache.get(id),
        circuits: (nowMs) => readCircuitReports(circuitBucket, nowMs),
        deadLetters: () => deadLetters.counts(),
        eventsBySource: () => events.countsBySource(),
        ...(analytics.analytics !== undefined ? { analytics: analytics.analytics } : {}),
      };
      const handlers = buildHandlers({
        sources,
        endpoints,
        schemas: new SchemaBucket(await bucket(t.buckets.schemas), { limits, maxStoredBytes }),
        deadLetters,
        events,
        attempts,
        ...(analytics.stats !== undefined ? { stats: analytics.stats } : {}),
        ...(analytics.series !== undefined ? { series: analytics.series } : {}),
        ...(analytics.drift !== undefined ? { drift: analytics.drift } : {}),
        health: healthSources,
        rotationGraceMs: config.rotationGraceMs,
        replayPerSecond: config.replayPerSecond,
        limits,
        announce: async (type, data) => {
          await publishOperationalEvent(
            { publish: (subject, body, headers) => platform.js.publish(subject, body, { headers }) },
            t,
            type,
            data,
            Date.now(),
          );
        },
      });
      return {
        readiness: { grpc: () => grpc !== undefined },
        start: async () => {
          grpc = await startGrpcServer({ host: config.host, port: config.port, token: config.token, tls: config.tls, handlers, logger });
          const server = grpc;
          cleanup.push('grpc', () => server.stop());
          if (config.console === undefined) logger.warn('web console off: HS_CONSOLE_ENABLED=false, or no token to sign in with');
          else {
            const web = await startConsoleServer({ ...config.console, handlers, logger });
            consolePort = web.port;
            cleanup.push('console', () => web.close());
            logger.info({ port: web.port, users: config.console.principals.length }, 'web console serving');
          }
          server.setServing(true);
          logger.info({ port: server.port, tls: config.tls !== undefined }, 'control plane serving');
        },
      };
    },
  });
  return {
    grpcPort: () => {
      if (grpc === undefined) throw new Error('control is not running');
      return grpc.port;
    },
    healthPort: service.healthPort,
    consolePort: () => consolePort,
    run: service.run,
    close: service.close,
  };
}
