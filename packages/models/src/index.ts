export {
  CIRCUIT_REPORT_TTL_MS,
  type CircuitReport,
  decodeCircuitReport,
  encodeCircuitReport,
  openCircuitBucket,
  readCircuitReports,
} from './circuits.ts';
export { type DuplicateNote, decodeDuplicateNote, encodeDuplicateNote } from './duplicates.ts';
export {
  type CircuitPolicy,
  checkFilter,
  DEFAULT_CIRCUIT,
  DEFAULT_ORDERING_LANES,
  DEFAULT_RETRY,
  decodeEndpoint,
  type EndpointConfig,
  EndpointStore,
  orderingLane,
  parseEndpointConfig,
  type RetryPolicy,
} from './endpoints.ts';
export { filterInputOf, parseData, senderHeaders } from './filter-input.ts';
export {
  type CompiledFilter,
  compileFilter,
  DEFAULT_FILTER_BUDGET,
  type FilterBudget,
  FilterCache,
  type FilterInput,
  type FilterResult,
  MAX_FILTER_PATTERN_PROGRAM,
} from './filters.ts';
export { decodeSchema, parseSchemaRecord, type SchemaRecord, SchemaStore, schemaKey } from './schemas.ts';
