export { buildApp, type ValidateApp, type ValidateCounters, type ValidateOverrides } from './app.ts';
export { loadConfig, type ValidateConfig } from './config.ts';
export type { DriftFinding } from './drift.ts';
export { type JudgeDeps, judge, type UniqueMessage, type Verdict } from './handler.ts';
