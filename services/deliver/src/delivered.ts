import { createHash } from 'node:crypto';
import { openBucket } from '@hookstream/runtime';
import { jetstreamManager } from '@nats-io/jetstream';
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { DeliveredMarker, DeliveredStore } from './handler.ts';
import type { Task } from './task.ts';

const PLAIN = /^[A-Za-z0-9_-]{1,128}$/;

function token(value: string): string {
  return PLAIN.test(value) ? value : `sha256-${createHash('sha256').update(value).digest('hex')}`;
}

/**
 * The `hs_delivered` key of a delivery: `{endpoint}.{event}`, or
 * `{endpoint}.{event}.{replay}` for a replayed task (the parts of
 * `deliveryKey`). A part that is not 1–128 of `[A-Za-z0-9_-]` (KV keys allow
 * few characters; replay ids may hold `:`) is replaced by `sha256-{hex}` of
 * it. Pure.
 */
export function deliveredKey(eventId: string, endpointId: string, replayId = ''): string {
  const base = `${token(endpointId)}.${token(eventId)}`;
  return replayId === '' ? base : `${base}.${token(replayId)}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A marker as stored (JSON). Pure. */
export function encodeMarker(marker: DeliveredMarker): Uint8Array {
  return encoder.encode(JSON.stringify(marker));
}

/**
 * Reads a stored marker. A value that is not one still marks the delivery
 * as done (the key exists): its fields read as empty. Pure; never throws.
 */
export function decodeMarker(value: Uint8Array): DeliveredMarker {
  try {
    const raw = JSON.parse(decoder.decode(value)) as Partial<Record<keyof DeliveredMarker, unknown>> | null;
    const record = raw?.record;
    return {
      request_id: typeof raw?.request_id === 'string' ? raw.request_id : '',
      attempt: typeof raw?.attempt === 'number' ? raw.attempt : 0,
      at: typeof raw?.at === 'number' ? raw.at : 0,
      // Only a record that is one (a marker written by this version).
      ...(typeof record === 'object' && record !== null && (record as { kind?: unknown }).kind === 'attempt'
        ? { record: record as NonNullable<DeliveredMarker['record']> }
        : {}),
    };
  } catch {
    return { request_id: '', attempt: 0, at: 0 };
  }
}

/** The bucket could not answer a read (no responders, an error status, or no answer in time). */
export class DeliveredReadError extends Error {
  override name = 'DeliveredReadError';
}

/** A marker was not stored: JetStream refused it, nobody answered, or no PubAck came in time. */
export class MarkerWriteError extends Error {
  override name = 'MarkerWriteError';
}

interface PendingRead {
  readonly kind: 'read';
  readonly resolve: (value: Uint8Array | undefined) => void;
  readonly reject: (err: Error) => void;
  readonly deadline: number;
}

interface PendingWrite {
  readonly kind: 'write';
  readonly task: Task;
  readonly marker: DeliveredMarker;
  /** 1 for the first publish. */
  readonly tries: number;
  readonly deadline: number;
}

/** Publishes of one marker before it is reported as not stored ({@link DeliveredBucket}). */
export const MARKER_TRIES = 3;
/** Wait before the n-th republish of a marker: n × this. */
export const MARKER_RETRY_MS = 1_000;

/** Options for {@link DeliveredBucket}. */
export interface DeliveredBucketOptions {
  /** The KV bucket's name (`hs_delivered`, with the namespace prefix). */
  readonly bucket: string;
  /** Its stream's name (`KV_{bucket}`), as {@link openDeliveredBucket} answers it. */
  readonly stream: string;
  /** How long a read or a marker's PubAck may take. */
  readonly timeoutMs: number;
  /** Called (once) for each marker that was not stored after {@link MARKER_TRIES} publishes. */
  readonly onWriteError: (task: Task, marker: DeliveredMarker, err: Error) => void;
  /** Wait before the n-th republish: n × this (default {@link MARKER_RETRY_MS}). */
  readonly retryMs?: number;
}

const decodeText = (data: Uint8Array): string => decoder.decode(data);

/**
 * {@link DeliveredStore} over the `hs_delivered` bucket, with one reply
 * subscription and one sweep timer for every read and write (as runtime's
 * `AckingPublisher`: no per-request timer, inbox or deferred).
 * - `get` reads the key's last value with a direct get
 *   (`$JS.API.DIRECT.GET.{stream}.{subject}`, empty body; nats-server 2.9+,
 *   `allow_direct`): one request, no JSON. With `allow_direct` any replica
 *   answers, so a read may miss a marker written a moment ago on a lagging
 *   follower.
 * - `put` publishes the marker to `$KV.{bucket}.{key}` at once, on the
 *   connection the task's ack then goes out on, and handles the PubAck when
 *   it comes; the ack does not wait for it (docs/delivery.md explains why
 *   waiting would not close any window). A marker JetStream did not store
 *   (an error, no responders, no PubAck in time) is published again, up to
 *   {@link MARKER_TRIES} times in all, `retryMs` × n apart (a KV put of the
 *   same value is idempotent): a cluster electing a leader for the bucket
 *   is the moment acks get lost too.
 */
export class DeliveredBucket implements DeliveredStore {
  readonly #nc: NatsConnection;
  readonly #o: DeliveredBucketOptions;
  readonly #prefix: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<string, PendingRead | PendingWrite>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #retries = new Map<NodeJS.Timeout, PendingWrite>();
  #closed = false;
  #next = 0;

  constructor(nc: NatsConnection, options: DeliveredBucketOptions) {
    this.#nc = nc;
    this.#o = options;
    this.#prefix = `${createInbox()}.`;
    this.#sub = nc.subscribe(`${this.#prefix}*`, { callback: (err, msg) => this.#onReply(err, msg) });
    const timeoutMs = options.timeoutMs;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, Math.min(100, Math.floor(timeoutMs / 10))));
    this.#sweeper.unref();
  }

  /** See {@link DeliveredStore.get}. Rejects with {@link DeliveredReadError}. */
  get(task: Task): Promise<DeliveredMarker | undefined> {
    const token = (this.#next++).toString(36);
    return new Promise<DeliveredMarker | undefined>((resolve, reject) => {
      this.#pending.set(token, {
        kind: 'read',
        resolve: (value) => resolve(value === undefined ? undefined : decodeMarker(value)),
        reject,
        deadline: Date.now() + this.#o.timeoutMs,
      });
      try {
        this.#nc.publish(`$JS.API.DIRECT.GET.${this.#o.stream}.${this.#subject(task)}`, undefined, { reply: this.#prefix + token });
      } catch (err) {
        this.#pending.delete(token);
        reject(new DeliveredReadError('reading the delivered marker failed', { cause: err }));
      }
    });
  }

  /** See {@link DeliveredStore.put}: published now; retried, then reported to `onWriteError`, when not stored. */
  put(task: Task, marker: DeliveredMarker): void {
    this.#write(task, marker, 1);
  }

  #write(task: Task, marker: DeliveredMarker, tries: number): void {
    const token = (this.#next++).toString(36);
    const p: PendingWrite = { kind: 'write', task, marker, tries, deadline: Date.now() + this.#o.timeoutMs };
    this.#pending.set(token, p);
    try {
      this.#nc.publish(this.#subject(task), encodeMarker(marker), { reply: this.#prefix + token });
    } catch (err) {
      this.#pending.delete(token);
      this.#fail(p, `publishing failed: ${(err as Error).message}`);
    }
  }

  /** Reads and markers waiting for their answer or their next publish. */
  get pending(): number {
    return this.#pending.size + this.#retries.size;
  }

  /**
   * Waits (up to the timeout) for the answers to markers already published,
   * then stops the reply subscription: reads still waiting are rejected,
   * markers still unanswered reported as failed. Never throws.
   */
  async close(): Promise<void> {
    const until = Date.now() + this.#o.timeoutMs;
    while (Date.now() < until && [...this.#pending.values()].some((p) => p.kind === 'write')) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#sub.unsubscribe();
    for (const p of this.#pending.values()) this.#fail(p, 'closed before JetStream answered');
    this.#pending.clear();
    for (const [timer, p] of this.#retries) {
      clearTimeout(timer);
      this.#fail(p, 'closed before the marker could be published again');
    }
    this.#retries.clear();
  }

  #subject(task: Task): string {
    return `$KV.${this.#o.bucket}.${deliveredKey(task.eventId, task.endpointId, task.replayId)}`;
  }

  #fail(p: PendingRead | PendingWrite, why: string): void {
    if (p.kind === 'read') {
      p.reject(new DeliveredReadError(why));
    } else if (this.#closed || p.tries >= MARKER_TRIES) {
      this.#o.onWriteError(p.task, p.marker, new MarkerWriteError(`${why} (${p.tries} publishes)`));
    } else {
      const timer = setTimeout(
        () => {
          this.#retries.delete(timer);
          this.#write(p.task, p.marker, p.tries + 1);
        },
        (this.#o.retryMs ?? MARKER_RETRY_MS) * p.tries,
      );
      timer.unref();
      this.#retries.set(timer, p);
    }
  }

  #onReply(err: Error | null, msg: Msg): void {
    if (err) return;
    const token = msg.subject.slice(this.#prefix.length);
    const p = this.#pending.get(token);
    if (p === undefined) return; // late reply after a timeout
    this.#pending.delete(token);
    const code = msg.headers?.code ?? 0;
    if (p.kind === 'read') {
      if (code === 404) p.resolve(undefined);
      else if (code !== 0) p.reject(new DeliveredReadError(`direct get answered ${code} ${msg.headers?.description ?? ''}`.trim()));
      else {
        const op = msg.headers?.get('KV-Operation');
        p.resolve(op === 'DEL' || op === 'PURGE' ? undefined : msg.data);
      }
      return;
    }
    if (code !== 0 || msg.data.length === 0) {
      this.#fail(p, code === 503 ? 'no stream listens on the bucket (no responders)' : `answered ${code}`);
      return;
    }
    const text = decodeText(msg.data);
    // A PubAck is `{"stream":…,"seq":…}`; anything else carries an error.
    if (!text.startsWith('{"stream"')) this.#fail(p, `JetStream refused the marker: ${text.slice(0, 300)}`);
  }

  #sweep(): void {
    const now = Date.now();
    // One timeout for all: insertion order is deadline order.
    for (const [token, p] of this.#pending) {
      if (p.deadline > now) break;
      this.#pending.delete(token);
      this.#fail(p, `no answer within ${this.#o.timeoutMs} ms`);
    }
  }
}

/** Options for {@link openDeliveredBucket}. */
export interface OpenDeliveredBucketOptions {
  readonly replicas: number;
  /** How long a marker is kept: the bucket's `max_age`. */
  readonly ttlMs: number;
}

/**
 * Opens (creating when missing) the `hs_delivered` bucket: one revision per
 * key, `max_age` = `ttlMs`, `allow_direct`. An existing bucket whose
 * `max_age`, history or `allow_direct` differ is updated to these (so a
 * changed `HS_DELIVER_DELIVERED_TTL_MS` takes effect). Resolves to the
 * bucket's stream name; throws on NATS errors.
 */
export async function openDeliveredBucket(nc: NatsConnection, name: string, options: OpenDeliveredBucketOptions): Promise<string> {
  const kv = await openBucket(nc, name, { replicas: options.replicas, history: 1, ttlMs: options.ttlMs });
  const { config } = (await kv.status()).streamInfo;
  const maxAge = options.ttlMs * 1_000_000;
  if (config.max_age !== maxAge || config.max_msgs_per_subject !== 1 || config.allow_direct !== true) {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    await jsm.streams.update(config.name, { ...config, max_age: maxAge, max_msgs_per_subject: 1, allow_direct: true });
  }
  return config.name;
}
