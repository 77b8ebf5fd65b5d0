import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, headers as newHeaders } from '@nats-io/transport-node';
import { Header } from './envelope.ts';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import type { Outcome } from './outcome.ts';

/** Options for {@link startWorker}. */
export interface WorkerOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly logger: Logger;
  /** Stage name: part of DLQ subjects and headers. */
  readonly stage: string;
  readonly stream: string;
  /** Durable consumer name; replicas of a service share it. */
  readonly durable: string;
  readonly filterSubject: string;
  /** The pure decision for one message. Throwing counts as a transient failure. */
  readonly handle: (msg: JsMsg) => Promise<Outcome>;
  /** Subject a dead letter of `msg` goes to, e.g. `hs.dlq.verify.{source}`. */
  readonly deadLetterSubject: (msg: JsMsg) => string;
  /** Deliveries after which a message is a poison message and is dead-lettered. */
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  /** Messages handled at once. */
  readonly concurrency: number;
  /** The consumer's `max_ack_pending` (default `max(4 × concurrency, 64)`): in flight across every replica. */
  readonly maxAckPending?: number;
  /** A limit shared with other workers of the process: a message is handled only while holding one of its permits. */
  readonly limiter?: Limiter;
  /** Delay before redelivery after a thrown error, by delivery count (1-based). */
  readonly retryDelayMs?: (deliveryCount: number) => number;
  /** Called when the worker can no longer consume; the service reports unhealthy. */
  readonly onFatal?: (err: Error) => void;
}

/** A running consumer loop. */
export interface Worker {
  /** Stops pulling, waits for in-flight messages to settle. Never throws. */
  stop(): Promise<void>;
  /** False once the consume loop has failed for good. */
  healthy(): boolean;
  /** Messages settled so far, by outcome kind. */
  readonly counts: Readonly<Record<'ack' | 'nak' | 'term' | 'error', number>>;
}

/**
 * Permits shared by several workers (deliver runs one per endpoint): at most
 * `size` messages handled at once in the process. FIFO.
 */
