import { type BaseConfig, EnvReader, readBaseConfig, readStageSettings, type StageSettings } from '@hookstream/runtime';
import { REJECTION_ALERT_DEFAULTS, type RejectionAlertConfig } from './rejection-rate.ts';

/** Everything verify needs, resolved and frozen (`HS_VERIFY_*` stage settings). */
export interface VerifyConfig extends BaseConfig, StageSettings {
  /** When a source's rejection rate is announced (`source.rejection_rate`, docs/operational-events.md). */
  readonly rejectionAlert: RejectionAlertConfig;
}

/** Compiles the environment into a {@link VerifyConfig}. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): VerifyConfig {
  const r = new EnvReader(env);
  const d = REJECTION_ALERT_DEFAULTS;
  const config: VerifyConfig = {
    ...readBaseConfig(r, 'verify', 9102),
    ...readStageSettings(r, 'VERIFY'),
    rejectionAlert: Object.freeze({
      percent: r.int('HS_VERIFY_REJECTION_ALERT_PERCENT', d.percent, 1, 100),
      windowMs: r.int('HS_VERIFY_REJECTION_ALERT_WINDOW_MS', d.windowMs, 1_000),
      minRequests: r.int('HS_VERIFY_REJECTION_ALERT_MIN_REQUESTS', d.minRequests, 1),
    }),
  };
  r.done();
  return Object.freeze(config);
}
