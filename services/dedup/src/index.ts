export { buildApp, type DedupApp, type DedupCounts, type DedupOverrides } from './app.ts';
export { type DedupConfig, loadConfig } from './config.ts';
