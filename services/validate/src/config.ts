import { type BaseConfig, EnvReader, readBaseConfig, readStageSettings, type StageSettings } from '@hookstream/runtime';
import { DEFAULT_REGEX_BUDGET } from '@hookstream/schema-compiler';

/** Everything validate needs, resolved and frozen. */
export interface ValidateConfig extends BaseConfig, StageSettings {
  /** Deepest bracket nesting accepted in a JSON body; deeper bodies are rejected with `too_deep`. */
  readonly maxDepth: number;
  /** A drift record for a (source, type, path) is published at most once per this interval, per replica. */
  readonly driftIntervalMs: number;
  /** Regex work one event may cost: characters tested × RE2 program size, summed; past it the event is `regex_budget`. */
  readonly regexBudget: number;
}

/** Compiles the environment into a {@link ValidateConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ValidateConfig {
  const r = new EnvReader(env);
  const config: ValidateConfig = {
    ...readBaseConfig(r, 'validate', 9104),
    ...readStageSettings(r, 'VALIDATE'),
    maxDepth: r.int('HS_VALIDATE_MAX_DEPTH', 128, 1, 1_000),
    driftIntervalMs: r.int('HS_VALIDATE_DRIFT_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
    regexBudget: r.int('HS_VALIDATE_REGEX_BUDGET', DEFAULT_REGEX_BUDGET, 1_000, 10_000_000_000),
  };
  r.done();
  return Object.freeze(config);
}
