export { buildApp, type DeliverApp, type DeliverCounts, type DeliverOverrides } from './app.ts';
export { nextDelayMs, parseRetryAfter, withinRetryWindow } from './backoff.ts';
export { type CircuitAdmission, CircuitBreaker, type CircuitState } from './circuit.ts';
export { CIRCUIT_REPORT_INTERVAL_MS, CircuitReporter, type CircuitReporterOptions, replicaName } from './circuit-report.ts';
export { type Classification, classifyError, classifyStatus } from './classify.ts';
export { DELIVER_DEFAULTS, type DeliverConfig, loadConfig } from './config.ts';
export {
  DeliveredBucket,
  type DeliveredBucketOptions,
  DeliveredReadError,
  decodeMarker,
  deliveredKey,
  encodeMarker,
  MARKER_RETRY_MS,
  MARKER_TRIES,
  MarkerWriteError,
  type OpenDeliveredBucketOptions,
  openDeliveredBucket,
} from './delivered.ts';
export {
  activeSecrets,
  type DeadLetterReason,
  type DeliverDeps,
  type DeliveredMarker,
  type DeliveredStore,
  endpointSlots,
  type HeadState,
  type HeadStore,
  handleTask,
  type NextTask,
  type RetryDeps,
  rateHoldMs,
  rateSlots,
  releaseWhenDue,
  requestHeaders,
  type TaskMessage,
} from './handler.ts';
export { EXCERPT_BYTES, GuardedHttpClient, guardedConnector, type HttpSender, type SendRequest, type SendResult } from './http-client.ts';
export { EndpointConsumers, type EndpointConsumersOptions, endpointConsumerName, LEGACY_CONSUMER, RETRY_CONSUMER } from './lanes.ts';
export {
  AddressGuard,
  BlockedAddressError,
  DENIED_CIDRS,
  parseCidrs,
  type ResolvedAddress,
  type Resolver,
  systemResolver,
  unmapIPv4,
} from './ssrf.ts';
export { readTask, type Task } from './task.ts';
export { type Admission, type CircuitChange, EndpointGates, type Pass, PROBE_WAIT_MS, type Verdict } from './throttle.ts';
