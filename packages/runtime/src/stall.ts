import { type ConsumerInfo, JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from './logger.ts';

/**
 * Why a consumer is stalled (see {@link judgeConsumer}):
 * - `consumer_missing`: the durable consumer was deleted or is not found;
 * - `consume_ended`: the client's pull loop ended by itself;
 * - `not_delivering`: messages are pending and the consumer may hand them
 *   out (under `max_ack_pending`), but it delivered nothing for the bound;
 * - `ack_pending_lost`: it is held at `max_ack_pending` by unacknowledged
 *   messages its work-queue stream no longer holds (seen on nats-server 2.9
 *   after a crash), so nothing pending is ever delivered;
 * - `paused`: paused through the consumer pause API with messages pending.
 */
export type StallReason = 'consumer_missing' | 'consume_ended' | 'not_delivering' | 'ack_pending_lost' | 'paused';

/** A stall as a worker reports it. */
export interface Stall {
  readonly reason: StallReason;
  /** Human-readable: the counts that made the verdict. */
  readonly detail: string;
  /** When the stall was first seen (ms since the epoch). */
  readonly sinceMs: number;
}

/** A stalled consumer, as `/readyz` lists it. */
export interface StalledConsumer extends Stall {
  readonly stage: string;
  readonly stream: string;
  readonly consumer: string;
}

/**
 * The default stall bound for a consumer with `ackWaitMs`: twice the ack
 * wait, at least 30 s (60 s with the default 30 s ack wait). Longer than the
 * ack wait, so the server has had its own chance to redeliver.
 */
export function defaultStallAfterMs(ackWaitMs: number): number {
  return Math.max(30_000, 2 * ackWaitMs);
}

/** How often a {@link ConsumerWatch} looks at idle consumers: a quarter of the bound, between 250 ms and 15 s. */
export function stallCheckIntervalMs(stallAfterMs: number): number {
  return Math.min(15_000, Math.max(250, Math.floor(stallAfterMs / 4)));
}

/**
 * What {@link judgeConsumer} concludes from one consumer info:
 * - `idle`: nothing is pending (a stall, if any, is over);
 * - `progressing`: something was delivered within the bound (to any replica);
 * - `unknown`: when it last delivered is not known yet (servers before 2.10
 *   have no `last_active`; a second look decides);
 * - `blocked`: messages are pending, nothing was delivered for the bound and
 *   the consumer is at `max_ack_pending`: legitimate (handlers hold the
 *   messages, naks wait out a backoff) unless the stream no longer holds
 *   them, which {@link judgeBlocked} decides;
 * - `stalled`: with why.
 */
export type Judgement =
  | { readonly kind: 'idle' | 'progressing' | 'unknown' | 'blocked' }
  | { readonly kind: 'stalled'; readonly reason: StallReason; readonly detail: string };

/** What {@link judgeConsumer} needs besides the info. */
export interface JudgeOptions {
  /** The client's clock (ms since the epoch). */
  readonly nowMs: number;
  readonly stallAfterMs: number;
  /**
   * Since when (client clock) the consumer's delivered sequence has been at
   * its current value, as the caller saw it; used when the server does not
   * say when it last delivered.
   */
  readonly seqSeenSinceMs?: number;
}

/** The fields of a ConsumerInfo the verdict reads. */
export type ConsumerView = Pick<ConsumerInfo, 'num_pending' | 'num_ack_pending' | 'num_waiting' | 'delivered' | 'created'> & {
  readonly config: Pick<ConsumerInfo['config'], 'max_ack_pending'>;
  readonly paused?: boolean;
  readonly ts?: string;
};

/**
 * When the consumer last delivered a message, on the client's clock: the
 * server's `delivered.last_active` (2.10+) shifted by the skew its `ts`
 * shows; the creation time when it never delivered; undefined when the
 * server does not say (2.9).
 */
export function lastDeliveryMs(info: ConsumerView, nowMs: number): number | undefined {
  const at = info.delivered.consumer_seq > 0 ? serverTime(info.delivered.last_active) : serverTime(info.created);
  if (at === undefined) return undefined;
  const serverNow = serverTime(info.ts);
  return serverNow === undefined ? at : nowMs - Math.max(0, serverNow - at);
}

// The server sends RFC 3339 times; the client's types say nanoseconds.
function serverTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '' || value.startsWith('0001-')) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Decides whether a consumer whose worker has received nothing for the bound
 * is stalled. Pure. In order:
 * 1. nothing pending (`num_pending` 0): `idle`; unacknowledged messages
 *    alone are handlers' or backoffs' business, and new work would be pending;
 * 2. paused: `stalled` (`paused`);
 * 3. delivered within the bound: `progressing`; not known: `unknown`;
 * 4. at `max_ack_pending`: `blocked` (see {@link judgeBlocked});
 * 5. otherwise the server has work and room but hands nothing out:
 *    `stalled` (`not_delivering`), whether or not a pull request waits.
 */
export function judgeConsumer(info: ConsumerView, options: JudgeOptions): Judgement {
  if (info.num_pending <= 0) return { kind: 'idle' };
  const counts = `${info.num_pending} pending, ${info.num_ack_pending} ack pending (max ${info.config.max_ack_pending ?? 'unset'}), ${info.num_waiting} pull requests waiting`;
  if (info.paused === true) return { kind: 'stalled', reason: 'paused', detail: `paused with ${counts}` };
  const last = lastDeliveryMs(info, options.nowMs) ?? options.seqSeenSinceMs;
  if (last === undefined) return { kind: 'unknown' };
  const quietMs = options.nowMs - last;
  if (quietMs < options.stallAfterMs) return { kind: 'progressing' };
  const max = info.config.max_ack_pending ?? 0;
  if (max > 0 && info.num_ack_pending >= max) return { kind: 'blocked' };
  return { kind: 'stalled', reason: 'not_delivering', detail: `nothing delivered for ${Math.round(quietMs / 1000)} s with ${counts}` };
}

