import { ConfigError } from './errors.ts';
import { type SecretBox, secretBoxFromEnv } from './secret-box.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads typed values from an environment, collecting every problem instead of
 * stopping at the first, so a bad deployment learns all its mistakes at once.
 * Call `done()` after the last read: it throws a {@link ConfigError} naming
 * each bad variable.
 */
export class EnvReader {
  readonly #env: Env;
  readonly #problems: string[] = [];

  constructor(env: Env = process.env) {
    this.#env = env;
  }

  /** A string; `fallback` when unset or empty. */
  string(name: string, fallback: string): string {
    const raw = this.#env[name];
    return raw === undefined || raw === '' ? fallback : raw;
  }

  /** An optional string: undefined when unset or empty. */
  optionalString(name: string): string | undefined {
    const raw = this.#env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  /** An integer within [min, max]; `fallback` when unset. */
  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.#env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.#problems.push(`${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  }

  /** One of the allowed words; `fallback` when unset. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.#env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.#problems.push(`${name}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return raw as T;
  }

  /** `true`/`false`/`1`/`0`; `fallback` when unset. */
  bool(name: string, fallback: boolean): boolean {
    const raw = this.#env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.#problems.push(`${name}: expected true or false, got ${JSON.stringify(raw)}`);
    return fallback;
  }

  /** A comma-separated list of non-empty items; `fallback` when unset. */
  list(name: string, fallback: readonly string[]): string[] {
    const raw = this.#env[name];
    if (raw === undefined || raw === '') return [...fallback];
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  /** The master keys (`HS_MASTER_KEY` or `HS_MASTER_KEYS` + `HS_MASTER_KEY_ID`), or undefined when unset. */
  secretBox(): SecretBox | undefined {
    try {
      return secretBoxFromEnv(this.#env);
    } catch (err) {
      if (err instanceof ConfigError) {
        this.#problems.push(...err.problems);
        return undefined;
      }
      throw err;
    }
  }

  /** Records a problem found by a cross-field check. */
  problem(name: string, message: string): void {
    this.#problems.push(`${name}: ${message}`);
  }

  /** Throws {@link ConfigError} when any read failed. */
  done(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }
}

/** Settings every service shares: where NATS is, the namespace, logging, health port. */
export interface BaseConfig {
  /** Service name, used in logs, durable consumer names and DLQ subjects. */
  readonly service: string;
  /** NATS server URLs. */
  readonly natsServers: readonly string[];
  /** Optional NATS credentials. */
  readonly natsUser: string | undefined;
  readonly natsPassword: string | undefined;
  readonly natsToken: string | undefined;
  /**
   * Prefix for every stream, subject and bucket name. Empty in production;
   * tests and side-by-side deployments set it to stay isolated.
   */
  readonly namespace: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Port of the /healthz, /readyz server; 0 picks a free one. */
  readonly healthPort: number;
  readonly healthHost: string;
  /** Stream replicas (1 locally, 3 in production clusters). */
  readonly streamReplicas: number;
  /** Retention of HS_EVENTS in hours. */
  readonly eventsMaxAgeHours: number;
  /** Opens (and seals) secrets at rest; undefined without a master key. */
  readonly secretBox: SecretBox | undefined;
}

/** The names of the variables {@link readBaseConfig} reads, for docs and errors. */
export const BASE_ENV = [
  'HS_NATS_URL',
  'HS_NATS_USER',
  'HS_NATS_PASSWORD',
  'HS_NATS_TOKEN',
  'HS_NAMESPACE',
  'HS_LOG_LEVEL',
  'HS_HEALTH_PORT',
  'HS_HEALTH_HOST',
  'HS_STREAM_REPLICAS',
  'HS_EVENTS_MAX_AGE_HOURS',
  'HS_MASTER_KEY',
  'HS_MASTER_KEYS',
  'HS_MASTER_KEY_ID',
] as const;

/**
 * Reads the settings every service shares. The caller reads its own settings
 * from the same reader and then calls `reader.done()`.
 */
export function readBaseConfig(reader: EnvReader, service: string, defaultHealthPort: number): BaseConfig {
  const namespace = reader.string('HS_NAMESPACE', '');
  if (namespace !== '' && !/^[A-Za-z0-9_-]{1,32}$/.test(namespace)) {
    reader.problem('HS_NAMESPACE', 'letters, digits, "_" and "-" only, at most 32');
  }
  return {
    service,
    natsServers: reader.list('HS_NATS_URL', ['nats://127.0.0.1:4222']),
    natsUser: reader.optionalString('HS_NATS_USER'),
    natsPassword: reader.optionalString('HS_NATS_PASSWORD'),
    natsToken: reader.optionalString('HS_NATS_TOKEN'),
    namespace,
    logLevel: reader.oneOf('HS_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    healthPort: reader.int('HS_HEALTH_PORT', defaultHealthPort, 0, 65535),
    healthHost: reader.string('HS_HEALTH_HOST', '0.0.0.0'),
    streamReplicas: reader.int('HS_STREAM_REPLICAS', 1, 1, 5),
    eventsMaxAgeHours: reader.int('HS_EVENTS_MAX_AGE_HOURS', 7 * 24, 1, 24 * 365),
    secretBox: reader.secretBox(),
  };
}
