import { parse as parseCel } from '@bufbuild/cel';
import { OutboundHeader, parseSecrets, ValidationError } from '@hookstream/contracts';
import { type Locator, locate, parseLocator, type Secret } from '@hookstream/signing';
import type { KV } from '@nats-io/kv';
import { decodeRecord, RecordStore } from './record-store.ts';
import { ENCRYPTED_PREFIX, type SecretBox } from './secret-box.ts';
import { SOURCE_ID } from './sources.ts';

/** Retry policy of an endpoint; every field has a default (docs/delivery.md). */
export interface RetryPolicy {
  /** First backoff cap (full jitter: the delay is random in [0, cap]). Default 5 s. */
  readonly initialDelayMs: number;
  /** Largest backoff cap. Default 1 h. */
  readonly maxDelayMs: number;
  /** Give up (dead-letter) this long after the event was received. Default 72 h. */
  readonly maxAgeMs: number;
}

/** Circuit breaker settings of an endpoint. */
export interface CircuitPolicy {
  /** Consecutive failures that open the circuit. Default 5. */
  readonly failureThreshold: number;
  /** How long it stays open before one probe is let through. Default 30 s. */
  readonly openMs: number;
}

/**
 * A subscriber endpoint as stored in the `hs_endpoints` bucket (key = id).
 * Route reads the matching fields; deliver reads the rest.
 */
export interface EndpointConfig {
  /** `[A-Za-z0-9_-]{1,64}`; the `{endpoint}` token of `hs.deliver.{endpoint}`. */
  readonly id: string;
  /** `http:` or `https:` URL the events are POSTed to. */
  readonly url: string;
  /** Disabled endpoints get no new tasks. Default true. */
  readonly enabled: boolean;
  /** Only events from these sources; all sources when absent. */
  readonly sources?: readonly string[];
  /** Event-type patterns: exact, `*` (all), or globs where `*` matches any run of characters (`payment.*`). Default `["*"]`. */
  readonly eventTypes: readonly string[];
  /** Optional CEL expression over `type`, `source`, `id`, `data` (the parsed body) and `headers` (sender headers, lower case). */
  readonly filter?: string;
  /** Standard Webhooks secrets (`whsec_…`) that sign each POST; several during a rotation. */
  readonly secrets: readonly Secret[];
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Response timeout. Default 3 s. */
  readonly timeoutMs: number;
  /** Requests in flight to this endpoint at most, across every deliver replica. Default 10. */
  readonly maxConcurrency: number;
  /** Requests per second at most, across every deliver replica; unlimited when absent. */
  readonly rateLimitPerSecond?: number;
  /**
   * `strict`: one request in flight, and the next task is not sent until the
   * previous one succeeded or was dead-lettered (retries keep the order;
   * `maxConcurrency` is then 1). Absent: unordered.
   */
  readonly ordering?: 'strict';
  /**
   * With `ordering: 'strict'`: keep the order only among events with the same
   * key (e.g. `{"from": "json", "path": "$.data.object.customer"}`); keys
   * hash to `orderingLanes` lanes that are delivered in parallel, each
   * strictly ordered. Events without the key go to lane 0.
   */
  readonly orderingKey?: Locator;
  /** Lanes of an endpoint with an `orderingKey` (1-256). Default 16. */
  readonly orderingLanes?: number;
  readonly retry: RetryPolicy;
  readonly circuit: CircuitPolicy;
  readonly description?: string;
}

/** Lanes of a strictly ordered endpoint with an `orderingKey`, unless it sets `orderingLanes`. */
export const DEFAULT_ORDERING_LANES = 16;

/**
 * The lane of an event for an endpoint ordered by a key: FNV-1a of the key's
 * value modulo `orderingLanes`, so one key always takes one lane; 0 when the
 * event has no such key. Undefined for an endpoint without an `orderingKey`.
 * Pure.
 */
export function orderingLane(endpoint: EndpointConfig, header: (name: string) => string | undefined, json: unknown): number | undefined {
  if (endpoint.orderingKey === undefined) return undefined;
  const key = locate(endpoint.orderingKey, header, json);
  if (key === undefined) return 0;
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % (endpoint.orderingLanes ?? DEFAULT_ORDERING_LANES);
}

/** Default retry policy: 5 s first cap, 1 h largest cap, 72 h in all. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ initialDelayMs: 5_000, maxDelayMs: 3_600_000, maxAgeMs: 72 * 3_600_000 });
/** Default circuit breaker: open after 5 consecutive failures, probe after 30 s. */
export const DEFAULT_CIRCUIT: CircuitPolicy = Object.freeze({ failureThreshold: 5, openMs: 30_000 });

