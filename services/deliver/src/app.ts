import { randomUUID } from 'node:crypto';
import {
  deadLetterHeaders,
  decodeEndpointState,
  deliverDeadLetterMsgId,
  dueTaskMsgId,
  encodeEndpointState,
  Header,
  MSG_ID_HEADER,
  OPERATIONAL_SOURCE,
  TaskHeader,
  taskMsgId,
} from '@hookstream/contracts';
import { decodeEndpoint, type EndpointConfig } from '@hookstream/models';
import {
  addMetricsRefresher,
  annotateSpan,
  buildStage,
  forwardHeaders,
  Limiter,
  type Logger,
  metrics,
  nak,
  type Outcome,
  openBucket,
  openCircuitBucket,
  publishOperationalEvent,
  type StageApp,
  type StageMessage,
  type StartConsumer,
  setCircuitState,
  type Worker,
  watchConfig,
} from '@hookstream/runtime';
import { CircuitReporter, replicaName } from './circuit-report.ts';
import type { DeliverConfig } from './config.ts';
import { DeliveredBucket, openDeliveredBucket } from './delivered.ts';
import {
  type DeadLetterReason,
  type DeliverDeps,
  type HeadState,
  type HeadStore,
  handleTask,
  type NextTask,
  releaseWhenDue,
  type TaskMessage,
} from './handler.ts';
import { GuardedHttpClient, type HttpSender } from './http-client.ts';
import { EndpointConsumers, RETRY_CONSUMER } from './lanes.ts';
import { AddressGuard, type Resolver, systemResolver } from './ssrf.ts';
import type { Task } from './task.ts';
import { type CircuitChange, EndpointGates } from './throttle.ts';

/** Dependencies a test may replace. */
export interface DeliverOverrides {
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
  /** The SSRF guard's resolver (default `dns.lookup`). */
  readonly resolve?: Resolver;
  /** Replaces the HTTP client (its SSRF guard included). */
  readonly sender?: HttpSender;
  /** The replica name in circuit reports (default host name and pid). */
  readonly replica?: string;
  /** How often circuits are reported (default 5 s). */
  readonly circuitReportIntervalMs?: number;
}

/** Deliveries of a strictly ordered endpoint's task before it is a poison message: its backoffs and circuit waits are naks in place. */
const STRICT_MAX_DELIVER = 100_000;

/** Counts since start (this replica), for tests and metrics. */
export interface DeliverCounts {
  attempts: number;
  delivered: number;
  deadLettered: number;
  deferred: number;
  requeued: number;
  /** Tasks acked without a request because `hs_delivered` showed them delivered. */
  suppressed: number;
  /** Delivered markers that could not be stored (the task was acked anyway). */
  markerFailures: number;
}

/** The deliver service: the stage plus its counts, per-endpoint gates and consumers. */
export interface DeliverApp extends StageApp {
  readonly counts: Readonly<DeliverCounts>;
  readonly gates: EndpointGates;
  /** Endpoints with a running consumer in this replica (once running). */
  endpointConsumers(): string[];
}

// How long our own 410 write counts before the bucket watch shows it.
const LOCAL_GONE_MS = 10_000;
// Entries of the in-memory deferral counts before they are forgotten wholesale.
const MAX_DEFERRAL_ENTRIES = 100_000;

function decodeHead(value: Uint8Array): HeadState | undefined {
  try {
    const raw = JSON.parse(new TextDecoder().decode(value)) as Partial<HeadState>;
    if (typeof raw.key !== 'string' || typeof raw.attempts !== 'number' || typeof raw.notBeforeMs !== 'number') return undefined;
    return { key: raw.key, attempts: raw.attempts, notBeforeMs: raw.notBeforeMs };
  } catch {
    return undefined;
  }
}

/** A worker made of several: stops them all, healthy while all are, counts summed. */
function workerGroup(parts: () => Worker[], healthy: () => boolean, stop: () => Promise<void>): Worker {
  const sum = (kind: keyof Worker['counts']): number => parts().reduce((n, w) => n + w.counts[kind], 0);
  return {
    stop,
    healthy: () => healthy() && parts().every((w) => w.healthy()),
    counts: {
      get ack() {
        return sum('ack');
      },
      get nak() {
        return sum('nak');
      },
      get term() {
        return sum('term');
      },
      get error() {
        return sum('error');
      },
    },
  };
}

