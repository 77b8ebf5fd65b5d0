/** One of the analyst questions in docs/analytics.md, with the SQL that answers it. */
export interface AnalystQuery {
  /** The question, as the doc's heading. */
  readonly title: string;
  /** The SQL, against the default database `hookstream`; the doc shows exactly this text. */
  readonly sql: string;
}

/**
 * The analyst questions of docs/analytics.md. The doc's SQL blocks are
 * copies of these strings (a test keeps them equal) and an integration test
 * runs each against ClickHouse with known rows. Queries over the raw tables
 * use `FINAL` so a row written twice is counted once (see "Idempotency").
 */
export const QUERIES = Object.freeze({
  successRate: {
    title: 'Delivery success rate per endpoint',
    sql: `SELECT
    endpoint_id,
    countMerge(attempts) AS attempts,
    sumMerge(successes) AS successes,
    round(successes / attempts, 4) AS success_rate
FROM hookstream.endpoint_minute
GROUP BY endpoint_id
ORDER BY endpoint_id`,
  },
  latencyOverTime: {
    title: 'Latency percentiles over time',
    sql: `SELECT
    endpoint_id,
    minute,
    countMerge(attempts) AS attempts,
    quantilesMerge(0.5, 0.95, 0.99)(latency) AS p50_p95_p99_ms
FROM hookstream.endpoint_minute
GROUP BY endpoint_id, minute
ORDER BY endpoint_id, minute`,
  },
  failureModes: {
    title: 'Failure modes ranked',
    sql: `SELECT
    outcome,
    countMerge(attempts) AS attempts,
    uniqExact(endpoint_id) AS endpoints
FROM hookstream.endpoint_outcome_minute
WHERE outcome != 'success'
GROUP BY outcome
ORDER BY attempts DESC, outcome`,
  },
  retriesPerDelivered: {
    title: 'Retries per delivered event',
    sql: `SELECT
    attempt - 1 AS retries,
    count() AS delivered
FROM hookstream.delivery_attempts FINAL
WHERE outcome = 'success'
GROUP BY retries
ORDER BY retries`,
  },
  timeToRecovery: {
    title: 'Time to recovery after an endpoint outage',
    sql: `SELECT
    endpoint_id,
    outage_started_at,
    arrayFirst(x -> x > outage_started_at, successes) AS recovered_at,
    recovered_at - outage_started_at AS recovery_ms
FROM
(
    SELECT
        endpoint_id,
        arraySort(groupArray((at, outcome = 'success'))) AS timeline,
        arrayMap(x -> x.1, timeline) AS times,
        arrayMap(x -> x.2, timeline) AS up,
        arrayFilter((t, u, prev) -> u = 0 AND prev = 1, times, up, arrayPushFront(arrayPopBack(up), 1)) AS starts,
        arrayFilter((t, u) -> u = 1, times, up) AS successes
    FROM hookstream.delivery_attempts FINAL
    WHERE outcome NOT IN ('http_4xx', 'blocked')
    GROUP BY endpoint_id
)
ARRAY JOIN starts AS outage_started_at
WHERE recovered_at > 0
ORDER BY endpoint_id, outage_started_at`,
  },
  topRejectingSources: {
    title: 'Top rejecting sources',
    sql: `SELECT
    source,
    countMerge(rejected) AS rejected,
    uniqExact(reason) AS reasons
FROM hookstream.source_rejections_minute
GROUP BY source
ORDER BY rejected DESC, source
LIMIT 10`,
  },
  driftByProvider: {
    title: 'Drift by provider',
    sql: `SELECT
    source,
    event_type,
    uniqExact(path) AS new_paths,
    min(at) AS first_seen_at,
    max(at) AS last_seen_at
FROM hookstream.drift FINAL
GROUP BY source, event_type
ORDER BY new_paths DESC, source, event_type`,
  },
  freshness: {
    title: 'End-to-end freshness',
    sql: `SELECT
    endpoint_id,
    count() AS delivered,
    quantilesExact(0.5, 0.99)(e2e_ms) AS p50_p99_e2e_ms,
    max(e2e_ms) AS max_e2e_ms,
    max(at) AS last_delivered_at
FROM hookstream.delivery_attempts FINAL
WHERE outcome = 'success'
GROUP BY endpoint_id
ORDER BY endpoint_id`,
  },
  stuckInDlq: {
    title: 'Events stuck in the DLQ',
    sql: `SELECT
    endpoint_id,
    event_id,
    max(attempt) AS attempts,
    argMax(outcome, at) AS last_outcome,
    nullIf(argMax(ifNull(status, 0), at), 0) AS last_status,
    max(at) AS dead_lettered_at
FROM
(
    SELECT endpoint_id, event_id, attempt, toString(outcome) AS outcome, status, at, isNull(next_retry_at) AS final, outcome = 'success' AS delivered
    FROM hookstream.delivery_attempts FINAL
    UNION ALL
    SELECT endpoint_id, event_id, attempts AS attempt, reason AS outcome, CAST(NULL AS Nullable(UInt16)) AS status, at, toUInt8(1) AS final, toUInt8(0) AS delivered
    FROM hookstream.delivery_skipped FINAL
)
GROUP BY endpoint_id, event_id
HAVING sum(delivered) = 0 AND argMax(final, at) = 1
ORDER BY dead_lettered_at, endpoint_id, event_id`,
  },
  slowestEndpoints: {
    title: 'Slowest endpoints',
    sql: `SELECT
    endpoint_id,
    countMerge(attempts) AS attempts,
    quantilesMerge(0.5, 0.95, 0.99)(latency)[3] AS p99_ms,
    round(sumMerge(latency_sum) / attempts, 1) AS avg_ms
FROM hookstream.endpoint_minute
GROUP BY endpoint_id
ORDER BY p99_ms DESC, endpoint_id
LIMIT 10`,
  },
  acceptanceRate: {
    title: 'Acceptance rate per source',
    sql: `SELECT
    toDate(received_time) AS day,
    source,
    count() AS requests,
    countIf(status = 202) AS accepted,
    round(accepted / requests, 4) AS acceptance_rate,
    sumIf(bytes, status = 202) AS accepted_bytes
FROM hookstream.received FINAL
GROUP BY day, source
ORDER BY day, source`,
  },
  refusalReasons: {
    title: 'Why requests were refused',
    sql: `SELECT
    source,
    status,
    reason,
    count() AS requests,
    max(received_time) AS last_seen
FROM hookstream.received FINAL
WHERE status != 202
GROUP BY source, status, reason
ORDER BY requests DESC, source, status`,
  },
  undeclaredProperties: {
    title: 'Undeclared properties to add to a schema',
    sql: `SELECT
    source,
    event_type,
    path,
    json_type,
    min(at_time) AS first_seen,
    uniqExact(event_id) AS events
FROM hookstream.drift FINAL
GROUP BY source, event_type, path, json_type
ORDER BY source, event_type, path, json_type`,
  },
} satisfies Record<string, AnalystQuery>);

/** The name of one of {@link QUERIES}. */
export type QueryName = keyof typeof QUERIES;

/** `sql` with the default database `hookstream.` replaced by `database.` (a plain identifier). */
export function inDatabase(sql: string, database: string): string {
  return sql.replaceAll('hookstream.', `${database}.`);
}
