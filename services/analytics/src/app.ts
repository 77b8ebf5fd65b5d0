import { applyMigrations, ClickHouseRowStore, loadMigrations, type RowStore } from '@hookstream/clickhouse';
import {
  type App,
  addMetricsRefresher,
  CleanupStack,
  createLogger,
  type Logger,
  metrics,
  openPlatform,
  startHealthServer,
} from '@hookstream/runtime';
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
 * Wires analytics: ClickHouse (migrations applied before anything is
 * consumed), NATS and streams, the health server (`/healthz`: the sink loop
 * runs; `/readyz`: NATS up, migrations applied, the last ClickHouse write
 * succeeded, consuming) and the batching sink on `hs.obs.>` (durable
 * `analytics`, dead letters to `hs.dlq.analytics.obs`). `close()` unwinds in
 * reverse: stop the sink (a batch being written finishes), close the health
 * server, drain NATS, close the ClickHouse client.
 */
export function buildApp(config: AnalyticsConfig, overrides: AnalyticsOverrides = {}): AnalyticsApp {
  const logger = overrides.logger ?? createLogger({ service: config.service, level: config.logLevel });
  const cleanup = new CleanupStack();
  let healthPort = 0;
  let sink: Sink | undefined;
  let clickhouse: ClickHouseRowStore | undefined;
  return {
    healthPort: () => healthPort,
    sink: () => {
      if (sink === undefined) throw new Error('analytics is not running');
      return sink;
    },
    clickhouse: () => {
      if (clickhouse === undefined) throw new Error('analytics is not running');
      return clickhouse;
    },
    run: async () => {
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

      const platform = await openPlatform(config, logger);
      cleanup.push('nats', () => platform.nats.drain());
      const t = platform.topology;
      const health = await startHealthServer({
        host: config.healthHost,
        port: config.healthPort,
        liveness: { sink: () => sink === undefined || sink.healthy() },
        readiness: {
          nats: () => platform.nats.isConnected(),
          clickhouse: () => sink === undefined || sink.clickhouseOk(),
          sink: () => sink !== undefined,
        },
      });
      healthPort = health.port;
      cleanup.push('health', () => health.close());

      sink = await startSink({
        js: platform.js,
        jsm: platform.jsm,
        logger,
        store: overrides.store ?? ch,
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
      const removeRefresher = addMetricsRefresher(async () => {
        const info = await platform.jsm.consumers.info(t.streams.obs, 'analytics');
        metrics.consumerPending.set({ stage: 'analytics' }, info.num_pending);
        metrics.consumerAckPending.set({ stage: 'analytics' }, info.num_ack_pending);
      });
      cleanup.push('metrics refresher', removeRefresher);
    },
    close: () => cleanup.unwind(logger),
  };
}