// Request headers an endpoint config may not set: hookstream owns them.
const RESERVED_HEADERS = new Set<string>([...Object.values(OutboundHeader), 'content-length', 'host', 'transfer-encoding', 'connection']);

function obj(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(field, 'must be an object');
  return value as Record<string, unknown>;
}

function positive(value: unknown, field: string, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || (integer && !Number.isInteger(value))) {
    throw new ValidationError(field, integer ? 'must be a positive integer' : 'must be a positive number');
  }
  return value;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw new ValidationError(field, 'must be a list of non-empty strings');
  }
  return value as string[];
}

/** Longest filter expression accepted, in characters. */
export const MAX_FILTER_LENGTH = 4_096;
/** Deepest nesting of comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`) inside one another's bodies. */
export const MAX_FILTER_NESTING = 3;

type CelExpr = ReturnType<typeof parseCel>['expr'];

/**
 * The deepest chain of comprehensions whose bodies (loop condition and
 * step) hold one another: the power of the list size that evaluation cost
 * can grow with. A comprehension in another's range or result runs once, so
 * it does not nest. Iterative, so a deep expression cannot overflow the stack.
 */
function comprehensionNesting(root: CelExpr): number {
  let deepest = 0;
  const stack: [CelExpr | undefined, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [expr, depth] = stack.pop() as [CelExpr | undefined, number];
    if (expr === undefined) continue;
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'selectExpr':
        stack.push([kind.value.operand, depth]);
        break;
      case 'callExpr':
        stack.push([kind.value.target, depth], ...kind.value.args.map((a): [CelExpr, number] => [a, depth]));
        break;
      case 'listExpr':
        stack.push(...kind.value.elements.map((e): [CelExpr, number] => [e, depth]));
        break;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          stack.push([entry.value, depth]);
          if (entry.keyKind.case === 'mapKey') stack.push([entry.keyKind.value, depth]);
        }
        break;
      case 'comprehensionExpr': {
        const c = kind.value;
        deepest = Math.max(deepest, depth + 1);
        stack.push([c.iterRange, depth], [c.accuInit, depth], [c.result, depth], [c.loopCondition, depth + 1], [c.loopStep, depth + 1]);
        break;
      }
      default:
        break;
    }
  }
  return deepest;
}

/**
 * Throws ValidationError when `expression` is not valid CEL, is longer than
 * {@link MAX_FILTER_LENGTH} characters, or nests comprehensions deeper than
 * {@link MAX_FILTER_NESTING} (each level multiplies the cost by a list's
 * size; route also bounds each evaluation with a step and time budget). Pure.
 */
export function checkFilter(expression: string, field = 'filter'): void {
  if (expression.length > MAX_FILTER_LENGTH) {
    throw new ValidationError(field, `is longer than ${MAX_FILTER_LENGTH} characters (${expression.length})`);
  }
  let parsed: ReturnType<typeof parseCel>;
  try {
    parsed = parseCel(expression);
  } catch (err) {
    throw new ValidationError(field, `does not compile: ${(err as Error).message}`);
  }
  const nesting = comprehensionNesting(parsed.expr);
  if (nesting > MAX_FILTER_NESTING) {
    throw new ValidationError(
      field,
      `nests comprehensions (all, exists, exists_one, map, filter) ${nesting} deep, more than ${MAX_FILTER_NESTING}: the cost grows with the list size to that power`,
    );
  }
}

/**
 * Checks an endpoint record and fills defaults. Throws {@link ValidationError}
 * naming the bad field (a filter that does not compile is refused here).
 */
