export { buildApp, type ValidateApp, type ValidateCounters, type ValidateOverrides } from './app.ts';
export { loadConfig, type ValidateConfig } from './config.ts';
export { type DriftFinding, DriftLimiter, type DriftLimiterOptions, findDrift, type JsonType, jsonTypeOf } from './drift.ts';
export {
  type DriftRecord,
  handleUnique,
  type JudgeDeps,
  judge,
  MAX_EVENT_TYPE_LENGTH,
  MAX_RECORDED_ERRORS,
  type SchemaFailureRecord,
  type UniqueMessage,
  VALIDATE_REJECTIONS,
  type ValidateDeps,
  type ValidateRejection,
  type Verdict,
} from './handler.ts';
export { bracketDepth, mediaType, type ParseFailureReason, type ParseResult, parseBody } from './parse.ts';
export {
  type CheckedMode,
  type Compiled,
  compileSchema,
  type Dialect,
  dialectOf,
  SchemaCache,
  type SchemaError,
  strictVariant,
} from './schemas.ts';
