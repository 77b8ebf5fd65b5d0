import { type BaseConfig, EnvReader, readBaseConfig, readStageSettings, type StageSettings } from '@hookstream/runtime';

/** Everything route needs, resolved and frozen (`HS_ROUTE_*` stage settings). */
export interface RouteConfig extends BaseConfig, StageSettings {}

/** Compiles the environment into a {@link RouteConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): RouteConfig {
  const r = new EnvReader(env);
  const config: RouteConfig = { ...readBaseConfig(r, 'route', 9105), ...readStageSettings(r, 'ROUTE') };
  r.done();
  return Object.freeze(config);
}
