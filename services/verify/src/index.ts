export { buildApp, type VerifyApp, type VerifyOverrides } from './app.ts';
export { loadConfig, type VerifyConfig } from './config.ts';
