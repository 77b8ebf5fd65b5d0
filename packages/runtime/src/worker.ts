import { deadLetterHeaders, deadLetterMsgId, Header } from '@hookstream/contracts';
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
} from '@nats-io/jetstream';
import { errors, nanos, headers as newHeaders } from '@nats-io/transport-node';
import type { Logger } from './logger.ts';
import { metrics } from './metrics.ts';
import type { Outcome } from './outcome.ts';
import { isPayloadTooLarge } from './publisher.ts';
import { ConsumerWatch, defaultStallAfterMs, type Judgement, judgeBlocked, judgeConsumer, type Stall, type StallReason } from './stall.ts';

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
  /** Delays when a dead letter cannot be stored (see {@link settle}); tests shorten them. */
  readonly deadLetterDelays?: DeadLetterDelays;
  /**
   * Looks after the consumer for stalls and lists them (buildStage passes
   * the stage's, so they show on its `/readyz`). Default: one of the
   * worker's own with {@link defaultStallAfterMs} of `ackWaitMs`, stopped
   * with the worker.
   */
  readonly watch?: ConsumerWatch;
}

/** A running consumer loop. */
export interface Worker {
  /** Stops pulling, waits for in-flight messages to settle. Never throws. */
  stop(): Promise<void>;
  /** False once the consume loop has failed for good. */
  healthy(): boolean;
  /**
   * Messages settled so far: acked, nak'ed (a dead letter that could not be
   * stored counts here: it was nak'ed), termed (only once its dead letter is
   * stored, whole or reduced), and handler errors.
   */
  readonly counts: Readonly<Record<'ack' | 'nak' | 'term' | 'error', number>>;
  /** Dead letters by what became of them ({@link Settled}); absent on a group of workers. */
  readonly deadLetters?: Readonly<Record<'whole' | 'reduced' | 'retried' | 'stuck', number>>;
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
 *
 * The worker looks after its consumer (see {@link ConsumerWatch}): when the
 * client says the consumer was deleted or is not found, when the pull loop
 * ends by itself, or when the worker has received nothing for the stall
 * bound while the consumer has pending work it does not hand out
 * ({@link judgeConsumer}), the consumer is stalled: logged, shown by the
 * watch (`/readyz`) and by `hookstream_consumer_stalled`, and recovered:
 * 1. a fresh pull (a new consume, so a new pull request), re-creating the
 *    durable consumer if it is gone: its last known config, starting after
 *    its last known ack floor;
 * 2. still not delivering one bound later, or held by unacknowledged
 *    messages the stream no longer has: the consumer is deleted and
 *    re-created, then pulled afresh;
 * 3. a paused consumer is only shown: resuming is an operator's call.
 * Each recovery is counted in `hookstream_consumer_recoveries_total`; the
 * next waits twice as long (from the bound, up to 10 min). The stall ends
 * when a message arrives or the consumer has nothing pending.
 * Resolves once consuming has begun; throws when the consumer cannot be made.
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { js, jsm, logger } = options;
  const maxAckPending = options.maxAckPending ?? Math.max(options.concurrency * 4, 64);
  // Redelivery is bounded by the worker (it dead-letters), not by the
  // server, which would leave an exhausted message stuck in a work queue.
  await ensureDurableConsumer(jsm, {
    stream: options.stream,
    durable: options.durable,
    filterSubject: options.filterSubject,
    ackWaitMs: options.ackWaitMs,
    maxAckPending,
  });
  // Never buffer more than the server would let be unacknowledged anyway.
  const buffer = Math.max(1, Math.min(Math.max(options.concurrency * 2, 16), options.maxAckPending ?? Number.POSITIVE_INFINITY));
  const watch = options.watch ?? new ConsumerWatch({ jsm, logger, stallAfterMs: defaultStallAfterMs(options.ackWaitMs) });
  const labels = { stage: options.stage, consumer: options.durable };
  const where = { stage: options.stage, stream: options.stream, consumer: options.durable };
  const holds = new Holds();

