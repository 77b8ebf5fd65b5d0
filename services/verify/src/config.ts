import { type BaseConfig, EnvReader, readBaseConfig, readStageSettings, type StageSettings } from '@hookstream/runtime';

/** Everything verify needs, resolved and frozen (`HS_VERIFY_*` stage settings). */
export interface VerifyConfig extends BaseConfig, StageSettings {}

/** Compiles the environment into a {@link VerifyConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): VerifyConfig {
  const r = new EnvReader(env);
  const config: VerifyConfig = { ...readBaseConfig(r, 'verify', 9102), ...readStageSettings(r, 'VERIFY') };
  r.done();
  return Object.freeze(config);
}
