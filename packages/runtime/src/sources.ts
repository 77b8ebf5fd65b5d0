import type { KV } from '@nats-io/kv';
import { ValidationError } from './errors.ts';

/** Per-source token-bucket limit: `perSecond` refill, `burst` capacity. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * A webhook source as stored in the `hs_sources` bucket (key = id). Ingest
 * reads the fields below; verify, dedup and validate read the fields their
 * issues add. Unknown fields are kept, so older services pass newer records
 * through untouched.
 */
export interface SourceConfig {
  /** `[A-Za-z0-9_-]{1,64}`; the `{source}` in `/v1/webhooks/{source}`. */
  readonly id: string;
  /** A disabled source answers 404 at ingest. Default true. */
  readonly enabled: boolean;
  /** Body limit in bytes; the service default when absent. */
  readonly maxBodyBytes?: number;
  /** Per-source rate limit at ingest (per ingest replica); none when absent. */
  readonly rateLimit?: RateLimit;
  /**
   * Media types ingest accepts (`application/json`, `*\/*`, `application/*+json`).
   * Default: JSON (including `+json`) and form-urlencoded.
   */
  readonly contentTypes?: readonly string[];
  readonly description?: string;
  readonly [extra: string]: unknown;
}

/** Source ids are URL path segments and subject tokens: keep them plain. */
export const SOURCE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function positiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ValidationError(field, 'must be a positive integer');
  }
  return value;
}

/**
 * Checks a source record and fills defaults. Throws {@link ValidationError}
 * naming the bad field. Pure.
 */
export function parseSourceConfig(input: unknown): SourceConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('source', 'must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  if (typeof raw.id !== 'string' || !SOURCE_ID.test(raw.id)) {
    throw new ValidationError('id', 'must match [A-Za-z0-9_-]{1,64}');
  }
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') {
    throw new ValidationError('enabled', 'must be true or false');
  }
  if (raw.maxBodyBytes !== undefined) positiveInt(raw.maxBodyBytes, 'maxBodyBytes');
  if (raw.rateLimit !== undefined) {
    const rl = raw.rateLimit as Record<string, unknown> | null;
    if (typeof rl !== 'object' || rl === null) throw new ValidationError('rateLimit', 'must be an object');
    if (typeof rl.perSecond !== 'number' || !(rl.perSecond > 0)) {
      throw new ValidationError('rateLimit.perSecond', 'must be a positive number');
    }
    positiveInt(rl.burst, 'rateLimit.burst');
  }
  if (raw.contentTypes !== undefined) {
    if (!Array.isArray(raw.contentTypes) || raw.contentTypes.some((t) => typeof t !== 'string' || !t.includes('/'))) {
      throw new ValidationError('contentTypes', 'must be a list of media types such as application/json');
    }
  }
  return Object.freeze({ ...raw, id: raw.id, enabled: raw.enabled ?? true }) as SourceConfig;
}

/** Decodes a KV value into a {@link SourceConfig}; the key must equal the id. */
export function decodeSource(key: string, value: Uint8Array): SourceConfig {
  const source = parseSourceConfig(JSON.parse(new TextDecoder().decode(value)));
  if (source.id !== key) throw new ValidationError('id', `must equal the key ${key}`);
  return source;
}

/**
 * Typed writes to the `hs_sources` bucket. The control service is the only
 * writer in production; tests and `make up` seed sources through it directly.
 */
export class SourceStore {
  readonly #kv: KV;
  constructor(kv: KV) {
    this.#kv = kv;
  }

  /** Validates and writes a source; resolves to the KV revision. Throws ValidationError. */
  async put(input: unknown): Promise<number> {
    const source = parseSourceConfig(input);
    return this.#kv.put(source.id, JSON.stringify(source));
  }

  /** Reads one source, or undefined. */
  async get(id: string): Promise<SourceConfig | undefined> {
    const entry = await this.#kv.get(id);
    if (entry?.operation !== 'PUT') return undefined;
    return decodeSource(id, entry.value);
  }

  /** Deletes a source (a no-op when absent). */
  async delete(id: string): Promise<void> {
    await this.#kv.delete(id);
  }
}