  // What re-creating the consumer needs: its config and how far it got.
  let consumerConfig: ConsumerConfig | undefined;
  let ackFloorSeq = 0;
  const remember = (info: ConsumerInfo): void => {
    consumerConfig = info.config;
    ackFloorSeq = Math.max(ackFloorSeq, info.ack_floor.stream_seq);
  };
  const open = async (): Promise<{ messages: ConsumerMessages; info: ConsumerInfo }> => {
    const consumer = await js.consumers.get(options.stream, options.durable);
    const info = await consumer.info(true);
    remember(info);
    return { messages: await consumer.consume({ max_messages: buffer }), info };
  };
  let current = (await open()).messages;

  const counts = { ack: 0, nak: 0, term: 0, error: 0 };
  const deadLetters = { whole: 0, reduced: 0, retried: 0, stuck: 0 };
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
  // When the worker last received or finished a message, or was (re)opened.
  let lastActiveMs = Date.now();
  const release = (): void => {
    inFlight--;
    if (inFlight === 0) lastActiveMs = Date.now();
    const w = wake;
    wake = undefined;
    w?.();
  };

  // Stall state (see the doc comment above).
  let stopped = false;
  let recovering = false;
  let requested: RecoveryAction | undefined;
  let stall: Stall | undefined;
  let recoveries = 0;
  let nextRecoveryMs = 0;
  let seen: { seq: number; sinceMs: number } | undefined;
  // When the stream was last counted for a blocked consumer (see judgeStored).
  let storedCountedMs = 0;
  let sleeper: (() => void) | undefined;

