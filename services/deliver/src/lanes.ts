import type { ConfigCache, EndpointConfig, Limiter, Logger, StartConsumer, Topology, Worker } from '@hookstream/runtime';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { endpointSlots } from './handler.ts';

/** The durable consumer of one endpoint's tasks (`hs.deliver.{endpoint}`). */
export const endpointConsumerName = (endpointId: string): string => `deliver-${endpointId}`;
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

/** What a consumer is started with; a change restarts it. */
interface Shape {
  readonly slots: number;
  readonly strict: boolean;
}

interface Running extends Shape {
  readonly worker: Worker;
  failed: boolean;
}

const sameShape = (a: Shape, b: Shape | undefined): boolean => b !== undefined && a.slots === b.slots && a.strict === b.strict;

/**
 * One durable pull consumer per endpoint, filter `hs.deliver.{endpoint}`,
 * `max_ack_pending` = the endpoint's slots ({@link endpointSlots}): the
 * server never hands out more of an endpoint's tasks than it may have in
 * flight, across every replica, and tasks for a busy endpoint wait in the
 * stream, not in a nak loop. Kept in step with the `hs_endpoints` bucket
 * (created, resized, stopped on change) and with the stream: a scan every
 * `scanIntervalMs` starts a consumer for tasks whose endpoint is unknown
 * (they are dead-lettered `endpoint_deleted`), and deletes the consumer of
 * a deleted endpoint once its subject is empty. Every replica runs the same
 * reconciliation; creating, updating and deleting consumers is idempotent.
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
   * Removes the legacy consumer and the consumers of endpoints that are gone
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

  /** Endpoints with a running consumer in this replica. */
  endpoints(): string[] {
    return [...this.#running.keys()];
  }

  /** The running endpoint consumers' workers. */
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

  // Consumers left by a run that ended before their endpoint's queue drained
  // are found here (a running replica deletes the ones it drains itself).
  async #collectGarbage(): Promise<void> {
    const stored = await this.#storedTasks();
    const prefix = endpointConsumerName('');
    for await (const info of this.#o.jsm.consumers.list(this.#o.stream)) {
      if (!info.name.startsWith(prefix) || info.name === RETRY_CONSUMER) continue;
      const id = info.name.slice(prefix.length);
      if (this.#o.endpoints.get(id) === undefined && !stored.has(id)) await this.#deleteConsumer(id);
    }
  }

  /** Endpoint id -> tasks stored on `hs.deliver.{id}`, and the retry subjects' total, from the stream's per-subject counts. */
  async #storedTasks(counts?: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    counts ??= await this.#subjectCounts();
    const byEndpoint = new Map<string, number>();
    for (const [subject, n] of counts) {
      const [, kind, id] = this.#o.topology.local(subject).split('.');
      if (kind === 'deliver' && id !== undefined && n > 0) byEndpoint.set(id, n);
    }
    return byEndpoint;
  }

  async #subjectCounts(): Promise<Map<string, number>> {
    const t = this.#o.topology;
    const info = await this.#o.jsm.streams.info(this.#o.stream, { subjects_filter: t.subject('hs.*.*') });
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
      const [, kind, id] = t.local(subject).split('.');
      if (kind === 'deliver' && id !== undefined && n > 0 && this.#previous.get(subject) === n && this.#running.has(id)) {
        candidates.push([endpointConsumerName(id), subject, n]);
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
        stored = await this.#storedTasks(counts);
        await this.#sweepGhosts(counts);
        this.#scanFailed = false;
      } catch (err) {
        this.#scanFailed = true;
        this.#o.logger.error({ err }, 'scanning the delivery stream failed');
      }
    }
    const wanted = new Map<string, Shape>();
    for (const endpoint of this.#o.endpoints.values()) {
      wanted.set(endpoint.id, { slots: endpointSlots(endpoint), strict: endpoint.ordering === 'strict' });
    }
    // Tasks of an endpoint that is not configured (deleted, or not yet seen):
    // a small consumer drains them; the handler dead-letters them.
    for (const id of stored?.keys() ?? []) if (!wanted.has(id)) wanted.set(id, { slots: 1, strict: false });
    for (const [id, running] of this.#running) {
      if (!running.failed && sameShape(running, wanted.get(id))) continue;
      // Gone from config: keep draining until a scan shows its subject empty.
      if (!running.failed && !wanted.has(id) && stored === undefined) continue;
      this.#running.delete(id);
      await running.worker.stop();
      if (!wanted.has(id)) await this.#deleteConsumer(id);
    }
    for (const [id, shape] of wanted) {
      if (this.#running.has(id) || this.#stopped) continue;
      await this.#startOne(id, shape);
    }
  }

  async #startOne(id: string, { slots, strict }: Shape): Promise<void> {
    try {
      const entry: { current?: Running } = {};
      const worker = await this.#o.start({
        durable: endpointConsumerName(id),
        filterSubject: this.#o.topology.deliver(id),
        concurrency: slots,
        maxAckPending: slots,
        limiter: this.#o.limiter,
        ...(strict ? { maxDeliver: this.#o.strictMaxDeliver } : {}),
        onFatal: (err) => {
          this.#o.logger.error({ err, endpoint: id }, 'endpoint consumer stopped; it is restarted');
          if (entry.current !== undefined) entry.current.failed = true;
          void this.#enqueue(false);
        },
      });
      entry.current = { worker, slots, strict, failed: false };
      this.#running.set(id, entry.current);
    } catch (err) {
      this.#o.logger.error({ err, endpoint: id }, 'starting the endpoint consumer failed; retried at the next scan');
    }
  }

  async #deleteConsumer(id: string): Promise<void> {
    try {
      await this.#o.jsm.consumers.delete(this.#o.stream, endpointConsumerName(id));
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return;
      this.#o.logger.warn({ err, endpoint: id }, 'deleting the endpoint consumer failed; retried at the next scan');
    }
  }
}
