export { buildApp, type IngestApp, type IngestOverrides } from './app.ts';
export { capturedHeaderBytes } from './capture.ts';
export { DEFAULT_DROPPED_HEADERS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES, type IngestConfig, loadConfig } from './config.ts';
