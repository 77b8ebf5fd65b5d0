import { DEFAULT_FILTER_BUDGET, type FilterBudget } from '@hookstream/models';
import { type BaseConfig, EnvReader, readBaseConfig, readStageSettings, type StageSettings } from '@hookstream/runtime';

/** Everything route needs, resolved and frozen (`HS_ROUTE_*` stage settings). */
export interface RouteConfig extends BaseConfig, StageSettings {
  /** What one evaluation of one endpoint's filter may cost; past it the event is dead-lettered for that endpoint (`filter_error`). */
  readonly filterBudget: FilterBudget;
}

/** Compiles the environment into a {@link RouteConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): RouteConfig {
  const r = new EnvReader(env);
  const config: RouteConfig = {
    ...readBaseConfig(r, 'route', 9105),
    ...readStageSettings(r, 'ROUTE'),
    filterBudget: Object.freeze({
      maxSteps: r.int('HS_ROUTE_FILTER_MAX_STEPS', DEFAULT_FILTER_BUDGET.maxSteps, 100, 100_000_000),
      maxMs: r.int('HS_ROUTE_FILTER_MAX_MS', DEFAULT_FILTER_BUDGET.maxMs, 1, 60_000),
    }),
  };
  r.done();
  return Object.freeze(config);
}
