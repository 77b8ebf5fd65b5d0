import { type BaseConfig, EnvReader, readBaseConfig } from '@hookstream/runtime';

/** Everything dedup needs, resolved and frozen. */
export interface DedupConfig extends BaseConfig {
  /** Default dedup window, and the max age of the `hs_dedup` bucket, in hours. */
  readonly windowHours: number;
  readonly concurrency: number;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  readonly publishTimeoutMs: number;
}

/** Compiles the environment into a {@link DedupConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): DedupConfig {
  const r = new EnvReader(env);
  const base = readBaseConfig(r, 'dedup', 9103);
  const config: DedupConfig = {
    ...base,
    windowHours: r.int('HS_DEDUP_WINDOW_HOURS', 72, 1, 24 * 90),
    concurrency: r.int('HS_DEDUP_CONCURRENCY', 64, 1, 10_000),
    maxDeliver: r.int('HS_DEDUP_MAX_DELIVER', 10, 1, 1_000),
    ackWaitMs: r.int('HS_DEDUP_ACK_WAIT_MS', 30_000, 1_000, 600_000),
    publishTimeoutMs: r.int('HS_DEDUP_PUBLISH_TIMEOUT_MS', 5_000, 100, 60_000),
  };
  r.done();
  return Object.freeze(config);
}