/**
 * Wires deliver on the shared stage wiring: live caches of `hs_endpoints`
 * and `hs_endpoint_state`, the `hs_delivered` bucket (deliveries that got a
 * 2xx, so a copy handed out again is not POSTed again), the guarded HTTP
 * client, the per-endpoint
 * circuit breakers, one durable consumer per endpoint on
 * `hs.deliver.{endpoint}` whose handler POSTs each task (lanes.ts), and the
 * retry consumer on `hs.retry.>` that moves tasks back when they are due.
 * Dead letters of the handler go to `hs.dlq.deliver.{endpoint}` (published
 * here, then the task is acked); so do the worker's own (a task delivered
 * more than `maxDeliver` times, a handler that keeps throwing), through
 * `deadLetterKey`.
 */
export function buildApp(config: DeliverConfig, overrides: DeliverOverrides = {}): DeliverApp {
  const now = overrides.now ?? Date.now;
  const random = overrides.random ?? Math.random;
  const counts: DeliverCounts = { attempts: 0, delivered: 0, deadLettered: 0, deferred: 0, requeued: 0, suppressed: 0, markerFailures: 0 };
  // Bound once the stage has a publisher: circuit changes become operational events.
  let circuitChanged: ((endpointId: string, change: CircuitChange, atMs: number) => void) | undefined;
  const gates = new EndpointGates(now, random, (id, change, atMs) => circuitChanged?.(id, change, atMs));
  // After this many deferrals of one task in this replica, it is put back as
  // a new message so JetStream's delivery count (bounded by maxDeliver)
  // starts again.
  const requeueAfter = Math.max(1, Math.floor(config.maxDeliver / 10));
  let lanes: EndpointConsumers | undefined;
  const stage = buildStage({
    config,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    stage: 'deliver',
    input: (t) => ({ stream: t.streams.delivery, filterSubject: t.subject('hs.deliver.*') }),
    deadLetterKey: (m) => m.header(Header.endpointId),
    setup: async ({ platform, publisher, obs, topology: t, cleanup, logger }) => {
      const nc = platform.nats.nc;
      const endpoints = await watchConfig<EndpointConfig>(
        await openBucket(nc, t.buckets.endpoints, { replicas: config.streamReplicas }),
        (key, value) => decodeEndpoint(key, value, config.secretBox),
        logger,
      );
      cleanup.push('endpoints watch', () => endpoints.stop());
      const stateBucket = await openBucket(nc, t.buckets.endpointState, { replicas: config.streamReplicas });
      const states = await watchConfig(stateBucket, decodeEndpointState, logger);
      cleanup.push('endpoint state watch', () => states.stop());
      const sender = overrides.sender ?? new GuardedHttpClient(new AddressGuard(config.allowCidrs, overrides.resolve ?? systemResolver));
      cleanup.push('http client', () => sender.close());
      cleanup.push(
        'circuit metrics',
        addMetricsRefresher(async () => {
          for (const [id, state] of gates.circuitStates()) setCircuitState(id, state);
        }),
      );
      const replica = overrides.replica ?? replicaName();
      // Operational events (docs/operational-events.md). A circuit change is
      // published without holding up the request that caused it; one that
      // cannot be published is logged (the circuit itself still works).
      circuitChanged = (id, change, atMs) => {
        const kind = change === 'opened' ? 'circuit.opened' : 'circuit.closed';
        publishOperationalEvent(publisher, t, kind, { endpoint_id: id, replica, at: atMs }, now()).catch((err: unknown) =>
          logger.error({ err, endpoint: id, kind }, 'operational event not published'),
        );
      };
      const reporter = new CircuitReporter({
        kv: await openCircuitBucket(nc, t.buckets.circuits, { replicas: config.streamReplicas }),
        replica,
        states: () => gates.circuitStates(),
        now,
        logger,
      });
      cleanup.push('circuit reports', reporter.start(overrides.circuitReportIntervalMs));
      const headsBucket = await openBucket(nc, t.buckets.deliveryHeads, { replicas: config.streamReplicas });
      const heads: HeadStore = {
        get: async (id) => {
          const entry = await headsBucket.get(id);
          return entry === null || entry.operation !== 'PUT' ? undefined : decodeHead(entry.value);
        },
        put: async (id, head) => {
          await headsBucket.put(id, JSON.stringify(head));
        },
      };
      const delivered = new DeliveredBucket(nc, {
        bucket: t.buckets.delivered,
        stream: await openDeliveredBucket(nc, t.buckets.delivered, { replicas: config.streamReplicas, ttlMs: config.deliveredTtlMs }),
        timeoutMs: config.publishTimeoutMs,
        onWriteError: (task, marker, err) => {
          counts.markerFailures++;
          logger.error(
            { err, event: task.eventId, endpoint: task.endpointId, replay: task.replayId, request: marker.request_id },
            'the delivered marker was not stored; a redelivery of this task (after a lost ack) would repeat its request',
          );
        },
      });
      cleanup.push('delivered bucket', () => delivered.close());
      const localGone = new Map<string, number>();
      const deferrals = new Map<string, number>();

      const putBack = async (msg: TaskMessage, task: Task, next: NextTask): Promise<void> => {
        const h = forwardHeaders(msg.headers);
        h.set(TaskHeader.attempt, String(next.attemptsMade));
        h.set(TaskHeader.notBefore, String(Math.round(next.notBeforeMs)));
        if (next.requeues > 0) h.set(TaskHeader.requeues, String(next.requeues));
        else h.delete(TaskHeader.requeues);
        h.set(MSG_ID_HEADER, taskMsgId(task.eventId, task.endpointId, next.attemptsMade, next.requeues, task.replayId));
        await publisher.publish(t.retry(task.endpointId), msg.data, h);
      };

      // The retry consumer's way back: the task unchanged, to its endpoint's queue.
      const release = async (msg: TaskMessage, task: Task): Promise<void> => {
        const h = forwardHeaders(msg.headers);
        h.set(MSG_ID_HEADER, dueTaskMsgId(task.eventId, task.endpointId, task.attemptsMade, task.requeues, task.replayId));
        await publisher.publish(t.deliver(task.endpointId), msg.data, h);
      };

      const deadLetter = async (msg: TaskMessage, task: Task, reason: DeadLetterReason, detail: string, attempts: number) => {
        const h = forwardHeaders(msg.headers);
        deadLetterHeaders(h, { stage: 'deliver', reason, detail, subject: msg.subject, atMs: now(), deliveries: attempts });
        h.set(MSG_ID_HEADER, deliverDeadLetterMsgId(task.eventId, task.endpointId, task.replayId));
        await publisher.publish(t.dlq('deliver', task.endpointId), msg.data, h);
        counts.deadLettered++;
        // The loop guard: a delivery of an operational event that runs out of
        // retries is dead-lettered like any other but announces nothing, so
        // an endpoint that fails its own `delivery.exhausted` events cannot
        // feed itself more of them (docs/operational-events.md).
        if (reason === 'retries_exhausted' && task.source !== OPERATIONAL_SOURCE) {
          await publishOperationalEvent(
            publisher,
            t,
            'delivery.exhausted',
            {
              endpoint_id: task.endpointId,
              event_id: task.eventId,
              source: task.source,
              event_type: task.eventType,
              ...(task.replayId !== '' ? { replay: task.replayId } : {}),
              attempts,
              at: now(),
            },
            now(),
          );
        }
      };

      const defer = async (msg: TaskMessage, task: Task, delayMs: number): Promise<Outcome> => {
        counts.deferred++;
        const key = taskMsgId(task.eventId, task.endpointId, task.attemptsMade, task.requeues);
        const seen = (deferrals.get(key) ?? 0) + 1;
        if (seen < requeueAfter) {
          if (deferrals.size >= MAX_DEFERRAL_ENTRIES) deferrals.clear();
          deferrals.set(key, seen);
          return nak(delayMs);
        }
        deferrals.delete(key);
        await putBack(msg, task, { attemptsMade: task.attemptsMade, notBeforeMs: now() + delayMs, requeues: task.requeues + 1 });
        counts.requeued++;
        return { kind: 'ack' };
      };

      const deps: DeliverDeps = {
        endpoint: (id) => endpoints.get(id),
        disabled: (id) => {
          if (states.get(id)?.disabled === true) return true;
          const until = localGone.get(id);
          if (until === undefined) return false;
          if (until > now()) return true;
          localGone.delete(id);
          return false;
        },
        markGone: async (id, atMs) => {
          await stateBucket.put(id, encodeEndpointState({ disabled: true, reason: 'gone', at: atMs }));
          localGone.set(id, now() + LOCAL_GONE_MS);
          // A disabled endpoint gets no more tasks (route and deliver skip it), so this announces at most one change per 410.
          await publishOperationalEvent(publisher, t, 'endpoint.disabled', { endpoint_id: id, reason: 'gone', at: atMs }, now());
        },
        gates,
        heads,
        delivered,
        suppressed: (task, marker) => {
          counts.suppressed++;
          metrics.duplicatesSuppressed.inc({ endpoint: task.endpointId });
          annotateSpan({ 'hookstream.endpoint': task.endpointId, 'hookstream.suppressed': 'already_delivered' });
          logger.warn(
            {
              event: task.eventId,
              endpoint: task.endpointId,
              replay: task.replayId,
              reason: 'already_delivered',
              request: marker.request_id,
              attempt: marker.attempt,
              deliveredAt: marker.at,
            },
            'task already delivered (a redelivery after a lost ack, or a republished copy): acked without a request',
          );
        },
        requestId: randomUUID,
        sender: {
          send: async (req) => {
            counts.attempts++;
            const result = await sender.send(req);
            if (result.kind === 'response' && result.status >= 200 && result.status < 300) counts.delivered++;
            return result;
          },
        },
        recordAttempt: (record, again) => {
          if (!again) {
            metrics.deliveries.inc({ endpoint: record.endpoint_id, outcome: record.outcome });
            metrics.deliveryDuration.observe({ endpoint: record.endpoint_id, outcome: record.outcome }, record.latency_ms / 1000);
          }
          annotateSpan({
            'hookstream.endpoint': record.endpoint_id,
            'hookstream.attempt': record.attempt,
            'hookstream.delivery_outcome': record.outcome,
            ...(record.status !== null ? { 'http.response.status_code': record.status } : {}),
          });
          return obs.record('attempt', record);
        },
        recordSkipped: (record) => obs.record('skipped', record),
        putBack,
        deadLetter,
        defer,
        now,
        random,
        userAgent: config.userAgent,
        // The attempt must end well before the consumer's ack wait, or
        // JetStream would hand the task to another worker meanwhile.
        maxTimeoutMs: Math.max(100, Math.floor(config.ackWaitMs / 2)),
      };
      const limiter = new Limiter(config.concurrency);
      const consume = async (start: StartConsumer): Promise<Worker> => {
        const retry = await start({
          durable: RETRY_CONSUMER,
          filterSubject: t.subject('hs.retry.>'),
          concurrency: config.concurrency,
          maxAckPending: config.retryMaxPending,
          handle: (m: StageMessage) => releaseWhenDue(m, { release, now }),
        });
        lanes = new EndpointConsumers({
          jsm: platform.jsm,
          stream: t.streams.delivery,
          topology: t,
          endpoints,
          start,
          limiter,
          logger,
          scanIntervalMs: config.scanIntervalMs,
          strictMaxDeliver: STRICT_MAX_DELIVER,
        });
        const running = lanes;
        await running.start();
        return workerGroup(
          () => [retry, ...running.workers()],
          () => running.healthy(),
          async () => {
            await running.stop();
            await retry.stop();
          },
        );
      };
      cleanup.push(
        'delivery metrics',
        // Summed over deliver's consumers (one per endpoint or lane, and the
        // retry consumer): tasks not yet handed out, and handed out but unacked.
        addMetricsRefresher(async () => {
          let pending = 0;
          let ackPending = 0;
          for await (const c of platform.jsm.consumers.list(t.streams.delivery)) {
            pending += c.num_pending;
            ackPending += c.num_ack_pending;
          }
          metrics.consumerPending.set({ stage: 'deliver' }, pending);
          metrics.consumerAckPending.set({ stage: 'deliver' }, ackPending);
        }),
      );
      return {
        handle: (m) => handleTask(m, deps),
        consume,
        readiness: { endpoints: () => endpoints.isReady(), endpointState: () => states.isReady() },
        ready: Promise.all([endpoints.ready(), states.ready()]).then(() => undefined),
      };
    },
  });
  return Object.assign(stage, { counts, gates, endpointConsumers: () => lanes?.endpoints() ?? [] });
}
