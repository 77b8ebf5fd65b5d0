export { buildApp, type ValidateApp, type ValidateCounters, type ValidateOverrides } from './app.ts';
export { loadConfig, type ValidateConfig } from './config.ts';
export {
  type DriftFinding,
  DriftLimiter,
  type DriftLimiterOptions,
  findDrift,
  jsonTypeOf,
  type PatternTest,
} from './drift.ts';
export {
  handleUnique,
  type JudgeDeps,
  judge,
  MAX_EVENT_TYPE_LENGTH,
  MAX_RECORDED_ERRORS,
  type UniqueMessage,
  type ValidateDeps,
  type Verdict,
} from './handler.ts';
export { bracketDepth, mediaType, type ParseFailureReason, type ParseResult, parseBody } from './parse.ts';
