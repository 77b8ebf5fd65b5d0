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
    help: 'Circuit breaker per endpoint: 0 closed, 1 open, 2 half-open',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  }),
  dlqDepth: new Gauge({
    name: 'hookstream_dlq_messages',
    help: 'Messages in the dead-letter stream',
    registers: [registry],
  }),
});

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
