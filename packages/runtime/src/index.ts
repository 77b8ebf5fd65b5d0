export { openCircuitBucket, readCircuitReports } from './circuit-bucket.ts';
export { BASE_ENV, type BaseConfig, EnvReader, type NatsTlsConfig, readBaseConfig, secretBoxFromEnv } from './config.ts';
export { type BucketOptions, bucketKeys, type ConfigCache, openBucket, watchConfig } from './config-cache.ts';
export {
  type Envelope,
  envelopeOf,
  forwardHeaders,
  headerValue,
  replayedHeaders,
  type StageMessage,
  senderHeader,
  stageMessage,
} from './envelope.ts';
export { ConfigError, TopologyError } from './errors.ts';
export { type Check, type CheckResult, type HealthOptions, type HealthServer, startHealthServer } from './health.ts';
export { type App, CleanupStack, runMain, runUntilSignalled } from './lifecycle.ts';
export {
  bodyLimitProblem,
  envelopeHeadroomBytes,
  HEADER_FRAMING_BYTES,
  type HeaderBound,
  headerLineBytes,
  STAGE_HEADER_BOUNDS,
  STAGE_HEADERS_MAX_BYTES,
} from './limits.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export {
  addMetricsRefresher,
  CIRCUIT_STATES,
  HOOKSTREAM_VERSION,
  METRICS_CONTENT_TYPE,
  metrics,
  registry,
  renderMetrics,
  reportDlqDepth,
  setCircuitState,
} from './metrics.ts';
export { type ConnectOptions, connectNats, type NatsConnectConfig, NatsConnectError, type NatsHandle } from './nats.ts';
export { ObsPublisher } from './obs.ts';
export { ack, nak, type Outcome, term } from './outcome.ts';
export { openPlatform, type Platform } from './platform.ts';
export { AckingPublisher, isPayloadTooLarge, PayloadTooLargeError, type PubAck, PublishError, PublishTimeoutError } from './publisher.ts';
export { buildService, type ServiceApp, type ServiceOptions } from './service.ts';
export {
  buildStage,
  type ConsumerSpec,
  readStageSettings,
  type StageApp,
  type StageContext,
  type StageOptions,
  type StageSettings,
  type StageWiring,
  type StartConsumer,
} from './stage.ts';
export {
  type ConsumerView,
  ConsumerWatch,
  type ConsumerWatchOptions,
  defaultStallAfterMs,
  type Judgement,
  type JudgeOptions,
  judgeBlocked,
  judgeConsumer,
  lastDeliveryMs,
  type Stall,
  type StalledConsumer,
  type StallReason,
  stallCheckIntervalMs,
  type WatchedConsumer,
} from './stall.ts';
export {
  DEFAULT_JETSTREAM_WAIT_MS,
  ensureStreams,
  isJetStreamUnavailable,
  type JetStreamWaitOptions,
  type ManagedStreamConfig,
  type StreamOptions,
  streamConfigs,
} from './streams.ts';
export {
  activeTraceFields,
  annotateSpan,
  extractTraceContext,
  injectTraceContext,
  inSpan,
  setupTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.ts';
export { resolveTelemetryConfig, type TelemetryConfig } from './telemetry-config.ts';
export { sanitizeDotted, sanitizeToken, type Topology, topology } from './topology.ts';
export {
  DEAD_LETTER_ATTEMPTS,
  DEFAULT_DEAD_LETTER_DELAYS,
  type DeadLetterDelays,
  type DurableConsumerOptions,
  defaultRetryDelayMs,
  ensureDurableConsumer,
  Limiter,
  publishDeadLetter,
  type ReducedForm,
  type SettleDeps,
  type Settled,
  settle,
  startWorker,
  type Worker,
  type WorkerOptions,
} from './worker.ts';
