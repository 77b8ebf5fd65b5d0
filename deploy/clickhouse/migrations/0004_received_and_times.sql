-- The `received` table (one row per answer ingest gave a webhook request, so
-- acceptance rate = status 202 / all, per source) and human-readable times.
--
-- Times: every millisecond column keeps its UInt64 and gains a `DateTime`
-- (UTC seconds) beside it, named `*_time`: `at` -> `at_time`, `received_at`
-- -> `received_time`. They are MATERIALIZED, computed by the server from the
-- millisecond column (on INSERT, and on read for rows older than the column),
-- so they are right whatever the writer sends and on every version from 18.16
-- (whose JSONEachRow fills an omitted DEFAULT column with 0, not its
-- expression). Like `dt`, they are not in `SELECT *`: name them.
--
-- 18.16 has no `ADD COLUMN IF NOT EXISTS`; the migration runner treats
-- "column already exists" on an `ADD COLUMN` as done, so a re-run is harmless.

CREATE TABLE IF NOT EXISTS {database}.received (
    row_id String,
    request_id String,
    event_id String,
    source String,
    status UInt16,
    reason String,
    bytes UInt64,
    received_at UInt64,
    at UInt64,
    dt DateTime MATERIALIZED toDateTime(intDiv(at, 1000)),
    received_time DateTime MATERIALIZED toDateTime(intDiv(received_at, 1000)),
    at_time DateTime MATERIALIZED toDateTime(intDiv(at, 1000))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(dt)
ORDER BY (source, row_id);

ALTER TABLE {database}.rejections ADD COLUMN received_time DateTime MATERIALIZED toDateTime(intDiv(received_at, 1000));
ALTER TABLE {database}.rejections ADD COLUMN at_time DateTime MATERIALIZED toDateTime(intDiv(at, 1000));
ALTER TABLE {database}.duplicates ADD COLUMN received_time DateTime MATERIALIZED toDateTime(intDiv(received_at, 1000));
ALTER TABLE {database}.duplicates ADD COLUMN at_time DateTime MATERIALIZED toDateTime(intDiv(at, 1000));
ALTER TABLE {database}.schema_failures ADD COLUMN received_time DateTime MATERIALIZED toDateTime(intDiv(received_at, 1000));
ALTER TABLE {database}.schema_failures ADD COLUMN at_time DateTime MATERIALIZED toDateTime(intDiv(at, 1000));
ALTER TABLE {database}.drift ADD COLUMN at_time DateTime MATERIALIZED toDateTime(intDiv(at, 1000));
ALTER TABLE {database}.delivery_attempts ADD COLUMN at_time DateTime MATERIALIZED toDateTime(intDiv(at, 1000));
ALTER TABLE {database}.delivery_skipped ADD COLUMN at_time DateTime MATERIALIZED toDateTime(intDiv(at, 1000));