  const setStall = (reason: StallReason, detail: string): void => {
    if (stall?.reason !== reason) logger.warn({ ...where, reason, detail }, 'consumer stalled: pending work is not delivered');
    stall = { reason, detail, sinceMs: stall?.sinceMs ?? Date.now() };
    metrics.consumerStalled.set(labels, 1);
  };
  const clearStall = (why: string): void => {
    if (stall === undefined) return;
    logger.info({ ...where, reason: stall.reason, stalledMs: Date.now() - stall.sinceMs, recoveries, why }, 'consumer no longer stalled');
    stall = undefined;
    recoveries = 0;
    nextRecoveryMs = 0;
    metrics.consumerStalled.set(labels, 0);
  };
  // Asks the loop to end the current pull and recover; a no-op while backing off (a later look asks again).
  const recover = (action: RecoveryAction): void => {
    if (stopped || recovering || Date.now() < nextRecoveryMs) return;
    recovering = true;
    requested = action;
    current.stop();
  };
  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        sleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleeper = done;
    });

  const followStatus = (messages: ConsumerMessages): void => {
    void (async () => {
      for await (const s of messages.status()) {
        if (messages !== current || stopped) break;
        switch (s.type) {
          case 'consumer_deleted':
            setStall('consumer_missing', `the server deleted the consumer (${s.code} ${s.description})`);
            recover('repull');
            break;
          case 'consumer_not_found':
            setStall('consumer_missing', `the consumer is not found (${s.count} tries)`);
            recover('repull');
            break;
          case 'heartbeats_missed':
            // The client pulls afresh by itself; a stall that outlives it is found by the watch.
            logger.debug({ ...where, missed: s.count }, 'pull heartbeats missed');
            break;
          case 'exceeded_limits':
            logger.warn({ ...where, detail: s.description }, 'a pull request exceeded a consumer limit');
            break;
          default:
            break;
        }
      }
    })().catch((err: unknown) => logger.warn({ err, ...where }, 'following the pull status failed'));
  };

  const createFromConfig = async (): Promise<void> => {
    const config: Partial<ConsumerConfig> = { ...consumerConfig };
    delete config.pause_until;
    if (config.metadata !== undefined) {
      // The server's own keys (`_nats.*`) are not ours to set.
      const metadata = Object.fromEntries(Object.entries(config.metadata).filter(([k]) => !k.startsWith('_nats.')));
      if (Object.keys(metadata).length > 0) config.metadata = metadata;
      else delete config.metadata;
    }
    // It resumes after its last known ack floor, not from its original start
    // (on a limits stream such as HS_RAW, `all` would hand out every stored
    // message again): nothing unacknowledged is skipped; messages acked
    // since that floor was read may come again.
    if (ackFloorSeq > 0) {
      config.deliver_policy = DeliverPolicy.StartSequence;
      config.opt_start_seq = ackFloorSeq + 1;
      delete config.opt_start_time;
    }
    try {
      await jsm.consumers.add(options.stream, config);
    } catch (err) {
      // Another replica may have re-created it first (from its own view of the start).
      await jsm.consumers.info(options.stream, options.durable).catch(() => {
        throw err;
      });
      return;
    }
    logger.warn(
      { ...where, deliverPolicy: config.deliver_policy, startSeq: config.opt_start_seq },
      'durable consumer re-created from its last known config',
    );
  };
  const openOrCreate = async (): Promise<{ messages: ConsumerMessages; info: ConsumerInfo }> => {
    try {
      return await open();
    } catch (err) {
      if (!isConsumerNotFound(err)) throw err;
      await createFromConfig();
      return await open();
    }
  };
  // Ends the stall's pull and starts another; retried with backoff until it works or the worker stops.
  const reopen = async (action: RecoveryAction): Promise<ConsumerMessages | undefined> => {
    const reason = stall?.reason ?? 'consume_ended';
    for (let failures = 0; !stopped; failures++) {
      try {
        if (action === 'replace') {
          await jsm.consumers.delete(options.stream, options.durable).catch((err: unknown) => {
            if (!isConsumerNotFound(err)) throw err;
          });
        }
        const { messages, info } = await openOrCreate();
        recoveries++;
        nextRecoveryMs = Date.now() + Math.min(MAX_RECOVERY_BACKOFF_MS, watch.stallAfterMs * 2 ** (recoveries - 1));
        lastActiveMs = Date.now();
        seen = undefined;
        storedCountedMs = 0;
        metrics.consumerRecoveries.inc({ ...labels, reason, outcome: 'ok' });
        logger.warn(
          { ...where, reason, action, detail: stall?.detail, recovery: recoveries, pending: info.num_pending },
          action === 'replace' ? 'stalled consumer deleted, re-created and pulled afresh' : 'stalled consumer pulled afresh',
        );
        if (info.num_pending === 0) clearStall('recovered with nothing pending');
        return messages;
      } catch (err) {
        // The connection is going away for good: the worker fails (the service turns unhealthy).
        if (err instanceof errors.ClosedConnectionError || err instanceof errors.DrainingConnectionError) throw err;
        metrics.consumerRecoveries.inc({ ...labels, reason, outcome: 'failed' });
        logger.error({ err, ...where, reason, action, failures: failures + 1 }, 'recovering a stalled consumer failed; trying again');
        await pause(Math.min(60_000, 1_000 * 2 ** failures));
      }
    }
    return undefined;
  };

  // A work-queue stream holds every pending and unacknowledged message of
  // its consumer: fewer means unacknowledged messages that no longer exist.
  // Judged only when the consumer did not move while the stream was counted.
  const judgeStored = async (info: ConsumerInfo): Promise<Judgement> => {
    const si = await jsm.streams.info(options.stream, { subjects_filter: info.config.filter_subject ?? options.filterSubject });
    if (si.config.retention !== RetentionPolicy.Workqueue) return { kind: 'blocked' };
    const stored = Object.values(si.state.subjects ?? {}).reduce((n, c) => n + c, 0);
    const again = await jsm.consumers.info(options.stream, options.durable);
    const still =
      again.num_pending === info.num_pending &&
      again.num_ack_pending === info.num_ack_pending &&
      again.delivered.consumer_seq === info.delivered.consumer_seq &&
      again.ack_floor.consumer_seq === info.ack_floor.consumer_seq;
    return still ? judgeBlocked(again, stored) : { kind: 'unknown' };
  };
  const observe = async (info: ConsumerInfo | undefined): Promise<void> => {
    if (stopped || recovering || inFlight > 0) return;
    try {
      if (info === undefined) {
        setStall('consumer_missing', 'the consumer does not exist on the server');
        recover('repull');
        return;
      }
      remember(info);
      const now = Date.now();
      // Servers before 2.10 do not say when they last delivered: a delivered sequence that stays put does.
      const since = seen?.seq === info.delivered.consumer_seq ? seen.sinceMs : undefined;
      if (since === undefined) seen = { seq: info.delivered.consumer_seq, sinceMs: now };
      let verdict = judgeConsumer(info, {
        nowMs: now,
        stallAfterMs: watch.stallAfterMs,
        ...(since !== undefined ? { seqSeenSinceMs: since } : {}),
      });
      // A consumer blocked on purpose (deliver's endpoints waiting out backoffs) stays so for long: count its stream now and then.
      if (verdict.kind === 'blocked' && now - storedCountedMs >= STORED_RECOUNT_BOUNDS * watch.stallAfterMs) {
        storedCountedMs = now;
        verdict = await judgeStored(info);
      }
      switch (verdict.kind) {
        case 'stalled':
          setStall(verdict.reason, verdict.detail);
          if (verdict.reason === 'ack_pending_lost' || (verdict.reason === 'not_delivering' && recoveries > 0)) recover('replace');
          else if (verdict.reason !== 'paused') recover('repull');
          break;
        case 'idle':
          clearStall('nothing pending');
          break;
        case 'progressing':
          clearStall('the consumer delivers again');
          break;
        default:
          break;
      }
    } catch (err) {
      logger.warn({ err, ...where }, 'judging whether the consumer is stalled failed');
    }
  };
  const unwatch = watch.add({
    stage: options.stage,
    stream: options.stream,
    consumer: options.durable,
    idleSinceMs: () => (stopped || recovering || inFlight > 0 ? undefined : lastActiveMs),
    observe,
    stall: () => stall,
  });

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
        // Too large to publish onward: no retry can change that.
        outcome = isPayloadTooLarge(err)
          ? { kind: 'term', reason: 'payload_too_large', detail: (err as Error).message }
          : deliveries >= options.maxDeliver
            ? { kind: 'term', reason: 'handler_error', detail: (err as Error).message }
            : { kind: 'nak', delayMs: (options.retryDelayMs ?? defaultRetryDelayMs)(deliveries) };
      }
    }
    const settled = await settle(msg, outcome, {
      js,
      logger,
      stage: options.stage,
      deadLetterSubject: options.deadLetterSubject,
      maxDeliver: options.maxDeliver,
      hold: (ms) => holds.hold(msg, ms, options.ackWaitMs),
      ...(options.deadLetterDelays !== undefined ? { delays: options.deadLetterDelays } : {}),
    });
    switch (settled) {
      case 'ack':
      case 'nak':
        counts[settled]++;
        break;
      case 'term':
        counts.term++;
        deadLetters.whole++;
        break;
      case 'term_reduced':
        counts.term++;
        deadLetters.reduced++;
        break;
      case 'dead_letter_retry':
        counts.nak++;
        deadLetters.retried++;
        break;
      case 'dead_letter_stuck':
        counts.nak++;
        deadLetters.stuck++;
        break;
    }
    metrics.stageMessages.inc({ stage: options.stage, outcome: settled });
    metrics.stageDuration.observe({ stage: options.stage }, (performance.now() - startedAt) / 1000);
  };

  followStatus(current);
  const loop = (async () => {
    for (;;) {
      for await (const msg of current) {
        lastActiveMs = Date.now();
        clearStall('a message arrived');
        await waitForSlot();
        inFlight++;
        processOne(msg)
          .catch((err: unknown) => logger.error({ err, subject: msg.subject }, 'settling a message failed'))
          .finally(release);
      }
      if (stopped) return;
      let action = requested;
      requested = undefined;
      if (action === undefined) {
        setStall('consume_ended', 'the pull loop ended without an error');
        recovering = true;
        action = 'repull';
      }
      const next = await reopen(action);
      recovering = false;
      if (next === undefined) return;
      if (stopped) {
        next.stop();
        return;
      }
      current = next;
      followStatus(next);
    }
  })().catch((err: unknown) => {
    healthy = false;
    unwatch();
    if (options.watch === undefined) watch.stop();
    logger.error({ err, stage: options.stage }, 'consume loop failed');
    options.onFatal?.(err as Error);
  });

  return {
    counts,
    deadLetters,
    healthy: () => healthy,
    stop: async () => {
      stopped = true;
      unwatch();
      if (options.watch === undefined) watch.stop();
      sleeper?.();
      current.stop();
      holds.releaseAll();
      await loop;
      while (inFlight > 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      metrics.consumerStalled.remove(labels);
    },
  };
}

