import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics (one registry per process; several
 * services in one test process share it, told apart by their labels).
 * Served on the health port at `/metrics` in the Prometheus text format.
 */
export const registry = new Registry();

/** Every metric hookstream exports. docs/operations.md lists what to alert on. */
export const metrics = Object.freeze({
  ingestRequests: new Counter({
    name: 'hookstream_ingest_requests_total',
    help: 'Webhook requests answered by ingest, by source and HTTP status',
    labelNames: ['source', 'status'] as const,
    registers: [registry],
  }),
  receivedRecordsDropped: new Counter({
    name: 'hookstream_ingest_received_records_dropped_total',
    help: 'hs.obs.received records ingest did not publish because too many were already in flight (a flood of requests) or publishing failed',
    labelNames: ['why'] as const,
    registers: [registry],
  }),
  stageMessages: new Counter({
    name: 'hookstream_stage_messages_total',
    help: 'Messages settled by a pipeline stage, by outcome (ack, nak, term, term_reduced, dead_letter_retry, dead_letter_stuck, error)',
    labelNames: ['stage', 'outcome'] as const,
    registers: [registry],
  }),
  stageDuration: new Histogram({
    name: 'hookstream_stage_duration_seconds',
    help: 'Time a stage spent on one message, from receipt to settled',
    labelNames: ['stage'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  consumerPending: new Gauge({
    name: 'hookstream_consumer_pending_messages',
    help: 'Messages waiting for a stage (consumer lag)',
    labelNames: ['stage'] as const,
    registers: [registry],
  }),
  consumerAckPending: new Gauge({
    name: 'hookstream_consumer_ack_pending_messages',
    help: 'Messages a stage holds without having acked them',
    labelNames: ['stage'] as const,
    registers: [registry],
  }),
  consumerStalled: new Gauge({
    name: 'hookstream_consumer_stalled',
    help: 'A durable consumer with pending work that delivers nothing (1) or not (0); why is on /readyz and in the log',
    labelNames: ['stage', 'consumer'] as const,
    registers: [registry],
  }),
  consumerRecoveries: new Counter({
    name: 'hookstream_consumer_recoveries_total',
    help: 'Recoveries of a stalled consumer (a fresh pull, or the durable consumer re-created), by reason and outcome (ok, failed)',
    labelNames: ['stage', 'consumer', 'reason', 'outcome'] as const,
    registers: [registry],
  }),
  deliveries: new Counter({
    name: 'hookstream_delivery_attempts_total',
    help: 'HTTP delivery attempts, by endpoint and outcome class',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  }),
  duplicatesSuppressed: new Counter({
    name: 'hookstream_delivery_suppressed_total',
    help: 'Delivery tasks acked without a request because hs_delivered shows them delivered (redelivered after a lost ack, or republished)',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  }),
  circuitState: new Gauge({
    name: 'hookstream_circuit_state',
    help: 'Circuit breaker per endpoint and state (closed, open, half-open): 1 for the state it is in, 0 for the others',
    labelNames: ['endpoint', 'state'] as const,
    registers: [registry],
  }),
  deliveryDuration: new Histogram({
    name: 'hookstream_delivery_duration_seconds',
    help: 'Duration of one HTTP delivery attempt (request sent to response or failure), by endpoint and outcome class',
    labelNames: ['endpoint', 'outcome'] as const,
    // Webhook receivers answer in milliseconds to seconds; deliver's request timeout is at most 30 s.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  buildInfo: new Gauge({
    name: 'hookstream_build_info',
    help: 'Always 1; the labels say which hookstream version runs on which Node.js, in which service',
    labelNames: ['version', 'node', 'service'] as const,
    registers: [registry],
  }),
});

/** The circuit states, each a series of `hookstream_circuit_state`. */
export const CIRCUIT_STATES = Object.freeze(['closed', 'open', 'half-open'] as const);

/**
 * Sets `hookstream_circuit_state` for `endpoint`: 1 on the series of `state`,
 * 0 on the others, so `sum by (state)` counts endpoints per state.
 */
export function setCircuitState(endpoint: string, state: (typeof CIRCUIT_STATES)[number]): void {
  for (const s of CIRCUIT_STATES) metrics.circuitState.set({ endpoint, state: s }, s === state ? 1 : 0);
}

/** hookstream's version, from this package's package.json (every package is versioned together). */
export const HOOKSTREAM_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

// `hookstream_dlq_messages`: one source of truth. Only the service that owns
// the DLQ API (control) reports it, read from HS_DLQ's stream state at
// scrape time; other services' /metrics do not have the series at all (an
// unset unlabelled gauge would read 0 there, and stages used to read the
// stream at different moments).
let dlqGauge: Gauge | undefined;
let dlqReaders = 0;

/**
 * Makes this process report `hookstream_dlq_messages`, the messages in
 * `HS_DLQ`, read by `read` before each scrape. Returns its removal (the
 * series goes when the last reader is removed). Control calls it; no other
 * service does.
 */
export function reportDlqDepth(read: () => Promise<number>): () => void {
  dlqGauge ??= new Gauge({
    name: 'hookstream_dlq_messages',
    help: 'Messages in the dead-letter stream HS_DLQ (reported by control only)',
    registers: [registry],
  });
  const gauge = dlqGauge;
  dlqReaders++;
  const removeRefresher = addMetricsRefresher(async () => gauge.set(await read()));
  return () => {
    removeRefresher();
    if (--dlqReaders === 0) {
      registry.removeSingleMetric('hookstream_dlq_messages');
      dlqGauge = undefined;
    }
  };
}

const refreshers = new Set<() => Promise<void>>();

/** Registers a refresher run before each scrape (e.g. reading consumer lag); returns its removal. */
export function addMetricsRefresher(refresh: () => Promise<void>): () => void {
  refreshers.add(refresh);
  return () => refreshers.delete(refresh);
}

/** The text format of every metric, after running the refreshers (a failing one is skipped). */
export async function renderMetrics(): Promise<string> {
  await Promise.all([...refreshers].map((r) => r().catch(() => undefined)));
  return registry.metrics();
}

/** The content type of {@link renderMetrics}. */
export const METRICS_CONTENT_TYPE = registry.contentType;
