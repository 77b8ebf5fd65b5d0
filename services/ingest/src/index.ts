export { buildApp, type IngestApp, type IngestOverrides } from './app.ts';
export { buildRawHeaders, capturedHeaderBytes } from './capture.ts';
export { DEFAULT_DROPPED_HEADERS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES, type IngestConfig, loadConfig } from './config.ts';
export { uuidv7, uuidv7Time } from './event-id.ts';
export { type Admission, type AdmissionDeps, admit, contentTypeAccepted, DEFAULT_CONTENT_TYPES, sourceFromPath } from './handler.ts';
export { TokenBuckets } from './rate-limit.ts';
