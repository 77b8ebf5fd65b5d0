export { buildApp, type VerifyApp, type VerifyOverrides } from './app.ts';
export { loadConfig, type VerifyConfig } from './config.ts';
export {
  handleRaw,
  judge,
  type RawMessage,
  type Verdict,
  type VerifyDeps,
} from './handler.ts';
export { REJECTION_ALERT_DEFAULTS, type RejectionAlert, type RejectionAlertConfig, RejectionRates } from './rejection-rate.ts';
