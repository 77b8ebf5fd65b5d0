export { type AnalyticsApp, type AnalyticsOverrides, buildApp } from './app.ts';
export { defaultInsertRetryMs } from './batch.ts';
export { type AnalyticsConfig, loadConfig } from './config.ts';
export { type AnalystQuery, inDatabase, QUERIES, type QueryName } from './queries.ts';
export {
  type BadRecord,
  type ParsedRecord,
  parseRecord,
  type RejectReason,
  TABLES,
} from './records.ts';
export { type Sink, type SinkCounts, type SinkOptions, startSink } from './sink.ts';