export class Limiter {
  readonly #size: number;
  #used = 0;
  readonly #queue: (() => void)[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Resolves once a permit is held; call {@link release} exactly once after. */
  acquire(): Promise<void> | undefined {
    if (this.#used < this.#size) {
      this.#used++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  /** Gives a permit back (to the longest waiter, if any). */
  release(): void {
    const next = this.#queue.shift();
    if (next !== undefined) next();
    else this.#used--;
  }

  /** Permits held now. */
  get used(): number {
    return this.#used;
  }
}

/** Exponential 1 s, 2 s, 4 s … capped at 60 s. */
export const defaultRetryDelayMs = (deliveryCount: number): number => Math.min(60_000, 1_000 * 2 ** Math.max(0, deliveryCount - 1));

/** What {@link ensureDurableConsumer} sets up. */
export interface DurableConsumerOptions {
  readonly stream: string;
  readonly durable: string;
  readonly filterSubject: string;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

/**
 * Creates a durable pull consumer (explicit acks, from the start of the
 * stream, unlimited deliveries: callers bound redelivery themselves), or
 * brings an existing one's ack wait, max deliver and max ack pending up to
 * date. Replicas of a service call it concurrently; both paths are safe.
 * Throws on NATS errors.
 */
export async function ensureDurableConsumer(jsm: JetStreamManager, options: DurableConsumerOptions): Promise<void> {
  const settings = { ack_wait: nanos(options.ackWaitMs), max_deliver: -1, max_ack_pending: options.maxAckPending };
  try {
    await jsm.consumers.info(options.stream, options.durable);
    await jsm.consumers.update(options.stream, options.durable, settings);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(options.stream, {
      durable_name: options.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: options.filterSubject,
      ...settings,
    });
  }
}

/**
 * Creates (or updates) the durable pull consumer and starts handling
 * messages, at most `concurrency` at once. Each handler outcome is settled by
 * {@link settle}: ack, nak with a delay, or dead-letter then term. A message
 * delivered more than `maxDeliver` times is dead-lettered without running the
 * handler again (a crash loop on one message cannot stall the stage).
 * Resolves once consuming has begun; throws when the consumer cannot be made.
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { js, jsm, logger } = options;
  // Redelivery is bounded by the worker (it dead-letters), not by the
  // server, which would leave an exhausted message stuck in a work queue.
  await ensureDurableConsumer(jsm, {
    stream: options.stream,
    durable: options.durable,
    filterSubject: options.filterSubject,
    ackWaitMs: options.ackWaitMs,
    maxAckPending: options.maxAckPending ?? Math.max(options.concurrency * 4, 64),
  });
  const consumer = await js.consumers.get(options.stream, options.durable);
  // Never buffer more than the server would let be unacknowledged anyway.
  const buffer = Math.max(1, Math.min(Math.max(options.concurrency * 2, 16), options.maxAckPending ?? Number.POSITIVE_INFINITY));
  const messages = await consumer.consume({ max_messages: buffer });
  const holds = new Holds();

  const counts = { ack: 0, nak: 0, term: 0, error: 0 };
  let healthy = true;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const waitForSlot = async (): Promise<void> => {
    while (inFlight >= options.concurrency) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  const release = (): void => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  };

  const processOne = async (msg: JsMsg): Promise<void> => {
    const waiting = options.limiter?.acquire();
    if (waiting !== undefined) await keepAlive(msg, waiting, options.ackWaitMs);
    try {
      await handleOne(msg);
    } finally {
      options.limiter?.release();
    }
  };

  const handleOne = async (msg: JsMsg): Promise<void> => {
    const startedAt = performance.now();
    let outcome: Outcome;
    const deliveries = msg.info.deliveryCount;
    if (deliveries > options.maxDeliver) {
      outcome = { kind: 'term', reason: 'max_deliver_exceeded', detail: `delivered ${deliveries} times without completing` };
    } else {
      try {
        outcome = await options.handle(msg);
      } catch (err) {
        counts.error++;
        metrics.stageMessages.inc({ stage: options.stage, outcome: 'error' });
        logger.error({ err, subject: msg.subject, seq: msg.seq, deliveries }, 'handler threw');
        outcome =
          deliveries >= options.maxDeliver
            ? { kind: 'term', reason: 'handler_error', detail: (err as Error).message }
            : { kind: 'nak', delayMs: (options.retryDelayMs ?? defaultRetryDelayMs)(deliveries) };
      }
    }
    await settle(msg, outcome, {
      js,
      logger,
      stage: options.stage,
      deadLetterSubject: options.deadLetterSubject,
      hold: (ms) => holds.hold(msg, ms, options.ackWaitMs),
    });
    counts[outcome.kind]++;
    metrics.stageMessages.inc({ stage: options.stage, outcome: outcome.kind });
    metrics.stageDuration.observe({ stage: options.stage }, (performance.now() - startedAt) / 1000);
  };

  const loop = (async () => {
    for await (const msg of messages) {
      await waitForSlot();
      inFlight++;
      processOne(msg)
        .catch((err: unknown) => logger.error({ err, subject: msg.subject }, 'settling a message failed'))
        .finally(release);
    }
  })().catch((err: unknown) => {
    healthy = false;
    logger.error({ err, stage: options.stage }, 'consume loop failed');
    options.onFatal?.(err as Error);
  });

  return {
    counts,
    healthy: () => healthy,
    stop: async () => {
      messages.stop();
      holds.releaseAll();
      await loop;
      while (inFlight > 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

/** What {@link settle} needs besides the message and outcome. */
export interface SettleDeps {
  readonly js: JetStreamClient;
  readonly logger: Logger;
  readonly stage: string;
  readonly deadLetterSubject: (msg: JsMsg) => string;
  /** Waits out an ack's `holdMs` (default: no wait). */
  readonly hold?: (ms: number) => Promise<void>;
}

// Tells the server a message is still being worked on while `until` is pending,
// so a long wait (a shared permit, a held ack) never outlives the ack wait.
async function keepAlive(msg: JsMsg, until: Promise<void>, ackWaitMs: number): Promise<void> {
  const timer = setInterval(() => msg.working(), Math.max(500, Math.floor(ackWaitMs / 3)));
  try {
    await until;
  } finally {
    clearInterval(timer);
  }
}

/** Acks held back by `holdMs`; a stopping worker acks them at once. */
class Holds {
  readonly #pending = new Set<() => void>();
  #stopped = false;

  hold(msg: JsMsg, ms: number, ackWaitMs: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    let release: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => release(), ms);
      release = () => {
        clearTimeout(timer);
        this.#pending.delete(release);
        resolve();
      };
      this.#pending.add(release);
    });
    return keepAlive(msg, done, ackWaitMs);
  }

