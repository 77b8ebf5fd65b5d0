import { type BaseConfig, EnvReader, readBaseConfig } from '@hookstream/runtime';

/** Everything validate needs, resolved and frozen. */
export interface ValidateConfig extends BaseConfig {
  /** Messages validated at once. */
  readonly concurrency: number;
  /** Deliveries before a message that keeps failing is dead-lettered. */
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  /** How long to wait for JetStream's ack of a downstream publish. */
  readonly publishTimeoutMs: number;
  /** Deepest bracket nesting accepted in a JSON body; deeper bodies are rejected with `too_deep`. */
  readonly maxDepth: number;
  /** A drift record for a (source, type, path) is published at most once per this interval, per replica. */
  readonly driftIntervalMs: number;
}

/** Compiles the environment into a {@link ValidateConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ValidateConfig {
  const r = new EnvReader(env);
  const base = readBaseConfig(r, 'validate', 9104);
  const config: ValidateConfig = {
    ...base,
    concurrency: r.int('HS_VALIDATE_CONCURRENCY', 64, 1, 10_000),
    maxDeliver: r.int('HS_VALIDATE_MAX_DELIVER', 10, 1, 1_000),
    ackWaitMs: r.int('HS_VALIDATE_ACK_WAIT_MS', 30_000, 1_000, 600_000),
    publishTimeoutMs: r.int('HS_VALIDATE_PUBLISH_TIMEOUT_MS', 5_000, 100, 60_000),
    maxDepth: r.int('HS_VALIDATE_MAX_DEPTH', 128, 1, 1_000),
    driftIntervalMs: r.int('HS_VALIDATE_DRIFT_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
  };
  r.done();
  return Object.freeze(config);
}
