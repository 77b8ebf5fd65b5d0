/**
 * Names of every stream, subject and KV bucket, derived from one namespace so
 * that tests and side-by-side deployments never collide. With the empty
 * namespace the names are exactly those in docs/subjects.md.
 */
export interface Topology {
  readonly namespace: string;
  readonly streams: {
    readonly raw: string;
    readonly pipe: string;
    readonly events: string;
    readonly delivery: string;
    readonly dlq: string;
    readonly obs: string;
    /** `HS_OPS`: operational events for the teams around hookstream (docs/operational-events.md). */
    readonly ops: string;
  };
  readonly buckets: {
    readonly sources: string;
    readonly endpoints: string;
    readonly schemas: string;
    readonly dedup: string;
    /** Written by deliver: endpoints it disabled (410 Gone) and why. */
    readonly endpointState: string;
    /** Written by deliver: circuits that are not closed, per replica (entries expire; docs/console.md). */
    readonly circuits: string;
    /** Written by deliver: the attempt state of the task at the head of each strictly ordered endpoint (docs/delivery.md). */
    readonly deliveryHeads: string;
    /** Written by deliver: deliveries that got a 2xx, kept for a TTL, so a redelivered or republished task is not POSTed again (docs/delivery.md). */
    readonly delivered: string;
    /** Written by dedup (and verify for what it rejects): provider id / idempotency key -> event ids, kept `LOOKUP_TTL_MS` (7 days, HS_RAW's retention); read by FindEvents. */
    readonly lookup: string;
  };
  /** `hs.raw.{source}` */
  raw(source: string): string;
  /** `hs.verified.{source}` */
  verified(source: string): string;
  /** `hs.unique.{source}` */
  unique(source: string): string;
  /** `hs.valid.{source}` */
  valid(source: string): string;
  /** `events.{source}.{type}`; the type keeps its dots. */
  events(source: string, eventType: string): string;
  /** `hs.deliver.{endpoint}`, or `hs.deliver.{endpoint}.{lane}` for a lane of an endpoint ordered by a key. */
  deliver(endpoint: string, lane?: number): string;
  /** `hs.retry.{endpoint}`: a task waiting for its next attempt (deliver's retry consumer moves it back when due). */
  retry(endpoint: string): string;
  /** `hs.dlq.{stage}.{key}` where key is the source (or endpoint for deliver). */
  dlq(stage: string, key: string): string;
  /** `hs.obs.{kind}` */
  obs(kind: string): string;
  /** `hs.ops.{kind}`: an operational event (docs/operational-events.md); the kind keeps its dots. */
  ops(kind: string): string;
  /** A wildcard subject under the namespace, e.g. `subject('hs.raw.>')`. */
  subject(pattern: string): string;
  /** Strips the namespace prefix from a subject, if present. */
  local(subject: string): string;
}

/** Builds the {@link Topology} for a namespace ('' in production). */
export function topology(namespace = ''): Topology {
  const subjectPrefix = namespace === '' ? '' : `${namespace}.`;
  const streamPrefix = namespace === '' ? '' : `${namespace}_`;
  const s = (rest: string): string => `${subjectPrefix}${rest}`;
  return Object.freeze({
    namespace,
    streams: Object.freeze({
      raw: `${streamPrefix}HS_RAW`,
      pipe: `${streamPrefix}HS_PIPE`,
      events: `${streamPrefix}HS_EVENTS`,
      delivery: `${streamPrefix}HS_DELIVERY`,
      dlq: `${streamPrefix}HS_DLQ`,
      obs: `${streamPrefix}HS_OBS`,
      ops: `${streamPrefix}HS_OPS`,
    }),
    buckets: Object.freeze({
      sources: `${streamPrefix}hs_sources`,
      endpoints: `${streamPrefix}hs_endpoints`,
      schemas: `${streamPrefix}hs_schemas`,
      dedup: `${streamPrefix}hs_dedup`,
      endpointState: `${streamPrefix}hs_endpoint_state`,
      circuits: `${streamPrefix}hs_circuits`,
      deliveryHeads: `${streamPrefix}hs_delivery_heads`,
      delivered: `${streamPrefix}hs_delivered`,
      lookup: `${streamPrefix}hs_lookup`,
    }),
    raw: (source: string) => s(`hs.raw.${sanitizeToken(source)}`),
    verified: (source: string) => s(`hs.verified.${sanitizeToken(source)}`),
    unique: (source: string) => s(`hs.unique.${sanitizeToken(source)}`),
    valid: (source: string) => s(`hs.valid.${sanitizeToken(source)}`),
    events: (source: string, eventType: string) => s(`events.${sanitizeToken(source)}.${sanitizeDotted(eventType)}`),
    deliver: (endpoint: string, lane?: number) =>
      s(lane === undefined ? `hs.deliver.${sanitizeToken(endpoint)}` : `hs.deliver.${sanitizeToken(endpoint)}.${lane}`),
    retry: (endpoint: string) => s(`hs.retry.${sanitizeToken(endpoint)}`),
    dlq: (stage: string, key: string) => s(`hs.dlq.${sanitizeToken(stage)}.${sanitizeToken(key)}`),
    obs: (kind: string) => s(`hs.obs.${sanitizeToken(kind)}`),
    ops: (kind: string) => s(`hs.ops.${sanitizeDotted(kind)}`),
    subject: (pattern: string) => s(pattern),
    local: (subject: string) => (subjectPrefix !== '' && subject.startsWith(subjectPrefix) ? subject.slice(subjectPrefix.length) : subject),
  });
}

// Characters that are never allowed in a NATS subject token we build from
// outside data: separators, wildcards, whitespace and control characters.
const UNSAFE = /[\s.*>]/g;

function isControl(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

/**
 * Makes one subject token from outside data (a source id, an endpoint id):
 * dots, wildcards, whitespace and control characters become `_`, and an empty
 * token becomes `_`. Never throws.
 */
export function sanitizeToken(value: string): string {
  let cleaned = value.replace(UNSAFE, '_');
  if ([...cleaned].some((c) => isControl(c.charCodeAt(0)))) {
    cleaned = [...cleaned].map((c) => (isControl(c.charCodeAt(0)) ? '_' : c)).join('');
  }
  return cleaned === '' ? '_' : cleaned;
}

/**
 * Makes a dotted subject tail from an event type (`payment.succeeded`): dots
 * are kept so `events.stripe.payment.>` works, each token is sanitised and
 * empty tokens (from `a..b`, a leading or trailing dot) become `_`.
 */
export function sanitizeDotted(value: string): string {
  return value
    .split('.')
    .map((token) => sanitizeToken(token))
    .join('.');
}