  releaseAll(): void {
    this.#stopped = true;
    for (const release of [...this.#pending]) release();
  }
}

/**
 * Applies an outcome to a message: `ack` acks (after `holdMs`, through `deps.hold`); `nak` naks with its delay;
 * `term` first publishes the message to the DLQ with the reason (and waits
 * for JetStream's ack), then terms it. If the dead-letter publish fails the
 * message is nak'ed instead, so it is never dropped. Never throws.
 */
export async function settle(msg: JsMsg, outcome: Outcome, deps: SettleDeps): Promise<void> {
  switch (outcome.kind) {
    case 'ack':
      if (outcome.holdMs !== undefined && outcome.holdMs > 0 && deps.hold !== undefined) await deps.hold(outcome.holdMs);
      msg.ack();
      return;
    case 'nak':
      msg.nak(Math.max(0, Math.round(outcome.delayMs)));
      return;
    case 'term':
      try {
        await publishDeadLetter(deps.js, msg, deps.deadLetterSubject(msg), deps.stage, outcome.reason, outcome.detail);
        // No reason on the term: nats-server 2.9 does not parse `+TERM reason`
        // and would leave the message in a work queue. The DLQ copy has it.
        msg.term();
        deps.logger.warn({ subject: msg.subject, reason: outcome.reason, detail: outcome.detail }, 'dead-lettered');
      } catch (err) {
        deps.logger.error({ err, subject: msg.subject }, 'dead-letter publish failed; will retry');
        msg.nak(5_000);
      }
      return;
  }
}

/**
 * Publishes a copy of `msg` (body and headers untouched) with the
 * `hs-dlq-*` headers to `subject`, resolving on JetStream's ack. The
 * `Nats-Msg-Id` is derived from the event id (or the stream sequence) and
 * the subject, so a repeated dead-lettering of the same message is stored once.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  msg: JsMsg,
  subject: string,
  stage: string,
  reason: string,
  detail: string | undefined,
): Promise<void> {
  const h = newHeaders();
  if (msg.headers) {
    for (const [key, values] of msg.headers) {
      if (key.toLowerCase().startsWith('nats-')) continue;
      for (const value of values) h.append(key, value);
    }
  }
  h.set(Header.dlqStage, stage);
  h.set(Header.dlqReason, reason);
  if (detail !== undefined) h.set(Header.dlqDetail, oneLine(detail));
  h.set(Header.dlqSubject, msg.subject);
  h.set(Header.dlqAt, String(Date.now()));
  h.set(Header.dlqDeliveries, String(msg.info.deliveryCount));
  const eventId = msg.headers?.get(Header.eventId);
  // Keyed by the DLQ subject too: one event can die at one stage for several
  // endpoints (deliver), and each copy must be kept.
  const msgID = eventId ? `${eventId}:dlq:${subject}` : `${msg.info.stream}:${msg.seq}:dlq:${subject}`;
  await js.publish(subject, msg.data, { headers: h, msgID, timeout: 5_000 });
}

// NATS header values cannot hold line breaks; keep detail readable and bounded.
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').slice(0, 2_000);
}