/** How a stalled consumer is recovered: a fresh pull (re-created if gone), or deleted and re-created first. */
type RecoveryAction = 'repull' | 'replace';

/** A blocked consumer's stream is counted again after this many stall bounds (4 min by default). */
const STORED_RECOUNT_BOUNDS = 4;

/** The longest wait between two recoveries of one stalled consumer. */
const MAX_RECOVERY_BACKOFF_MS = 600_000;

function isConsumerNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound;
}

/** How long a message waits when its dead letter could not be stored. */
export interface DeadLetterDelays {
  /** Before the next try while it may still be stored whole (default 5 s). */
  readonly retryMs: number;
  /** Once not even the reduced form could be stored (default 5 min). */
  readonly stuckMs: number;
}

/** Default {@link DeadLetterDelays}. */
export const DEFAULT_DEAD_LETTER_DELAYS: DeadLetterDelays = Object.freeze({ retryMs: 5_000, stuckMs: 300_000 });

/**
 * Deliveries past `maxDeliver` during which a dead letter that cannot be
 * stored whole is retried whole; after them it is stored reduced.
 */
export const DEAD_LETTER_ATTEMPTS = 3;

/** What {@link settle} needs besides the message and outcome. */
export interface SettleDeps {
  readonly js: JetStreamClient;
  readonly logger: Logger;
  readonly stage: string;
  readonly deadLetterSubject: (msg: JsMsg) => string;
  /** The worker's `maxDeliver`: bounds how long a dead letter is retried whole. */
  readonly maxDeliver: number;
  /** Waits out an ack's `holdMs` (default: no wait). */
  readonly hold?: (ms: number) => Promise<void>;
  readonly delays?: DeadLetterDelays;
}

