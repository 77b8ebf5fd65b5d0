export { buildApp, type ControlApp, type ControlOverrides } from './app.ts';
export type { AttemptSource } from './attempts.ts';
export { type ConsoleConfig, type ControlConfig, loadConfig } from './config.ts';
export { type Principal, tokenDigest } from './console/users.ts';