/**
 * Decides a `blocked` consumer of a work-queue stream, given `stored`: the
 * messages the stream holds on the consumer's filter. A work queue holds
 * every pending and every unacknowledged message, so holding fewer means
 * unacknowledged messages that no longer exist keep the consumer at
 * `max_ack_pending`: `stalled` (`ack_pending_lost`). Otherwise `progressing`
 * (the messages are really held or waiting out a nak delay). Pure.
 */
export function judgeBlocked(info: ConsumerView, stored: number): Judgement {
  const expected = info.num_pending + info.num_ack_pending;
  if (stored >= expected) return { kind: 'progressing' };
  return {
    kind: 'stalled',
    reason: 'ack_pending_lost',
    detail: `${info.num_ack_pending} ack pending (max ${info.config.max_ack_pending}) and ${info.num_pending} pending, but the stream holds ${stored} of them: ${expected - stored} no longer exist`,
  };
}

/** One consumer a {@link ConsumerWatch} looks after (a worker). */
export interface WatchedConsumer {
  readonly stage: string;
  readonly stream: string;
  readonly consumer: string;
  /** Since when the worker has had nothing to do (ms since the epoch); undefined while it is busy or recovering. */
  idleSinceMs(): number | undefined;
  /** Takes one look at the consumer's info (undefined: the consumer does not exist). Never throws. */
  observe(info: ConsumerInfo | undefined): Promise<void>;
  /** The current stall, if any. */
  stall(): Stall | undefined;
}

/** Options for {@link ConsumerWatch}. */
export interface ConsumerWatchOptions {
  readonly jsm: JetStreamManager;
  readonly logger: Logger;
  /** A worker idle this long whose consumer has pending work is looked at (see {@link defaultStallAfterMs}). */
  readonly stallAfterMs: number;
  /** How often idle workers are looked at (default {@link stallCheckIntervalMs}). */
  readonly checkIntervalMs?: number;
}

// Up to this many idle consumers of one stream are looked at one by one; more, with one listing.
const LIST_ABOVE = 8;

/**
 * Looks after the consumers of a process's workers: every check interval,
 * the workers that have received nothing for `stallAfterMs` (and hold
 * nothing) have their consumer's info read and judged by the worker
 * ({@link WatchedConsumer.observe}); busy workers cost nothing. Idle
 * consumers of one stream are read one by one up to 8, otherwise with one
 * paged listing of the stream's consumers (256 a page), so a deliver replica
 * with 1,000 idle endpoint consumers makes 4 requests per interval.
 * {@link stalled} is what `/readyz` reports.
 */
export class ConsumerWatch {
  /** The stall bound of the workers it watches. */
  readonly stallAfterMs: number;
  readonly #o: ConsumerWatchOptions;
  readonly #watched = new Set<WatchedConsumer>();
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  #stopped = false;

  constructor(options: ConsumerWatchOptions) {
    this.#o = options;
    this.stallAfterMs = options.stallAfterMs;
  }

  /** Starts watching a consumer; returns the removal. */
  add(consumer: WatchedConsumer): () => void {
    this.#watched.add(consumer);
    if (this.#timer === undefined && !this.#stopped) {
      this.#timer = setInterval(() => void this.check(), this.#o.checkIntervalMs ?? stallCheckIntervalMs(this.stallAfterMs));
      this.#timer.unref();
    }
    return () => {
      this.#watched.delete(consumer);
    };
  }

  /** The watched consumers that are stalled now. */
  stalled(): StalledConsumer[] {
    const out: StalledConsumer[] = [];
    for (const w of this.#watched) {
      const s = w.stall();
      if (s !== undefined) out.push({ stage: w.stage, stream: w.stream, consumer: w.consumer, ...s });
    }
    return out;
  }

  /** One pass over the idle workers (the timer's); resolves when every look is done. Never throws. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Stops the timer; watched workers remove themselves when they stop. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #check(): Promise<void> {
    const now = Date.now();
    const byStream = new Map<string, WatchedConsumer[]>();
    for (const w of this.#watched) {
      const idleSince = w.idleSinceMs();
      if (idleSince === undefined || now - idleSince < this.stallAfterMs) continue;
      const list = byStream.get(w.stream) ?? [];
      list.push(w);
      byStream.set(w.stream, list);
    }
    await Promise.all(
      [...byStream].map(async ([stream, idle]) => {
        try {
          const infos = idle.length > LIST_ABOVE ? await this.#list(stream) : undefined;
          await Promise.all(
            idle.map(async (w) => {
              // A consumer missing from the listing is asked for once more before it counts as gone.
              const info = infos?.get(w.consumer) ?? (await this.#info(stream, w.consumer));
              if (info !== 'unreachable') await w.observe(info);
            }),
          );
        } catch (err) {
          this.#o.logger.warn({ err, stream }, 'reading consumer info to look for stalls failed');
        }
      }),
    );
  }

  async #list(stream: string): Promise<Map<string, ConsumerInfo>> {
    const infos = new Map<string, ConsumerInfo>();
    for await (const info of this.#o.jsm.consumers.list(stream)) infos.set(info.name, info);
    return infos;
  }

  async #info(stream: string, consumer: string): Promise<ConsumerInfo | undefined | 'unreachable'> {
    try {
      return await this.#o.jsm.consumers.info(stream, consumer);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
      this.#o.logger.warn({ err, stream, consumer }, 'reading consumer info to look for stalls failed');
      return 'unreachable';
    }
  }
}
