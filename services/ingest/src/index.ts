export { buildApp, type IngestApp, type IngestOverrides } from './app.ts';
export { DEFAULT_DROPPED_HEADERS, type IngestConfig, loadConfig } from './config.ts';
export { uuidv7, uuidv7Time } from './event-id.ts';
export { type Admission, type AdmissionDeps, admit, contentTypeAccepted, DEFAULT_CONTENT_TYPES, sourceFromPath } from './handler.ts';
export { TokenBuckets } from './rate-limit.ts';
