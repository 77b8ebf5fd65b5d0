-- The per-minute views become plain views, computed from their table when
-- they are read, instead of materialized views that aggregate each INSERT.
--
-- Why: a materialized view is not atomic with the INSERT that feeds it (the
-- ClickHouse documentation says so for current releases too). 18.16 commits
-- the table's part first and then runs each view's INSERT, one view after
-- another. When the server dies, or a view's INSERT fails, in between, the
-- table keeps the rows and the views never get them; the sink's retry then
-- finds the rows stored and rightly sends nothing again, so the views stay
-- short for good. (A row that reached the table twice was also counted twice
-- by the views.) Exactly-once views need insert deduplication of the table
-- and its views, which 18.16 has for Replicated tables only. A view over the
-- table with FINAL counts every stored row exactly once, by construction.
--
-- Same names, same columns and the same aggregate-function states as
-- 0002, so every `countMerge(attempts) ... GROUP BY` query reads them
-- unchanged. What was in the old aggregate tables is recomputed from the
-- tables, which hold every row: an install whose views had lost a batch is
-- repaired by this migration.
--
-- Idempotent and forward-only: each materialized view is dropped before the
-- table it writes to (so no INSERT is ever routed to a dropped table), then
-- the view is created IF NOT EXISTS. A re-run drops and re-creates the
-- views, which hold no data.

DROP TABLE IF EXISTS {database}.endpoint_minute_mv;
DROP TABLE IF EXISTS {database}.endpoint_minute;
CREATE VIEW IF NOT EXISTS {database}.endpoint_minute AS
SELECT
    endpoint_id,
    toStartOfMinute(dt) AS minute,
    countState() AS attempts,
    sumState(toUInt64(outcome = 'success')) AS successes,
    quantilesState(0.5, 0.95, 0.99)(toFloat64(latency_ms)) AS latency,
    sumState(toUInt64(latency_ms)) AS latency_sum
FROM {database}.delivery_attempts FINAL
GROUP BY endpoint_id, minute;

DROP TABLE IF EXISTS {database}.endpoint_outcome_minute_mv;
DROP TABLE IF EXISTS {database}.endpoint_outcome_minute;
CREATE VIEW IF NOT EXISTS {database}.endpoint_outcome_minute AS
SELECT
    endpoint_id,
    toStartOfMinute(dt) AS minute,
    outcome,
    countState() AS attempts
FROM {database}.delivery_attempts FINAL
GROUP BY endpoint_id, minute, outcome;

DROP TABLE IF EXISTS {database}.source_rejections_minute_mv;
DROP TABLE IF EXISTS {database}.source_rejections_minute;
CREATE VIEW IF NOT EXISTS {database}.source_rejections_minute AS
SELECT
    source,
    toStartOfMinute(dt) AS minute,
    stage,
    reason,
    countState() AS rejected
FROM {database}.rejections FINAL
GROUP BY source, minute, stage, reason;

DROP TABLE IF EXISTS {database}.source_duplicates_minute_mv;
DROP TABLE IF EXISTS {database}.source_duplicates_minute;
CREATE VIEW IF NOT EXISTS {database}.source_duplicates_minute AS
SELECT
    source,
    toStartOfMinute(dt) AS minute,
    countState() AS duplicates
FROM {database}.duplicates FINAL
GROUP BY source, minute;
