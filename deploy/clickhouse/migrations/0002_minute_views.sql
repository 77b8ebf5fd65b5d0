-- Per-minute aggregates, kept by materialized views as rows are inserted.
-- Each view writes TO a plain AggregatingMergeTree table; read the states
-- with the matching -Merge function (countMerge, sumMerge, quantilesMerge)
-- and GROUP BY, as docs/analytics.md shows. Minutes are UTC (the server's
-- timezone) and taken from the record's `at`.
-- Latency quantiles are over Float64 (18.16 returns an integer type for
-- integer input, current releases Float64); the answers are the same on both.

CREATE TABLE IF NOT EXISTS {database}.endpoint_minute (
    endpoint_id String,
    minute DateTime,
    attempts AggregateFunction(count),
    successes AggregateFunction(sum, UInt64),
    latency AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    latency_sum AggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (endpoint_id, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.endpoint_minute_mv TO {database}.endpoint_minute AS
SELECT
    endpoint_id,
    toStartOfMinute(toDateTime(intDiv(at, 1000))) AS minute,
    countState() AS attempts,
    sumState(toUInt64(outcome = 'success')) AS successes,
    quantilesState(0.5, 0.95, 0.99)(toFloat64(latency_ms)) AS latency,
    sumState(toUInt64(latency_ms)) AS latency_sum
FROM {database}.delivery_attempts
GROUP BY endpoint_id, minute;

CREATE TABLE IF NOT EXISTS {database}.endpoint_outcome_minute (
    endpoint_id String,
    minute DateTime,
    outcome Enum8('success' = 1, 'http_4xx' = 2, 'http_5xx' = 3, 'rate_limited' = 4, 'timeout' = 5, 'dns' = 6, 'connect' = 7, 'tls' = 8, 'blocked' = 9),
    attempts AggregateFunction(count)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (endpoint_id, minute, outcome);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.endpoint_outcome_minute_mv TO {database}.endpoint_outcome_minute AS
SELECT
    endpoint_id,
    toStartOfMinute(toDateTime(intDiv(at, 1000))) AS minute,
    outcome,
    countState() AS attempts
FROM {database}.delivery_attempts
GROUP BY endpoint_id, minute, outcome;

CREATE TABLE IF NOT EXISTS {database}.source_rejections_minute (
    source String,
    minute DateTime,
    stage String,
    reason String,
    rejected AggregateFunction(count)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (source, minute, stage, reason);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.source_rejections_minute_mv TO {database}.source_rejections_minute AS
SELECT
    source,
    toStartOfMinute(toDateTime(intDiv(at, 1000))) AS minute,
    stage,
    reason,
    countState() AS rejected
FROM {database}.rejections
GROUP BY source, minute, stage, reason;

CREATE TABLE IF NOT EXISTS {database}.source_duplicates_minute (
    source String,
    minute DateTime,
    duplicates AggregateFunction(count)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (source, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.source_duplicates_minute_mv TO {database}.source_duplicates_minute AS
SELECT
    source,
    toStartOfMinute(toDateTime(intDiv(at, 1000))) AS minute,
    countState() AS duplicates
FROM {database}.duplicates
GROUP BY source, minute;
