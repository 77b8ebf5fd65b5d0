export {
  compilePattern,
  DEFAULT_REGEX_BUDGET,
  MAX_PATTERN_PROGRAM,
  MAX_SCHEMA_PROGRAM,
  RegexBudgetError,
  RegexMeter,
  type SafePattern,
} from './regex.ts';
export {
  type CheckedMode,
  type Compiled,
  compileSchema,
  type Dialect,
  dialectOf,
  SchemaCache,
  strictVariant,
} from './schemas.ts';
