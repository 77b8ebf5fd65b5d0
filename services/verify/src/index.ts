export { buildApp, SECRET_ID_HEADER, type VerifyApp, type VerifyOverrides } from './app.ts';
export { loadConfig, type VerifyConfig } from './config.ts';
export {
  handleRaw,
  judge,
  type RawMessage,
  type RejectionRecord,
  type Verdict,
  type VerifyDeps,
  type VerifyRejection,
} from './handler.ts';