export function parseEndpointConfig(input: unknown): EndpointConfig {
  const raw = obj(input, 'endpoint');
  if (typeof raw.id !== 'string' || !SOURCE_ID.test(raw.id)) throw new ValidationError('id', 'must match [A-Za-z0-9_-]{1,64}');
  let url: URL;
  try {
    url = new URL(String(raw.url));
  } catch {
    throw new ValidationError('url', 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError('url', 'must use http or https');
  if (url.username !== '' || url.password !== '') throw new ValidationError('url', 'must not carry credentials; use headers');
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') throw new ValidationError('enabled', 'must be true or false');
  const eventTypes = raw.eventTypes === undefined ? ['*'] : stringList(raw.eventTypes, 'eventTypes');
  if (eventTypes.length === 0) throw new ValidationError('eventTypes', 'must list at least one pattern');
  const sources = raw.sources === undefined ? undefined : stringList(raw.sources, 'sources');
  if (raw.filter !== undefined) {
    if (typeof raw.filter !== 'string' || raw.filter.trim() === '') throw new ValidationError('filter', 'must be a CEL expression');
    checkFilter(raw.filter);
  }
  const secrets = parseSecrets(raw.secrets, {
    // A sealed value (opened only by services that hold the master key) is opaque here.
    value: (v) => /^whsec_[A-Za-z0-9+/]+=*$/.test(v) || v.startsWith(ENCRYPTED_PREFIX),
    valueMessage: 'must be a whsec_ secret (base64)',
    atLeastOne: 'must list at least one whsec_ secret',
  });
  let headers: Record<string, string> | undefined;
  if (raw.headers !== undefined) {
    headers = {};
    for (const [name, value] of Object.entries(obj(raw.headers, 'headers'))) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ValidationError(`headers.${name}`, 'is not a valid header name');
      if (RESERVED_HEADERS.has(name.toLowerCase())) throw new ValidationError(`headers.${name}`, 'is set by hookstream');
      if (typeof value !== 'string' || /[\r\n]/.test(value)) throw new ValidationError(`headers.${name}`, 'must be a one-line string');
      headers[name] = value;
    }
  }
  if (raw.ordering !== undefined && raw.ordering !== 'strict') throw new ValidationError('ordering', 'must be "strict" or absent');
  let orderingKey: Locator | undefined;
  if (raw.orderingKey !== undefined) {
    if (raw.ordering !== 'strict') throw new ValidationError('orderingKey', 'needs "ordering": "strict"');
    try {
      orderingKey = parseLocator(raw.orderingKey);
    } catch (err) {
      throw new ValidationError('orderingKey', (err as Error).message);
    }
  }
  const orderingLanes = positive(raw.orderingLanes, 'orderingLanes', DEFAULT_ORDERING_LANES);
  if (raw.orderingLanes !== undefined && (orderingKey === undefined || orderingLanes > 256)) {
    throw new ValidationError('orderingLanes', orderingKey === undefined ? 'needs an orderingKey' : 'must be at most 256');
  }
  const retryRaw = raw.retry === undefined ? {} : obj(raw.retry, 'retry');
  const circuitRaw = raw.circuit === undefined ? {} : obj(raw.circuit, 'circuit');
  const config: EndpointConfig = {
    ...(raw as object),
    id: raw.id,
    url: url.toString(),
    enabled: raw.enabled ?? true,
    eventTypes: Object.freeze(eventTypes),
    ...(sources !== undefined ? { sources: Object.freeze(sources) } : {}),
    secrets: Object.freeze(secrets),
    ...(headers !== undefined ? { headers: Object.freeze(headers) } : {}),
    timeoutMs: positive(raw.timeoutMs, 'timeoutMs', 3_000),
    maxConcurrency: positive(raw.maxConcurrency, 'maxConcurrency', 10),
    ...(raw.rateLimitPerSecond !== undefined
      ? { rateLimitPerSecond: positive(raw.rateLimitPerSecond, 'rateLimitPerSecond', 0, false) }
      : {}),
    ...(orderingKey !== undefined ? { orderingKey, orderingLanes } : {}),
    retry: Object.freeze({
      initialDelayMs: positive(retryRaw.initialDelayMs, 'retry.initialDelayMs', DEFAULT_RETRY.initialDelayMs),
      maxDelayMs: positive(retryRaw.maxDelayMs, 'retry.maxDelayMs', DEFAULT_RETRY.maxDelayMs),
      maxAgeMs: positive(retryRaw.maxAgeMs, 'retry.maxAgeMs', DEFAULT_RETRY.maxAgeMs),
    }),
    circuit: Object.freeze({
      failureThreshold: positive(circuitRaw.failureThreshold, 'circuit.failureThreshold', DEFAULT_CIRCUIT.failureThreshold),
      openMs: positive(circuitRaw.openMs, 'circuit.openMs', DEFAULT_CIRCUIT.openMs),
    }),
  };
  return Object.freeze(config);
}

/** Decodes a KV value into a {@link EndpointConfig}; the key must equal the id. */
export function decodeEndpoint(key: string, value: Uint8Array, box?: SecretBox): EndpointConfig {
  return decodeRecord(parseEndpointConfig, key, value, box);
}

/** Typed writes to the `hs_endpoints` bucket (the control plane in production; tests and `make up` directly). */
export class EndpointStore extends RecordStore<EndpointConfig> {
  /** With `box`, secret values are sealed at rest (AES-256-GCM). */
  constructor(kv: KV, box?: SecretBox) {
    super(kv, parseEndpointConfig, box);
  }
}
