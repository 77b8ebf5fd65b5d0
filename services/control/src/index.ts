export { buildApp, type ControlApp, type ControlOverrides, checkConfigLimit } from './app.ts';
export {
  type AttemptSource,
  attemptsSql,
  clickHouseAttempts,
  NO_ATTEMPTS,
  NO_CLICKHOUSE_NOTE,
  type SelectRunner,
} from './attempts.ts';
export { hasBearer } from './auth.ts';
export {
  type ConsoleConfig,
  type ControlConfig,
  DEFAULT_CONSOLE_DIR,
  DEFAULT_MAX_CONFIG_BYTES,
  DEFAULT_MAX_CONFIG_DEPTH,
  loadConfig,
} from './config.ts';
export { callJson, httpStatusOf, methodOf } from './console/rpc-json.ts';
export { type ConsoleServer, type ConsoleServerOptions, MAX_BODY_BYTES, SECURITY_HEADERS, startConsoleServer } from './console/server.ts';
export { readStatic, resolveStaticPath, type StaticAnswer } from './console/static-files.ts';
export { authenticate, type Principal, parseUsersFile, tokenDigest } from './console/users.ts';
export { type DeadLetterMatch, DeadLetters, isEmptyMatch, matches, type Replayed, replayHeaders } from './dead-letters.ts';
export { invalid, isWrongRevision, notFound, RpcError, toServiceError } from './errors.ts';
export {
  deadLetteredOut,
  deadLetteredState,
  describeState,
  duplicateOut,
  type EventLookup,
  locateEvent,
  storedState,
} from './event-state.ts';
export {
  type EndpointReplay,
  EventStore,
  type EventView,
  type EventWindow,
  endpointReplayHeaders,
  eventsFilter,
  GET_SCAN_LIMIT,
  LIST_SCAN_LIMIT,
  type ReplayRule,
  uuidV7TimeMs,
} from './events.ts';
export { type GrpcServer, type GrpcServerOptions, SERVICE_NAME, startGrpcServer } from './grpc-server.ts';
export { deadLetterOut } from './handlers/dead-letters.ts';
export { eventOut } from './handlers/events.ts';
export { recordId, statsWindow } from './handlers/request.ts';
export { buildHandlers, type HandlerDeps, type Handlers } from './handlers.ts';
export {
  endpointHealth,
  type HealthQuery,
  type HealthSources,
  NO_STATS_NOTE,
  sourceHealth,
} from './health.ts';
export {
  isUnreadable,
  type JsonLimits,
  jsonDepth,
  type Page,
  pageSize,
  parseJsonField,
  RecordBucket,
  type RecordBucketOptions,
  revisionOf,
  type Stored,
  type Unreadable,
} from './records.ts';
export { MAX_DESCRIPTION_CHARS, SchemaBucket, type SchemaBucketOptions, type SchemaInput } from './schemas.ts';
export { generateSecret, REDACTED, type Rotation, redact, restoreRedacted, rotate, rotatedView } from './secrets.ts';
