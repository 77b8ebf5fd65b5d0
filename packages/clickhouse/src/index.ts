export {
  type ClickHouseOptions,
  ClickHouseRowStore,
  DATABASE_NAME,
  quote,
  type Row,
  type RowStore,
  type SqlRunner,
  type TableSpec,
} from './client.ts';
export {
  applyMigrations,
  DEFAULT_MIGRATIONS_DIR,
  loadMigrations,
  type Migration,
  splitStatements,
  versionAtLeast,
} from './migrations.ts';
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