/**
 * What {@link settle} did, as the stage metric counts it:
 * - `ack`, `nak`: as the outcome said;
 * - `term`: dead-lettered whole, then termed;
 * - `term_reduced`: dead-lettered without its body (see {@link publishDeadLetter}), then termed;
 * - `dead_letter_retry`: the dead letter could not be stored; nak'ed, tried again soon;
 * - `dead_letter_stuck`: not even the reduced dead letter could be stored; nak'ed for long.
 */
export type Settled = 'ack' | 'nak' | 'term' | 'term_reduced' | 'dead_letter_retry' | 'dead_letter_stuck';

/**
 * Applies an outcome to a message: `ack` acks (after `holdMs`, through
 * `deps.hold`); `nak` naks with its delay; `term` dead-letters, then terms.
 * The message is termed only once its dead letter is stored, so it is never
 * dropped; and a dead letter that cannot be stored has a way out:
 * 1. it is published whole (body and headers, plus the `hs-dlq-*` headers);
 * 2. when that is too large (`max_payload`, a stream's size limit) or has
 *    failed through {@link DEAD_LETTER_ATTEMPTS} deliveries past `maxDeliver`,
 *    it is published reduced: headers, reason, where it was consumed from
 *    (stream and sequence), no body;
 * 3. while neither applies, the message is nak'ed for `delays.retryMs`;
 *    when even the reduced form fails (the DLQ stream is gone, NATS is down)
 *    it is nak'ed for `delays.stuckMs`, logged as an error and counted as
 *    `dead_letter_stuck`: it stays in its stream (visible as consumer lag)
 *    until the DLQ takes it; dropping it would lose it.
 * Resolves with what was done. Never throws.
 */
export async function settle(msg: JsMsg, outcome: Outcome, deps: SettleDeps): Promise<Settled> {
  switch (outcome.kind) {
    case 'ack':
      if (outcome.holdMs !== undefined && outcome.holdMs > 0 && deps.hold !== undefined) await deps.hold(outcome.holdMs);
      msg.ack();
      return 'ack';
    case 'nak':
      msg.nak(Math.max(0, Math.round(outcome.delayMs)));
      return 'nak';
    case 'term':
      return deadLetterAndTerm(msg, outcome.reason, outcome.detail, deps);
  }
}

