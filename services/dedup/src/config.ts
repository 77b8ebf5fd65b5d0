import { type BaseConfig, EnvReader, readBaseConfig, readStageSettings, type StageSettings } from '@hookstream/runtime';

/** Everything dedup needs, resolved and frozen (`HS_DEDUP_*` stage settings). */
export interface DedupConfig extends BaseConfig, StageSettings {
  /** Default dedup window, and the max age of the `hs_dedup` bucket, in hours. */
  readonly windowHours: number;
}

/** Compiles the environment into a {@link DedupConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): DedupConfig {
  const r = new EnvReader(env);
  const config: DedupConfig = {
    ...readBaseConfig(r, 'dedup', 9103),
    ...readStageSettings(r, 'DEDUP'),
    windowHours: r.int('HS_DEDUP_WINDOW_HOURS', 72, 1, 24 * 90),
  };
  r.done();
  return Object.freeze(config);
}
