import { OPERATIONAL_SOURCE, parseSecrets, ValidationError } from '@hookstream/contracts';
import {
  type Locator,
  PROVIDER_PRESETS,
  type ProviderName,
  parseLocator,
  parseSchemeConfig,
  type SchemeConfig,
  SchemeConfigError,
  type Secret,
} from '@hookstream/signing';
import type { KV } from '@nats-io/kv';
import { decodeRecord, RecordStore } from './record-store.ts';
import type { SecretBox } from './secret-box.ts';

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
  /** A provider preset: its signature scheme and where type and idempotency key live. */
  readonly provider?: ProviderName;
  /** The signature scheme; overrides the preset's. `{ "kind": "none" }` for an unsigned source. */
  readonly scheme?: SchemeConfig;
  /** Active secrets; several during a rotation. */
  readonly secrets?: readonly Secret[];
  /** Where the event type is found; overrides the preset's (unsigned and generic sources default to `$.type`). */
  readonly eventType?: Locator;
  /** Where the provider's idempotency key is found; overrides the preset's. */
  readonly idempotencyKey?: Locator;
  /** Verify at ingest and answer 401, for senders that must see the failure. */
  readonly verifyInline?: boolean;
  /**
   * Dedup window in hours (default: the service's, 72 h). Longer than the
   * dedup bucket's max age is capped by it.
   */
  readonly dedupWindowHours?: number;
  /** How validate applies schemas: `strict`, `additive` (default) or `off`. */
  readonly schemaMode?: SchemaMode;
  /** Reject events whose (source, type) has no schema. Default false: they pass and are counted. */
  readonly requireSchema?: boolean;
  readonly [extra: string]: unknown;
}

/**
 * `strict`: unknown properties are errors; `additive`: required fields and
 * types are enforced, unknown fields pass (and are recorded as drift);
 * `off`: no schema checks.
 */
export type SchemaMode = 'strict' | 'additive' | 'off';
export const SCHEMA_MODES: readonly SchemaMode[] = ['strict', 'additive', 'off'];

/** How a source's deliveries are verified and keyed, with the preset applied. */
export interface SourcePolicy {
  readonly scheme: SchemeConfig;
  readonly secrets: readonly Secret[];
  readonly eventType: Locator | undefined;
  readonly idempotencyKey: Locator | undefined;
}

/**
 * Where an unsigned (`none`) or generic (`hmac`) source without a provider
 * preset reads its event type unless it names a locator: the body's `type`
 * field, as most senders (and the README's first example) put it.
 */
export const DEFAULT_EVENT_TYPE_LOCATOR: Locator = Object.freeze({ from: 'json', path: '$.type' });

/**
 * Resolves a valid source's policy: explicit fields first, then its provider
 * preset; an unsigned or generic-HMAC source with neither reads its event
 * type from {@link DEFAULT_EVENT_TYPE_LOCATOR}. Throws ValidationError when a
 * hand-built source has neither a provider nor a scheme.
 */
export function sourcePolicy(source: SourceConfig): SourcePolicy {
  const preset = source.provider === undefined ? undefined : PROVIDER_PRESETS[source.provider];
  const scheme = source.scheme ?? preset?.scheme;
  // parseSourceConfig guarantees one of the two; this guards hand-built objects.
  if (scheme === undefined) throw new ValidationError('scheme', 'a provider or a scheme is required');
  const generic = preset === undefined && (scheme.kind === 'none' || scheme.kind === 'hmac');
  return {
    scheme,
    secrets: source.secrets ?? [],
    eventType: source.eventType ?? preset?.eventType ?? (generic ? DEFAULT_EVENT_TYPE_LOCATOR : undefined),
    idempotencyKey: source.idempotencyKey ?? preset?.idempotencyKey,
  };
}

function withField<T>(prefix: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof SchemeConfigError) throw new ValidationError(`${prefix}.${err.field}`, err.message.replace(/^[^:]*: /, ''));
    throw err;
  }
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
  // Reserved for hookstream's own operational events (docs/operational-events.md).
  if (raw.id === OPERATIONAL_SOURCE) throw new ValidationError('id', `${OPERATIONAL_SOURCE} is reserved for operational events`);
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
  const verification: Record<string, unknown> = {};
  if (raw.provider !== undefined) {
    if (typeof raw.provider !== 'string' || !Object.hasOwn(PROVIDER_PRESETS, raw.provider)) {
      throw new ValidationError('provider', `must be one of ${Object.keys(PROVIDER_PRESETS).join(', ')}`);
    }
  }
  if (raw.scheme !== undefined) verification.scheme = withField('scheme', () => parseSchemeConfig(raw.scheme));
  if (raw.provider === undefined && raw.scheme === undefined) {
    throw new ValidationError('scheme', 'a provider or a scheme is required ({"kind":"none"} for an unsigned source)');
  }
  if (raw.secrets !== undefined)
    verification.secrets = Object.freeze(parseSecrets(raw.secrets, { value: () => true, valueMessage: 'must be a non-empty string' }));
  if (raw.eventType !== undefined) verification.eventType = withField('eventType', () => parseLocator(raw.eventType));
  if (raw.idempotencyKey !== undefined) verification.idempotencyKey = withField('idempotencyKey', () => parseLocator(raw.idempotencyKey));
  if (raw.verifyInline !== undefined && typeof raw.verifyInline !== 'boolean') {
    throw new ValidationError('verifyInline', 'must be true or false');
  }
  if (raw.dedupWindowHours !== undefined && (typeof raw.dedupWindowHours !== 'number' || !(raw.dedupWindowHours > 0))) {
    throw new ValidationError('dedupWindowHours', 'must be a positive number of hours');
  }
  if (raw.schemaMode !== undefined && !SCHEMA_MODES.includes(raw.schemaMode as SchemaMode)) {
    throw new ValidationError('schemaMode', `must be one of ${SCHEMA_MODES.join(', ')}`);
  }
  if (raw.requireSchema !== undefined && typeof raw.requireSchema !== 'boolean') {
    throw new ValidationError('requireSchema', 'must be true or false');
  }
  return Object.freeze({ ...raw, ...verification, id: raw.id, enabled: raw.enabled ?? true }) as SourceConfig;
}

/** Decodes a KV value into a {@link SourceConfig}; the key must equal the id. */
export function decodeSource(key: string, value: Uint8Array, box?: SecretBox): SourceConfig {
  return decodeRecord(parseSourceConfig, key, value, box);
}

/**
 * Typed writes to the `hs_sources` bucket. The control service is the only
 * writer in production; tests and `make up` seed sources through it directly.
 */
export class SourceStore extends RecordStore<SourceConfig> {
  /** With `box`, secret values are sealed at rest (AES-256-GCM). */
  constructor(kv: KV, box?: SecretBox) {
    super(kv, parseSourceConfig, box);
  }
}