async function deadLetterAndTerm(msg: JsMsg, reason: string, detail: string | undefined, deps: SettleDeps): Promise<Settled> {
  const delays = deps.delays ?? DEFAULT_DEAD_LETTER_DELAYS;
  const deliveries = msg.info.deliveryCount;
  // The event id and source let an operator go from a log line to `hs dlq` and the event's trace.
  const where = {
    stage: deps.stage,
    event_id: msg.headers?.get(Header.eventId) ?? '',
    source: msg.headers?.get(Header.source) ?? '',
    subject: msg.subject,
    stream: msg.info.stream,
    seq: msg.info.streamSequence,
    deliveries,
    reason,
  };
  const subject = deps.deadLetterSubject(msg);
  let wholeError: unknown;
  try {
    await publishDeadLetter(deps.js, msg, subject, deps.stage, reason, detail);
    // The reason rides on the term (`+TERM reason`, nats-server >= 2.10.x):
    // the server's MSG_TERMINATED advisory carries it for whoever watches
    // $JS.EVENT.ADVISORY; the DLQ copy has it with the detail too.
    msg.term(reason);
    deps.logger.warn({ ...where, detail }, 'dead-lettered');
    return 'term';
  } catch (err) {
    wholeError = err;
  }
  const tooLarge = isPayloadTooLarge(wholeError);
  if (!tooLarge && deliveries < deps.maxDeliver + DEAD_LETTER_ATTEMPTS) {
    deps.logger.error({ ...where, err: wholeError }, `dead-letter publish failed; will retry in ${delays.retryMs} ms`);
    msg.nak(delays.retryMs);
    return 'dead_letter_retry';
  }
  const why = tooLarge ? 'too_large' : 'dead_letter_failed';
  try {
    await publishDeadLetter(deps.js, msg, subject, deps.stage, reason, detail, {
      reduced: why,
      cause: wholeError instanceof Error ? wholeError.message : String(wholeError),
    });
    msg.term(reason);
    deps.logger.error({ ...where, why, bodyBytes: msg.data.length }, 'dead-lettered without its body (it could not be stored whole)');
    return 'term_reduced';
  } catch (err) {
    deps.logger.error(
      { ...where, err, wholeError },
      `a message can be dead-lettered neither whole nor reduced; it stays in its stream and is tried again in ${delays.stuckMs} ms`,
    );
    msg.nak(delays.stuckMs);
    return 'dead_letter_stuck';
  }
}

/** A dead letter without the body, for {@link publishDeadLetter}. */
export interface ReducedForm {
  /** Why the body is left out: `too_large` or `dead_letter_failed`. */
  readonly reduced: 'too_large' | 'dead_letter_failed';
  /** The error that kept the whole dead letter out. */
  readonly cause: string;
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
 * Publishes a copy of `msg` (body and headers untouched) with the
 * `hs-dlq-*` headers to `subject`, resolving on JetStream's ack. The
 * `Nats-Msg-Id` is derived from the event id (or the stream sequence) and
 * the subject, so a repeated dead-lettering of the same message is stored once
 * (a reduced copy too: a whole copy stored earlier wins).
 * With `reduced`, the body is left out and `hs-dlq-reduced`,
 * `hs-dlq-body-bytes`, `hs-dlq-origin-stream` and `hs-dlq-origin-seq` say why,
 * how much, and where the message was consumed from; with the envelope
 * headers (`hs-event-id`, `hs-source`, `hs-received-at`) they lead to the raw
 * copy in `HS_RAW`. Throws what the publish throws.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  msg: JsMsg,
  subject: string,
  stage: string,
  reason: string,
  detail: string | undefined,
  reduced?: ReducedForm,
): Promise<void> {
  const h = newHeaders();
  if (msg.headers) {
    for (const [key, values] of msg.headers) {
      if (key.toLowerCase().startsWith('nats-')) continue;
      for (const value of values) h.append(key, value);
    }
  }
  const fullDetail = reduced === undefined ? detail : `${detail ?? reason}; stored without its body: ${reduced.cause}`;
  deadLetterHeaders(h, {
    stage,
    reason,
    detail: fullDetail,
    subject: msg.subject,
    atMs: Date.now(),
    deliveries: msg.info.deliveryCount,
    reduced:
      reduced === undefined
        ? undefined
        : { reduced: reduced.reduced, bodyBytes: msg.data.length, originStream: msg.info.stream, originSeq: msg.info.streamSequence },
  });
  const msgID = deadLetterMsgId(msg.headers?.get(Header.eventId), subject, { stream: msg.info.stream, seq: msg.seq });
  await js.publish(subject, reduced === undefined ? msg.data : new Uint8Array(0), { headers: h, msgID, timeout: 5_000 });
}
