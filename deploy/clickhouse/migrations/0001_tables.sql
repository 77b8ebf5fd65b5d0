-- hookstream analytics: one table per record kind on hs.obs.>.
-- `{database}` is replaced by HS_CLICKHOUSE_DATABASE (default `hookstream`).
-- Times are epoch milliseconds (UInt64); `dt` (DateTime, seconds) is derived
-- from `at` and used for partitioning only. Runs on ClickHouse 18.16 and later:
-- no DateTime64, no TTL, no LowCardinality.
-- Every table is a ReplacingMergeTree whose sorting key ends in `row_id`, the
-- record's deterministic id: a row written twice collapses into one on merge,
-- and `FINAL` hides the second copy before then (docs/analytics.md).

CREATE DATABASE IF NOT EXISTS {database};

CREATE TABLE IF NOT EXISTS {database}.rejections (
    row_id String,
    event_id String,
    source String,
    stage String,
    reason String,
    detail String,
    received_at UInt64,
    at UInt64,
    dt DateTime MATERIALIZED toDateTime(intDiv(at, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(dt)
ORDER BY (source, row_id);

CREATE TABLE IF NOT EXISTS {database}.duplicates (
    row_id String,
    event_id String,
    source String,
    idempotency_key String,
    first_event_id String,
    age_ms UInt64,
    received_at UInt64,
    at UInt64,
    dt DateTime MATERIALIZED toDateTime(intDiv(at, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(dt)
ORDER BY (source, row_id);

CREATE TABLE IF NOT EXISTS {database}.schema_failures (
    row_id String,
    event_id String,
    source String,
    stage String,
    event_type Nullable(String),
    reason String,
    errors String,
    error_count UInt32,
    received_at UInt64,
    at UInt64,
    dt DateTime MATERIALIZED toDateTime(intDiv(at, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(dt)
ORDER BY (source, row_id);

CREATE TABLE IF NOT EXISTS {database}.drift (
    row_id String,
    event_id String,
    source String,
    event_type String,
    path String,
    json_type String,
    at UInt64,
    dt DateTime MATERIALIZED toDateTime(intDiv(at, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(dt)
ORDER BY (source, row_id);

CREATE TABLE IF NOT EXISTS {database}.delivery_attempts (
    row_id String,
    event_id String,
    endpoint_id String,
    source String,
    event_type String,
    attempt UInt32,
    status Nullable(UInt16),
    outcome Enum8('success' = 1, 'http_4xx' = 2, 'http_5xx' = 3, 'rate_limited' = 4, 'timeout' = 5, 'dns' = 6, 'connect' = 7, 'tls' = 8, 'blocked' = 9),
    latency_ms UInt32,
    e2e_ms UInt64,
    next_retry_at Nullable(UInt64),
    response_excerpt String,
    at UInt64,
    dt DateTime MATERIALIZED toDateTime(intDiv(at, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(dt)
ORDER BY (endpoint_id, row_id);

CREATE TABLE IF NOT EXISTS {database}.delivery_skipped (
    row_id String,
    event_id String,
    endpoint_id String,
    source String,
    event_type String,
    reason String,
    attempts UInt32,
    at UInt64,
    dt DateTime MATERIALIZED toDateTime(intDiv(at, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(dt)
ORDER BY (endpoint_id, row_id);
