import type { EndpointConfig } from '@hookstream/models';
import type { ConfigCache, Limiter, Logger, StartConsumer, Topology, Worker } from '@hookstream/runtime';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { endpointSlots } from './handler.ts';
import { queueKey } from './task.ts';

/**
 * The durable consumer of one endpoint's tasks (`hs.deliver.{endpoint}`), or
 * of one lane of an endpoint ordered by a key (`hs.deliver.{endpoint}.{lane}`:
 * `deliver-{endpoint}~{lane}`; `~` is not allowed in endpoint ids, so names
 * never collide).
 */
export const endpointConsumerName = (endpointId: string, lane?: number): string =>
  lane === undefined ? `deliver-${endpointId}` : `deliver-${endpointId}~${lane}`;
/** The durable consumer of `hs.retry.>` (tasks waiting for their next attempt). */
export const RETRY_CONSUMER = 'deliver-retry';
/** The consumer of `hs.deliver.>` that deliver used before per-endpoint consumers; removed at start. */
export const LEGACY_CONSUMER = 'deliver';

/** What {@link EndpointConsumers} needs. */
export interface EndpointConsumersOptions {
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly topology: Topology;
  readonly endpoints: ConfigCache<EndpointConfig>;
  /** Starts one consumer with the stage's handler (buildStage). */
  readonly start: StartConsumer;
  /** Shared by every endpoint consumer of this replica. */
  readonly limiter: Limiter;
  readonly logger: Logger;
  /** How often the stream's subjects are scanned for tasks whose endpoint has no consumer. */
  readonly scanIntervalMs: number;
  /** Deliveries before a strictly ordered task is a poison message (its naks wait out backoffs in place). */
  readonly strictMaxDeliver: number;
}

/** One queue of tasks with its own consumer: an endpoint, or one lane of an endpoint ordered by a key. */
interface Queue {
  readonly endpointId: string;
  readonly lane: number | undefined;
  /** The consumer's `max_ack_pending`. */
  readonly slots: number;
  readonly strict: boolean;
}

interface Running extends Queue {
  readonly worker: Worker;
  failed: boolean;
}

const sameShape = (a: Queue, b: Queue | undefined): boolean => b !== undefined && a.slots === b.slots && a.strict === b.strict;

/** The queue a stored subject belongs to: `hs.deliver.{endpoint}[.{lane}]`. */
function queueOfSubject(t: Topology, subject: string): { endpointId: string; lane: number | undefined } | undefined {
  const [hs, kind, endpointId, lane, ...rest] = t.local(subject).split('.');
  if (hs !== 'hs' || kind !== 'deliver' || endpointId === undefined || rest.length > 0) return undefined;
  if (lane !== undefined && !/^\d{1,3}$/.test(lane)) return undefined;
  return { endpointId, lane: lane === undefined ? undefined : Number(lane) };
}

const keyOf = (q: { endpointId: string; lane: number | undefined }): string =>
  queueKey(q.endpointId, q.lane === undefined ? '' : String(q.lane));

/**
 * One durable pull consumer per endpoint, filter `hs.deliver.{endpoint}`,
 * `max_ack_pending` = the endpoint's slots ({@link endpointSlots}): the
 * server never hands out more of an endpoint's tasks than it may have in
 * flight, across every replica, and tasks for a busy endpoint wait in the
 * stream, not in a nak loop. An endpoint ordered by a key has one consumer
 * per lane instead (`max_ack_pending` 1 each). Kept in step with the
 * `hs_endpoints` bucket (created, resized, stopped on change) and with the
 * stream: a scan every `scanIntervalMs` starts a consumer for tasks whose
 * endpoint is unknown (they are dead-lettered `endpoint_deleted`) or whose
 * lane no longer exists, and deletes a consumer nobody wants once its
 * subject is empty. Every replica runs the same reconciliation; creating,
 * updating and deleting consumers is idempotent.
 */
export class EndpointConsumers {
  readonly #o: EndpointConsumersOptions;
  readonly #running = new Map<string, Running>();
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #off: (() => void) | undefined;
  #stopped = false;
  #scanFailed = false;
  /** Stored counts per subject at the previous scan (ghost candidates are the unchanged ones). */
  #previous = new Map<string, number>();

  constructor(options: EndpointConsumersOptions) {
    this.#o = options;
  }

