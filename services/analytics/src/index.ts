export { type AnalyticsApp, type AnalyticsOverrides, buildApp } from './app.ts';
export { type ClickHouseOptions, ClickHouseRowStore, DATABASE_NAME, quote, type RowStore, type SqlRunner } from './clickhouse.ts';
export { type AnalyticsConfig, loadConfig } from './config.ts';
export { applyMigrations, DEFAULT_MIGRATIONS_DIR, loadMigrations, type Migration, MigrationError, splitStatements } from './migrations.ts';
export { type AnalystQuery, inDatabase, QUERIES, type QueryName } from './queries.ts';
export {
  type BadRecord,
  type ParsedRecord,
  parseRecord,
  type RejectReason,
  type Row,
  TABLES,
  type TableSpec,
} from './records.ts';
export { defaultInsertRetryMs, type Sink, type SinkCounts, type SinkOptions, startSink } from './sink.ts';
export {
  type EndpointStats,
  endpointStats,
  type LastFailure,
  type LastRejection,
  lastFailures,
  lastRejections,
  type SeriesQuery,
  type SourceQuery,
  type SourceStats,
  type StatsPoint,
  type StatsQuery,
  seriesStep,
  sourceStats,
  statsSeries,
} from './stats.ts';
