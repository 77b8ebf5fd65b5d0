import { createHash } from 'node:crypto';

/**
 * The source id of hookstream's own operational events. Source ids match
 * `[A-Za-z0-9_-]{1,64}`, so this one is reserved: `parseSourceConfig`
 * (models) refuses it, and no provider's webhook can be received under it.
 * Endpoints subscribe to it by listing it in their `sources`.
 */
export const OPERATIONAL_SOURCE = '_hookstream';

/** Every kind of operational event, in the order docs/operational-events.md lists them. */
export const OPERATIONAL_KINDS = Object.freeze([
  'endpoint.disabled',
  'endpoint.enabled',
  'circuit.opened',
  'circuit.closed',
  'delivery.exhausted',
  'source.rejection_rate',
] as const);

/** One kind of operational event; also its event type (`hs-event-type`). */
export type OperationalKind = (typeof OPERATIONAL_KINDS)[number];

/** Why an endpoint was disabled: a 410 Gone from it (deliver), or an operator (control). */
export type DisabledReason = 'gone' | 'operator';

/** The `data` of each kind of operational event (snake_case, as on the wire). */
export interface OperationalPayloadMap {
  /** Deliver got a 410 and wrote `hs_endpoint_state`, or an operator disabled it (SetEndpointEnabled). */
  'endpoint.disabled': {
    readonly endpoint_id: string;
    readonly reason: DisabledReason;
    /** Epoch ms of the change. */
    readonly at: number;
  };
  /** An operator enabled it again (SetEndpointEnabled). */
  'endpoint.enabled': { readonly endpoint_id: string; readonly reason: 'operator'; readonly at: number };
  /** A deliver replica's breaker for the endpoint went from closed to open. */
  'circuit.opened': { readonly endpoint_id: string; readonly replica: string; readonly at: number };
  /** A deliver replica's breaker for the endpoint closed again (its probe succeeded). */
  'circuit.closed': { readonly endpoint_id: string; readonly replica: string; readonly at: number };
  /** A task was dead-lettered `retries_exhausted`: its retry window closed. */
  'delivery.exhausted': {
    readonly endpoint_id: string;
    readonly event_id: string;
    readonly source: string;
    readonly event_type: string;
    /** The replay the task belonged to; absent for the original delivery. */
    readonly replay?: string;
    readonly attempts: number;
    readonly at: number;
  };
  /** A source's share of rejected requests in one window reached the threshold (verify). */
  'source.rejection_rate': {
    readonly source: string;
    /** Epoch ms where the window starts (a multiple of `window_ms`). */
    readonly window_start: number;
    readonly window_ms: number;
    readonly rejected: number;
    readonly total: number;
    /** rejected / total. */
    readonly rate: number;
    readonly threshold: number;
    /** The replica that counted (each counts what it verified). */
    readonly replica: string;
  };
}

/** The body of an operational event: `{type, data}`, JSON. */
export interface OperationalEvent<K extends OperationalKind = OperationalKind> {
  readonly type: K;
  readonly data: OperationalPayloadMap[K];
}

// What makes two publishes of one kind the same event. A mapped type: a new
// kind without its key is a compile error.
const DEDUP_KEY: { readonly [K in OperationalKind]: (d: OperationalPayloadMap[K]) => string } = {
  'endpoint.disabled': (d) => `${d.endpoint_id}:${d.reason}:${d.at}`,
  'endpoint.enabled': (d) => `${d.endpoint_id}:${d.at}`,
  'circuit.opened': (d) => `${d.endpoint_id}:${d.replica}:${d.at}`,
  'circuit.closed': (d) => `${d.endpoint_id}:${d.replica}:${d.at}`,
  'delivery.exhausted': (d) => `${d.event_id}:${d.endpoint_id}${d.replay === undefined ? '' : `:${d.replay}`}`,
  // No replica: every replica that crosses the threshold in one window names the same event.
  'source.rejection_rate': (d) => `${d.source}:${d.window_start}`,
};

/**
 * `{kind}:{key}`: what makes an operational event itself, from which its
 * event id is derived. A disable or circuit change is one per (endpoint,
 * replica, time); an exhausted delivery one per delivery key; a rejection
 * rate one per (source, window), whichever replica saw it. Pure.
 */
export function operationalEventKey<K extends OperationalKind>(event: OperationalEvent<K>): string {
  return `${event.type}:${(DEDUP_KEY[event.type] as (d: OperationalPayloadMap[K]) => string)(event.data)}`;
}

/**
 * The event id (`hs-event-id`, the `webhook-id` of its deliveries) of an
 * operational event: a name-based UUID (version 8) of its
 * {@link operationalEventKey}, so the same event published twice (a retry,
 * another replica) has one id and JetStream keeps one copy. 36 characters,
 * like ingest's UUIDv7s. Pure.
 */
export function operationalEventId(event: OperationalEvent): string {
  const hex = createHash('sha256').update(operationalEventKey(event)).digest('hex');
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The `Nats-Msg-Id` of an operational event's publish: `{event id}:ops`. Pure. */
export function operationalMsgId(eventId: string): string {
  return `${eventId}:ops`;
}

/**
 * The subject (before any `HS_NAMESPACE` prefix) a JetStream subscriber
 * reads an operational event on: `hs.ops.{kind}` (stream `HS_OPS`), e.g.
 * `hs.ops.endpoint.disabled`. Route publishes it there in place of
 * `events.{source}.{type}`, so consumers of `events.>` see only providers'
 * events. Pure.
 */
export function operationalEventSubject(kind: OperationalKind): string {
  return `hs.ops.${kind}`;
}

/** Whether a string is one of {@link OPERATIONAL_KINDS}. Pure. */
export function isOperationalKind(value: string): value is OperationalKind {
  return (OPERATIONAL_KINDS as readonly string[]).includes(value);
}

/** The JSON body of an operational event. Pure. */
export function encodeOperationalEvent(event: OperationalEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ type: event.type, data: event.data }));
}

/**
 * Reads an operational event's body. Throws an `Error` when it is not JSON
 * or its `type` is not a known kind; `data` is trusted as written by
 * {@link encodeOperationalEvent}. Pure.
 */
export function decodeOperationalEvent(body: Uint8Array): OperationalEvent {
  const raw = JSON.parse(new TextDecoder().decode(body)) as { type?: unknown; data?: unknown } | null;
  if (raw === null || typeof raw !== 'object' || typeof raw.type !== 'string' || !isOperationalKind(raw.type)) {
    throw new Error('not an operational event: type must be one of OPERATIONAL_KINDS');
  }
  if (typeof raw.data !== 'object' || raw.data === null) throw new Error('not an operational event: data must be an object');
  return { type: raw.type, data: raw.data } as OperationalEvent;
}
