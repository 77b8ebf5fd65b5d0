import { DATABASE_NAME, DEFAULT_MIGRATIONS_DIR } from '@hookstream/clickhouse';
import { type BaseConfig, EnvReader, readBaseConfig } from '@hookstream/runtime';

/** Everything analytics needs, resolved and frozen. */
export interface AnalyticsConfig extends BaseConfig {
  /** ClickHouse HTTP interface, `HS_CLICKHOUSE_URL`. */
  readonly clickhouseUrl: string;
  /** `HS_CLICKHOUSE_DATABASE`: letters, digits and `_`. */
  readonly clickhouseDatabase: string;
  readonly clickhouseUser: string;
  readonly clickhousePassword: string;
  /** Deadline of one ClickHouse request (ms). */
  readonly clickhouseTimeoutMs: number;
  /** Directory of the `NNNN_name.sql` migrations. */
  readonly migrationsDir: string;
  /** Most records in one batch (one INSERT per table). */
  readonly batchSize: number;
  /** Longest wait for a batch to fill (ms). */
  readonly batchIntervalMs: number;
  /** JetStream ack wait of the `analytics` consumer (ms). */
  readonly ackWaitMs: number;
}

/** Compiles the environment into an {@link AnalyticsConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): AnalyticsConfig {
  const r = new EnvReader(env);
  const database = r.string('HS_CLICKHOUSE_DATABASE', 'hookstream');
  if (!DATABASE_NAME.test(database))
    r.problem('HS_CLICKHOUSE_DATABASE', 'letters, digits and "_" only, not starting with a digit, at most 63');
  const url = r.string('HS_CLICKHOUSE_URL', 'http://127.0.0.1:8123');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    r.problem('HS_CLICKHOUSE_URL', `expected an http(s) URL, got ${JSON.stringify(url)}`);
  const config: AnalyticsConfig = {
    ...readBaseConfig(r, 'analytics', 9108),
    clickhouseUrl: url,
    clickhouseDatabase: database,
    clickhouseUser: r.string('HS_CLICKHOUSE_USER', 'default'),
    clickhousePassword: r.string('HS_CLICKHOUSE_PASSWORD', ''),
    clickhouseTimeoutMs: r.int('HS_CLICKHOUSE_TIMEOUT_MS', 30_000, 1_000, 600_000),
    migrationsDir: r.string('HS_CLICKHOUSE_MIGRATIONS_DIR', DEFAULT_MIGRATIONS_DIR),
    batchSize: r.int('HS_ANALYTICS_BATCH_SIZE', 5_000, 1, 100_000),
    // JetStream refuses pull requests that expire sooner than 1 s.
    batchIntervalMs: r.int('HS_ANALYTICS_BATCH_INTERVAL_MS', 1_000, 1_000, 60_000),
    ackWaitMs: r.int('HS_ANALYTICS_ACK_WAIT_MS', 30_000, 3_000, 600_000),
  };
  r.done();
  return Object.freeze(config);
}
