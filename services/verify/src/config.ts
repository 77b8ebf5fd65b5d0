import { type BaseConfig, EnvReader, readBaseConfig } from '@hookstream/runtime';

/** Everything verify needs, resolved and frozen. */
export interface VerifyConfig extends BaseConfig {
  /** Messages verified at once. */
  readonly concurrency: number;
  /** Deliveries before a message that keeps failing is dead-lettered. */
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  /** How long to wait for JetStream's ack of a downstream publish. */
  readonly publishTimeoutMs: number;
}

/** Compiles the environment into a {@link VerifyConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): VerifyConfig {
  const r = new EnvReader(env);
  const base = readBaseConfig(r, 'verify', 9102);
  const config: VerifyConfig = {
    ...base,
    concurrency: r.int('HS_VERIFY_CONCURRENCY', 64, 1, 10_000),
    maxDeliver: r.int('HS_VERIFY_MAX_DELIVER', 10, 1, 1_000),
    ackWaitMs: r.int('HS_VERIFY_ACK_WAIT_MS', 30_000, 1_000, 600_000),
    publishTimeoutMs: r.int('HS_VERIFY_PUBLISH_TIMEOUT_MS', 5_000, 100, 60_000),
  };
  r.done();
  return Object.freeze(config);
}
