// Known obs records of every kind, and what each analyst query answers for
// them. Used by the queries test (rows inserted directly) and by the
// integration test (records published on hs.obs.* and sunk by the service).

/** 2026-01-01T00:00:00Z in epoch ms. */
export const T0 = 1_767_225_600_000;

const attempt = (
  endpoint: string,
  event: string,
  n: number,
  outcome: string,
  status: number | null,
  latency: number,
  atOffset: number,
  e2e: number,
  nextRetryOffset: number | null,
) => ({
  kind: 'attempt',
  event_id: event,
  endpoint_id: endpoint,
  source: 'shop',
  event_type: 'order.created',
  attempt: n,
  status,
  outcome,
  latency_ms: latency,
  e2e_ms: e2e,
  next_retry_at: nextRetryOffset === null ? null : T0 + nextRetryOffset,
  response_excerpt: status === null ? '' : `HTTP ${status}`,
  // Deliver writes `error` only when no response came back.
  ...(status === null
    ? { error: outcome === 'timeout' ? `timeout after ${latency} ms` : 'ECONNREFUSED: connect ECONNREFUSED 10.0.0.9:443' }
    : {}),
  at: T0 + atOffset,
});

/**
 * billing: e1 and e2 fail (503, timeout), then everything succeeds: one
 * outage from +10 s to +40 s. crm: e1 gets a 400 (dead-lettered), e4 fails
 * to connect twice and is rate limited on its last attempt (dead-lettered),
 * e5 succeeds at +100 s: one outage from +16 s to +100 s.
 */
export const ATTEMPTS = [
  attempt('billing', 'e1', 1, 'http_5xx', 503, 100, 10_000, 10_000, 40_000),
  attempt('billing', 'e2', 1, 'timeout', null, 3_000, 20_000, 20_000, 50_000),
  attempt('billing', 'e1', 2, 'success', 200, 40, 40_000, 40_000, null),
  attempt('billing', 'e2', 2, 'success', 200, 60, 70_000, 70_000, null),
  attempt('billing', 'e3', 1, 'success', 200, 20, 80_000, 1_000, null),
  attempt('crm', 'e1', 1, 'http_4xx', 400, 10, 15_000, 15_000, null),
  attempt('crm', 'e4', 1, 'connect', null, 5, 16_000, 16_000, 30_000),
  attempt('crm', 'e4', 2, 'connect', null, 5, 30_000, 30_000, 90_000),
  attempt('crm', 'e4', 3, 'rate_limited', 429, 8, 90_000, 90_000, null),
  attempt('crm', 'e5', 1, 'success', 200, 50, 100_000, 2_000, null),
];

const rejection = (event: string, source: string, reason: string, atOffset: number) => ({
  kind: 'rejection',
  stage: 'verify',
  event_id: event,
  source,
  reason,
  detail: `${reason} detail`,
  received_at: T0 + atOffset - 5,
  at: T0 + atOffset,
});

export const REJECTIONS = [
  rejection('r1', 'stripe', 'bad_signature', 1_000),
  rejection('r2', 'stripe', 'bad_signature', 2_000),
  rejection('r3', 'stripe', 'stale_timestamp', 61_000),
  rejection('r4', 'github', 'bad_signature', 3_000),
];

export const DUPLICATES = [
  {
    kind: 'duplicate',
    event_id: 'd1',
    source: 'stripe',
    idempotency_key: 'evt_1',
    first_event_id: 'f1',
    age_ms: 500,
    received_at: T0 + 4_000,
    at: T0 + 4_001,
  },
  {
    kind: 'duplicate',
    event_id: 'd2',
    source: 'stripe',
    idempotency_key: 'evt_1',
    first_event_id: 'f1',
    age_ms: 900,
    received_at: T0 + 5_000,
    at: T0 + 5_001,
  },
  {
    kind: 'duplicate',
    event_id: 'd3',
    source: 'github',
    idempotency_key: 'gh_1',
    first_event_id: 'f2',
    age_ms: 100,
    received_at: T0 + 65_000,
    at: T0 + 65_001,
  },
];

export const SCHEMA_FAILURES = [
  {
    kind: 'schema_failure',
    stage: 'validate',
    event_id: 's1',
    source: 'stripe',
    event_type: 'charge.succeeded',
    reason: 'schema_violation',
    errors: [{ path: '/data/object/amount', keyword: 'minimum', message: 'must be >= 0' }],
    received_at: T0 + 6_000,
    at: T0 + 6_010,
  },
  {
    kind: 'schema_failure',
    stage: 'validate',
    event_id: 's2',
    source: 'shopify',
    event_type: null,
    reason: 'malformed_body',
    errors: [{ path: '', keyword: 'json', message: 'Unexpected end of JSON input' }],
    received_at: T0 + 7_000,
    at: T0 + 7_010,
  },
];