  /**
   * Removes the legacy consumer and the consumers of queues that are gone
   * with nothing stored, reconciles once, then follows config changes and
   * scans periodically. Throws when NATS cannot be reached.
   */
  async start(): Promise<void> {
    await this.#removeLegacy();
    await this.#collectGarbage();
    await this.#enqueue(true);
    this.#off = this.#o.endpoints.onChange(() => void this.#enqueue(false));
    const tick = (): void => {
      this.#timer = setTimeout(() => {
        void this.#enqueue(true).finally(() => {
          if (!this.#stopped) tick();
        });
      }, this.#o.scanIntervalMs);
      this.#timer.unref();
    };
    tick();
  }

  /** Queues with a running consumer in this replica: endpoint ids, `{endpoint}.{lane}` for lanes. */
  endpoints(): string[] {
    return [...this.#running.keys()];
  }

  /** The running consumers' workers. */
  workers(): Worker[] {
    return [...this.#running.values()].map((r) => r.worker);
  }

  /** False when the last scan failed (NATS unreachable); the service reports it. */
  healthy(): boolean {
    return !this.#scanFailed;
  }

  /** Stops following changes and stops every consumer (in-flight tasks finish). Never throws. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#off?.();
    clearTimeout(this.#timer);
    await this.#chain;
    await Promise.all([...this.#running.values()].map((r) => r.worker.stop()));
    this.#running.clear();
  }

  /** Runs one reconciliation after the ones queued before it. */
  #enqueue(scan: boolean): Promise<void> {
    this.#chain = this.#chain
      .then(() => (this.#stopped ? undefined : this.#reconcile(scan)))
      .catch((err: unknown) => this.#o.logger.error({ err }, 'reconciling endpoint consumers failed'));
    return this.#chain;
  }

  async #removeLegacy(): Promise<void> {
    try {
      const info = await this.#o.jsm.consumers.info(this.#o.stream, LEGACY_CONSUMER);
      // Work-queue streams refuse overlapping consumers; the old catch-all would block every endpoint's.
      await this.#o.jsm.consumers.delete(this.#o.stream, LEGACY_CONSUMER);
      this.#o.logger.warn({ pending: info.num_pending }, 'removed the legacy catch-all deliver consumer');
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
  }

  /** The queues the endpoints' config asks for. */
  #configured(): Map<string, Queue> {
    const wanted = new Map<string, Queue>();
    for (const endpoint of this.#o.endpoints.values()) {
      const strict = endpoint.ordering === 'strict';
      if (endpoint.orderingKey !== undefined) {
        for (let lane = 0; lane < (endpoint.orderingLanes ?? 1); lane++) {
          const q: Queue = { endpointId: endpoint.id, lane, slots: 1, strict: true };
          wanted.set(keyOf(q), q);
        }
      } else {
        wanted.set(endpoint.id, { endpointId: endpoint.id, lane: undefined, slots: endpointSlots(endpoint), strict });
      }
    }
    return wanted;
  }

  // Consumers left by a run that ended before their queue drained are found
  // here (a running replica deletes the ones it drains itself).
  async #collectGarbage(): Promise<void> {
    const stored = this.#storedTasks(await this.#subjectCounts());
    const configured = this.#configured();
    const prefix = endpointConsumerName('');
    for await (const info of this.#o.jsm.consumers.list(this.#o.stream)) {
      if (!info.name.startsWith(prefix) || info.name === RETRY_CONSUMER) continue;
      const [endpointId = '', lane] = info.name.slice(prefix.length).split('~');
      const key = keyOf({ endpointId, lane: lane === undefined ? undefined : Number(lane) });
      if (!configured.has(key) && !stored.has(key)) await this.#deleteConsumer(info.name);
    }
  }

  /** Queue key -> tasks stored on its subject. */
  #storedTasks(counts: ReadonlyMap<string, number>): Map<string, number> {
    const byQueue = new Map<string, number>();
    for (const [subject, n] of counts) {
      const q = queueOfSubject(this.#o.topology, subject);
      if (q !== undefined && n > 0) byQueue.set(keyOf(q), n);
    }
    return byQueue;
  }

  async #subjectCounts(): Promise<Map<string, number>> {
    const t = this.#o.topology;
    const info = await this.#o.jsm.streams.info(this.#o.stream, { subjects_filter: t.subject('hs.>') });
    return new Map(Object.entries(info.state.subjects ?? {}));
  }

  /**
   * After a broker crash, a work-queue stream can forget that it removed
   * acked messages: they are stored again, below the consumer's ack floor,
   * and no consumer will ever hand them out (seen in the chaos suite on
   * nats-server 2.9). A subject whose count did not move since the last scan,
   * whose consumer has nothing pending or unacknowledged, holds only such
   * ghosts: they are purged up to the ack floor, which never touches a task
   * the consumer has not acked.
   */
  async #sweepGhosts(counts: ReadonlyMap<string, number>): Promise<void> {
    const t = this.#o.topology;
    const retryTotal = [...counts].filter(([s]) => t.local(s).startsWith('hs.retry.')).reduce((n, [, c]) => n + c, 0);
    const candidates: [consumer: string, filter: string, count: number][] = [];
    if (retryTotal > 0 && this.#previous.get('retry') === retryTotal)
      candidates.push([RETRY_CONSUMER, t.subject('hs.retry.>'), retryTotal]);
    for (const [subject, n] of counts) {
      const q = queueOfSubject(t, subject);
      if (q !== undefined && n > 0 && this.#previous.get(subject) === n && this.#running.has(keyOf(q))) {
        candidates.push([endpointConsumerName(q.endpointId, q.lane), subject, n]);
      }
    }
    this.#previous = new Map(counts);
    this.#previous.set('retry', retryTotal);
    for (const [consumer, filter, count] of candidates) {
      const info = await this.#o.jsm.consumers.info(this.#o.stream, consumer);
      if (info.num_pending > 0 || info.num_ack_pending > 0) continue;
      const purged = await this.#o.jsm.streams.purge(this.#o.stream, { filter, seq: info.ack_floor.stream_seq + 1 });
      if (purged.purged > 0) {
        this.#o.logger.warn(
          { consumer, filter, stored: count, purged: purged.purged },
          'removed acknowledged tasks that reappeared after a broker restart',
        );
      }
    }
  }

  async #reconcile(scan: boolean): Promise<void> {
    let stored: Map<string, number> | undefined;
    if (scan) {
      try {
        const counts = await this.#subjectCounts();
        stored = this.#storedTasks(counts);
        await this.#sweepGhosts(counts);
        this.#scanFailed = false;
      } catch (err) {
        this.#scanFailed = true;
        this.#o.logger.error({ err }, 'scanning the delivery stream failed');
      }
    }
    const wanted = this.#configured();
    // Tasks on a queue the config does not ask for (a deleted endpoint, a
    // lane that no longer exists, a replay to an endpoint ordered by a key):
    // a consumer drains them, strict when the endpoint is.
    for (const key of stored?.keys() ?? []) {
      if (wanted.has(key)) continue;
      const [endpointId = '', lane] = key.split('.');
      const strict = this.#o.endpoints.get(endpointId)?.ordering === 'strict';
      wanted.set(key, { endpointId, lane: lane === undefined ? undefined : Number(lane), slots: 1, strict });
    }
    for (const [key, running] of this.#running) {
      if (!running.failed && sameShape(running, wanted.get(key))) continue;
      // Not wanted by config: keep draining until a scan shows its subject empty.
      if (!running.failed && !wanted.has(key) && stored === undefined) continue;
      this.#running.delete(key);
      await running.worker.stop();
      if (!wanted.has(key)) await this.#deleteConsumer(endpointConsumerName(running.endpointId, running.lane));
    }
    for (const [key, queue] of wanted) {
      if (this.#running.has(key) || this.#stopped) continue;
      await this.#startOne(key, queue);
    }
  }

  async #startOne(key: string, queue: Queue): Promise<void> {
    try {
      const entry: { current?: Running } = {};
      const worker = await this.#o.start({
        durable: endpointConsumerName(queue.endpointId, queue.lane),
        filterSubject: this.#o.topology.deliver(queue.endpointId, queue.lane),
        concurrency: queue.slots,
        maxAckPending: queue.slots,
        limiter: this.#o.limiter,
        ...(queue.strict ? { maxDeliver: this.#o.strictMaxDeliver } : {}),
        onFatal: (err) => {
          this.#o.logger.error({ err, queue: key }, 'endpoint consumer stopped; it is restarted');
          if (entry.current !== undefined) entry.current.failed = true;
          void this.#enqueue(false);
        },
      });
      entry.current = { ...queue, worker, failed: false };
      this.#running.set(key, entry.current);
    } catch (err) {
      this.#o.logger.error({ err, queue: key }, 'starting the endpoint consumer failed; retried at the next scan');
    }
  }

  async #deleteConsumer(name: string): Promise<void> {
    try {
      await this.#o.jsm.consumers.delete(this.#o.stream, name);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return;
      this.#o.logger.warn({ err, consumer: name }, 'deleting the endpoint consumer failed; retried at the next scan');
    }
  }
}
