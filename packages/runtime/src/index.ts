export { openCircuitBucket, readCircuitReports } from './circuit-bucket.ts';
export { type BaseConfig, EnvReader, type NatsTlsConfig, readBaseConfig, secretBoxFromEnv } from './config.ts';
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
export { ConfigError } from './errors.ts';
export { type Check, type CheckResult, type HealthOptions, type HealthServer, startHealthServer } from './health.ts';
export { type App, CleanupStack, runMain, runUntilSignalled } from './lifecycle.ts';
export { bodyLimitProblem, envelopeHeadroomBytes } from './limits.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export {
  addMetricsRefresher,
  metrics,
  reportDlqDepth,
  setCircuitState,
} from './metrics.ts';
export { type ConnectOptions, connectNats, type NatsConnectConfig, type NatsHandle } from './nats.ts';
export { ObsPublisher } from './obs.ts';
export { type OperationalSink, publishOperationalEvent } from './operational-events.ts';
export { nak, type Outcome } from './outcome.ts';
export type { Platform } from './platform.ts';
export { AckingPublisher, isPayloadTooLarge, type PubAck, PublishError } from './publisher.ts';
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
export { ensureStreams, type JetStreamWaitOptions, type ManagedStreamConfig, type StreamOptions, streamConfigs } from './streams.ts';
export { annotateSpan, injectTraceContext, inSpan, setupTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.ts';
export type { TelemetryConfig } from './telemetry-config.ts';
export { sanitizeDotted, sanitizeToken, type Topology, topology } from './topology.ts';
export {
  type DeadLetterDelays,
  type DurableConsumerOptions,
  ensureDurableConsumer,
  Limiter,
  publishDeadLetter,
  type ReducedForm,
  startWorker,
  type Worker,
  type WorkerOptions,
} from './worker.ts';