const drift = (event: string, source: string, eventType: string, path: string, atOffset: number) => ({
  kind: 'drift',
  source,
  event_type: eventType,
  path,
  json_type: 'string',
  event_id: event,
  at: T0 + atOffset,
});

export const DRIFT = [
  drift('x1', 'stripe', 'charge.succeeded', '$.data.object.risk', 8_000),
  drift('x2', 'stripe', 'charge.succeeded', '$.data.object.level', 9_000),
  drift('x3', 'stripe', 'charge.refunded', '$.data.object.reason_code', 11_000),
  drift('x4', 'shopify', 'orders/create', '$.tax_lines[*].channel', 12_000),
];

export const SKIPPED = [
  {
    kind: 'skipped',
    event_id: 'k1',
    endpoint_id: 'crm',
    source: 'shop',
    event_type: 'order.created',
    reason: 'endpoint_disabled',
    attempts: 0,
    at: T0 + 13_000,
  },
];

const received = (request: string, source: string, status: number, reason: string, bytes: number, atOffset: number) => ({
  kind: 'received',
  request_id: request,
  source,
  status,
  reason,
  bytes,
  event_id: status === 202 || status === 401 ? request : '',
  received_at: T0 + atOffset - 3,
  at: T0 + atOffset,
});

/**
 * shop: 3 accepted and 1 too large on day one, 1 accepted on day two; stripe:
 * 1 accepted, 1 bad signature (inline); a mistyped source path: 2 404s.
 */
export const RECEIVED = [
  received('r1', 'shop', 202, '', 120, 1_000),
  received('r2', 'shop', 202, '', 80, 2_000),
  received('r3', 'shop', 413, 'body over the limit of 1000 bytes', 1_001, 3_000),
  received('r4', 'shop', 202, '', 100, 4_000),
  received('r5', 'stripe', 202, '', 300, 5_000),
  received('r6', 'stripe', 401, 'bad_signature', 300, 6_000),
  received('r7', 'shpo', 404, 'unknown source: shpo', 0, 7_000),
  received('r8', 'shpo', 404, 'unknown source: shpo', 0, 8_000),
  received('r9', 'shop', 202, '', 50, 86_401_000),
];

/** Every record, each kind's subject token first. */
export const ALL_RECORDS: readonly ({ readonly kind: string } & Record<string, unknown>)[] = [
  ...ATTEMPTS,
  ...REJECTIONS,
  ...DUPLICATES,
  ...SCHEMA_FAILURES,
  ...DRIFT,
  ...SKIPPED,
  ...RECEIVED,
];

const minute = (offsetMs: number): string =>
  new Date(T0 + offsetMs)
    .toISOString()
    .slice(0, 19)
    .replace('T', ' ')
    .replace(/:\d\d$/, ':00');

/**
 * What each query in QUERIES answers for {@link ALL_RECORDS} (quantiles are
 * ClickHouse's `quantiles`: exact, linearly interpolated, below 8,192 values;
 * `quantilesExact` takes the element at ⌊level·n⌋ of the sorted values).
 */
