export {
  CIRCUIT_REPORT_TTL_MS,
  type CircuitReport,
  decodeCircuitReport,
  encodeCircuitReport,
} from './circuits.ts';
export { type DuplicateNote, decodeDuplicateNote, encodeDuplicateNote } from './duplicates.ts';
export {
  type CircuitPolicy,
  checkFilter,
  decodeEndpoint,
  type EndpointConfig,
  EndpointStore,
  orderingLane,
  parseEndpointConfig,
  type RetryPolicy,
} from './endpoints.ts';
export type { FilterSource } from './filter-input.ts';
export { filterInputOf, parseData } from './filter-input.ts';
export {
  type CompiledFilter,
  compileFilter,
  DEFAULT_FILTER_BUDGET,
  type FilterBudget,
  FilterCache,
  type FilterInput,
  type FilterResult,
} from './filters.ts';
export { type IdempotencyKey, idempotencyKey, MAX_PROVIDER_KEY_BYTES } from './idempotency-key.ts';
export { decodeRecord, encodeRecord } from './record-store.ts';
export { decodeSchema, parseSchemaRecord, type SchemaRecord, SchemaStore, schemaKey } from './schemas.ts';
export {
  ENCRYPTED_PREFIX,
  isSealed,
  mapSecretFields,
  REDACTED,
  redactSecrets,
  SecretBox,
  SecretBoxError,
  type SecretFieldMapper,
} from './secret-box.ts';
export {
  decodeSource,
  parseSourceConfig,
  type RateLimit,
  type SchemaMode,
  SOURCE_ID,
  type SourceConfig,
  type SourcePolicy,
  SourceStore,
  sourcePolicy,
} from './sources.ts';
