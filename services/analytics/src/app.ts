import { applyMigrations, ClickHouseRowStore, loadMigrations, type RowStore } from '@hookstream/clickhouse';
import { type App, buildService, type Logger, metrics } from '@hookstream/runtime';
import type { AnalyticsConfig } from './config.ts';
import { type Sink, startSink } from './sink.ts';

/** Dependencies a test may replace. */
export interface AnalyticsOverrides {
  readonly logger?: Logger;
  /** Where rows go instead of ClickHouse (migrations still run against ClickHouse). */
  readonly store?: RowStore;
  /** Delay before retrying a failed insert, by failures so far. */
  readonly retryDelayMs?: (failures: number) => number;
}

/** The analytics service as `main.ts` and the tests run it. */
export interface AnalyticsApp extends App {
  /** The health server's port, once running. */
  healthPort(): number;
  /** The sink, once running. Throws before. */
  sink(): Sink;
  /** The ClickHouse client (for tests and tools), once running. Throws before. */
  clickhouse(): ClickHouseRowStore;
}

/**
 * Wires analytics on the runtime's service skeleton ({@link buildService}):
 * ClickHouse (migrations applied before NATS is opened), NATS and streams, the health server (`/healthz`: the sink loop
 * runs; `/readyz`: NATS up, migrations applied, the last ClickHouse write
 * succeeded, consuming) and the batching sink on `hs.obs.>` (durable
 * `analytics`, dead letters to `hs.dlq.analytics.obs`). `close()` unwinds in
 * reverse: stop the sink (a batch being written finishes), close the health
 * server, drain NATS, close the ClickHouse client.
 */
export function buildApp(config: AnalyticsConfig, overrides: AnalyticsOverrides = {}): AnalyticsApp {
  let sink: Sink | undefined;
  let clickhouse: ClickHouseRowStore | undefined;
  const requireClickHouse = (): ClickHouseRowStore => {
    if (clickhouse === undefined) throw new Error('analytics is not running');
    return clickhouse;
  };
  const service = buildService({
    config,
    logger: overrides.logger,
    // Before NATS: nothing is consumed until the schema is up to date.
    prepare: async ({ cleanup, logger }) => {
      const ch = new ClickHouseRowStore({
        url: config.clickhouseUrl,
        database: config.clickhouseDatabase,
        user: config.clickhouseUser,
        password: config.clickhousePassword,
        requestTimeoutMs: config.clickhouseTimeoutMs,
      });
      clickhouse = ch;
      cleanup.push('clickhouse', () => ch.close());
      const applied = await applyMigrations(
        ch,
        config.clickhouseDatabase,
        loadMigrations(config.migrationsDir, config.clickhouseDatabase),
        logger,
      );
      logger.info({ database: config.clickhouseDatabase, applied }, 'clickhouse schema up to date');
    },
    setup: async ({ platform, topology: t, cleanup, logger, refreshMetrics }) => ({
      liveness: { sink: () => sink === undefined || sink.healthy() },
      readiness: {
        clickhouse: () => sink === undefined || sink.clickhouseOk(),
        sink: () => sink !== undefined,
      },
      start: async () => {
        sink = await startSink({
          js: platform.js,
          jsm: platform.jsm,
          logger,
          store: overrides.store ?? requireClickHouse(),
          stream: t.streams.obs,
          durable: 'analytics',
          filterSubject: t.subject('hs.obs.>'),
          deadLetterSubject: t.dlq('analytics', 'obs'),
          batchSize: config.batchSize,
          batchIntervalMs: config.batchIntervalMs,
          ackWaitMs: config.ackWaitMs,
          ...(overrides.retryDelayMs ? { retryDelayMs: overrides.retryDelayMs } : {}),
        });
        const running = sink;
        cleanup.push('sink', () => running.stop());
        // Consumer lag, read at scrape time.
        refreshMetrics(async () => {
          const info = await platform.jsm.consumers.info(t.streams.obs, 'analytics');
          metrics.consumerPending.set({ stage: 'analytics' }, info.num_pending);
          metrics.consumerAckPending.set({ stage: 'analytics' }, info.num_ack_pending);
        });
      },
    }),
  });
  return {
    healthPort: service.healthPort,
    sink: () => {
      if (sink === undefined) throw new Error('analytics is not running');
      return sink;
    },
    clickhouse: requireClickHouse,
    run: service.run,
    close: service.close,
  };
}