export const EXPECTED = {
  successRate: [
    { endpoint_id: 'billing', attempts: 5, successes: 3, success_rate: 0.6 },
    { endpoint_id: 'crm', attempts: 5, successes: 1, success_rate: 0.2 },
  ],
  latencyOverTime: [
    // [40, 100, 3000]
    { endpoint_id: 'billing', minute: minute(0), attempts: 3, p50_p95_p99_ms: [100, 2710, 2942] },
    // [20, 60]
    { endpoint_id: 'billing', minute: minute(60_000), attempts: 2, p50_p95_p99_ms: [40, 58, 59.6] },
    // [5, 5, 10]
    { endpoint_id: 'crm', minute: minute(0), attempts: 3, p50_p95_p99_ms: [5, 9.5, 9.9] },
    // [8, 50]
    { endpoint_id: 'crm', minute: minute(60_000), attempts: 2, p50_p95_p99_ms: [29, 47.9, 49.58] },
  ],
  failureModes: [
    { outcome: 'connect', attempts: 2, endpoints: 1 },
    { outcome: 'http_4xx', attempts: 1, endpoints: 1 },
    { outcome: 'http_5xx', attempts: 1, endpoints: 1 },
    { outcome: 'rate_limited', attempts: 1, endpoints: 1 },
    { outcome: 'timeout', attempts: 1, endpoints: 1 },
  ],
  retriesPerDelivered: [
    { retries: 0, delivered: 2 },
    { retries: 1, delivered: 2 },
  ],
  timeToRecovery: [
    { endpoint_id: 'billing', outage_started_at: T0 + 10_000, recovered_at: T0 + 40_000, recovery_ms: 30_000 },
    { endpoint_id: 'crm', outage_started_at: T0 + 16_000, recovered_at: T0 + 100_000, recovery_ms: 84_000 },
  ],
  topRejectingSources: [
    { source: 'stripe', rejected: 3, reasons: 2 },
    { source: 'github', rejected: 1, reasons: 1 },
  ],
  driftByProvider: [
    { source: 'stripe', event_type: 'charge.succeeded', new_paths: 2, first_seen_at: T0 + 8_000, last_seen_at: T0 + 9_000 },
    { source: 'shopify', event_type: 'orders/create', new_paths: 1, first_seen_at: T0 + 12_000, last_seen_at: T0 + 12_000 },
    { source: 'stripe', event_type: 'charge.refunded', new_paths: 1, first_seen_at: T0 + 11_000, last_seen_at: T0 + 11_000 },
  ],
  freshness: [
    // e2e [1000, 40000, 70000]
    { endpoint_id: 'billing', delivered: 3, p50_p99_e2e_ms: [40_000, 70_000], max_e2e_ms: 70_000, last_delivered_at: T0 + 80_000 },
    { endpoint_id: 'crm', delivered: 1, p50_p99_e2e_ms: [2_000, 2_000], max_e2e_ms: 2_000, last_delivered_at: T0 + 100_000 },
  ],
  stuckInDlq: [
    // Dead-lettered without an attempt (a delivery_skipped row): the reason stands in for the outcome.
    {
      endpoint_id: 'crm',
      event_id: 'k1',
      attempts: 0,
      last_outcome: 'endpoint_disabled',
      last_status: null,
      dead_lettered_at: T0 + 13_000,
    },
    { endpoint_id: 'crm', event_id: 'e1', attempts: 1, last_outcome: 'http_4xx', last_status: 400, dead_lettered_at: T0 + 15_000 },
    { endpoint_id: 'crm', event_id: 'e4', attempts: 3, last_outcome: 'rate_limited', last_status: 429, dead_lettered_at: T0 + 90_000 },
  ],
  acceptanceRate: [
    { day: '2026-01-01', source: 'shop', requests: 4, accepted: 3, acceptance_rate: 0.75, accepted_bytes: 300 },
    { day: '2026-01-01', source: 'shpo', requests: 2, accepted: 0, acceptance_rate: 0, accepted_bytes: 0 },
    { day: '2026-01-01', source: 'stripe', requests: 2, accepted: 1, acceptance_rate: 0.5, accepted_bytes: 300 },
    { day: '2026-01-02', source: 'shop', requests: 1, accepted: 1, acceptance_rate: 1, accepted_bytes: 50 },
  ],
  refusalReasons: [
    { source: 'shpo', status: 404, reason: 'unknown source: shpo', requests: 2, last_seen: '2026-01-01 00:00:07' },
    { source: 'shop', status: 413, reason: 'body over the limit of 1000 bytes', requests: 1, last_seen: '2026-01-01 00:00:02' },
    { source: 'stripe', status: 401, reason: 'bad_signature', requests: 1, last_seen: '2026-01-01 00:00:05' },
  ],
  undeclaredProperties: [
    {
      source: 'shopify',
      event_type: 'orders/create',
      path: '$.tax_lines[*].channel',
      json_type: 'string',
      first_seen: '2026-01-01 00:00:12',
      events: 1,
    },
    {
      source: 'stripe',
      event_type: 'charge.refunded',
      path: '$.data.object.reason_code',
      json_type: 'string',
      first_seen: '2026-01-01 00:00:11',
      events: 1,
    },
    {
      source: 'stripe',
      event_type: 'charge.succeeded',
      path: '$.data.object.level',
      json_type: 'string',
      first_seen: '2026-01-01 00:00:09',
      events: 1,
    },
    {
      source: 'stripe',
      event_type: 'charge.succeeded',
      path: '$.data.object.risk',
      json_type: 'string',
      first_seen: '2026-01-01 00:00:08',
      events: 1,
    },
  ],
  slowestEndpoints: [
    // [20, 40, 60, 100, 3000]: p99 = 100 + 0.96 · 2900
    { endpoint_id: 'billing', attempts: 5, p99_ms: 2884, avg_ms: 644 },
    // [5, 5, 8, 10, 50]: p99 = 10 + 0.96 · 40
    { endpoint_id: 'crm', attempts: 5, p99_ms: 48.4, avg_ms: 15.6 },
  ],
} as const;

/** Rounds every float in a query answer to 6 decimals, so interpolated quantiles compare exactly. */
export function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Math.round(value * 1e6) / 1e6;
  if (Array.isArray(value)) return value.map(rounded);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
  return value;
}
