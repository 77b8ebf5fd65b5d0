-- requires: 19.6
-- Retention (docs/analytics.md, "Retention"): rows are deleted once their
-- `dt` (the record's `at`, in seconds) is older than the table's period.
-- Table TTL arrived in ClickHouse 19.6: on an older server the migration
-- runner skips this file with a logged note and does not record it, so it
-- applies after the server is upgraded. Until then, drop whole months by
-- hand (every table is partitioned by toYYYYMM(dt)); the doc gives the SQL.
-- MODIFY TTL replaces any TTL set before, so a re-run is harmless.

ALTER TABLE {database}.received MODIFY TTL dt + INTERVAL 90 DAY;
ALTER TABLE {database}.rejections MODIFY TTL dt + INTERVAL 90 DAY;
ALTER TABLE {database}.duplicates MODIFY TTL dt + INTERVAL 90 DAY;
ALTER TABLE {database}.schema_failures MODIFY TTL dt + INTERVAL 90 DAY;
ALTER TABLE {database}.drift MODIFY TTL dt + INTERVAL 180 DAY;
ALTER TABLE {database}.delivery_attempts MODIFY TTL dt + INTERVAL 90 DAY;
ALTER TABLE {database}.delivery_skipped MODIFY TTL dt + INTERVAL 90 DAY;
