import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** The stream's acknowledgement of a stored message. */
export interface PubAck {
  readonly stream: string;
  readonly seq: number;
  /** True when the stream had already stored this `Nats-Msg-Id` (a repeat). */
  readonly duplicate: boolean;
}

/** The stream refused the message, or no stream listens on the subject. */
export class PublishError extends Error {
  override name = 'PublishError';
  /** JetStream error code, 503 for no responders, 0 when unknown. */
  readonly code: number;
  constructor(message: string, code: number, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The message (headers and body together) is over the NATS server's
 * `max_payload`, or over a stream's message size limit: publishing it again
 * cannot succeed. Nothing was stored.
 */
export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError';
}

// JetStream's "message size exceeds maximum allowed" (a stream's max_msg_size).
const JS_MESSAGE_TOO_LARGE = 10054;

/**
 * Whether `err` says the message is too large to publish anywhere as it is:
 * {@link PayloadTooLargeError}, the NATS client's `max_payload` check, or
 * JetStream's message size limit. Pure.
 */
export function isPayloadTooLarge(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof PayloadTooLargeError) return true;
  if (err instanceof PublishError) return err.code === JS_MESSAGE_TOO_LARGE;
  const code = (err as { code?: unknown }).code;
  if (err.name === 'JetStreamApiError' && code === JS_MESSAGE_TOO_LARGE) return true;
  return /max_payload|maximum payload/i.test(err.message);
}

/** No acknowledgement arrived within the deadline; the message may or may not be stored. */
export class PublishTimeoutError extends Error {
  override name = 'PublishTimeoutError';
}

interface Pending {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (err: Error) => void;
  readonly deadline: number;
}

/**
 * Publishes to JetStream and waits for the PubAck, over one shared reply
 * subscription and one sweep timer instead of a timer, a deferred and two
 * pre-built Error objects per message (the client's `js.publish`). Same
 * semantics: resolves with the PubAck, rejects with {@link PublishError} or
 * {@link PublishTimeoutError}. Used on ingest's hot path.
 */
export class AckingPublisher {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #prefix: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<string, Pending>();
  readonly #sweeper: NodeJS.Timeout;
  #next = 0;
  #queue: { token: string; subject: string; data: Uint8Array; headers: MsgHdrs }[] = [];
  #scheduled = false;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#prefix = `${createInbox()}.`;
    this.#sub = nc.subscribe(`${this.#prefix}*`, { callback: (err, msg) => this.#onReply(err, msg) });
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, Math.min(100, Math.floor(timeoutMs / 10))));
    this.#sweeper.unref();
  }

  /**
   * Publishes `data` with `headers` (which should carry `Nats-Msg-Id`) and
   * resolves on the PubAck. Publishes made in one event-loop turn go out in
   * one socket write (the client would otherwise write once per message).
   * Rejects with {@link PayloadTooLargeError} when headers and body are over
   * the server's `max_payload` (or the stream's size limit: then a
   * {@link PublishError} that {@link isPayloadTooLarge} recognises).
   */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAck> {
    const token = (this.#next++).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { resolve, reject, deadline: Date.now() + this.#timeoutMs });
      this.#queue.push({ token, subject, data, headers });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const q of queue) {
      try {
        this.#nc.publish(q.subject, q.data, { reply: this.#prefix + q.token, headers: q.headers });
      } catch (err) {
        const pending = this.#pending.get(q.token);
        this.#pending.delete(q.token);
        pending?.reject(
          isPayloadTooLarge(err)
            ? new PayloadTooLargeError(`message of ${q.data.length} body bytes plus headers is over the server's max_payload`, {
                cause: err,
              })
            : (err as Error),
        );
      }
    }
  };

  /** Requests waiting for their acknowledgement. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Stops the reply subscription; waiting publishes are rejected. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sub.unsubscribe();
    for (const p of this.#pending.values()) p.reject(new PublishTimeoutError('publisher closed'));
    this.#pending.clear();
  }

  #onReply(err: Error | null, msg: Msg): void {
    if (err) return;
    const token = msg.subject.slice(this.#prefix.length);
    const pending = this.#pending.get(token);
    if (pending === undefined) return; // late reply after a timeout
    this.#pending.delete(token);
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      pending.reject(new PublishError('no stream listens on this subject (no responders)', 503));
      return;
    }
    try {
      const reply = JSON.parse(new TextDecoder().decode(msg.data)) as {
        stream?: string;
        seq?: number;
        duplicate?: boolean;
        error?: { code?: number; err_code?: number; description?: string };
      };
      if (reply.error !== undefined) {
        pending.reject(new PublishError(reply.error.description ?? 'publish refused', reply.error.err_code ?? reply.error.code ?? 0));
      } else if (typeof reply.stream === 'string' && typeof reply.seq === 'number') {
        pending.resolve({ stream: reply.stream, seq: reply.seq, duplicate: reply.duplicate === true });
      } else {
        pending.reject(new PublishError('invalid PubAck', 0));
      }
    } catch (cause) {
      pending.reject(new PublishError('unparseable PubAck', 0, { cause }));
    }
  }

  #sweep(): void {
    const now = Date.now();
    // Insertion order is deadline order (one timeout for all), so stop at
    // the first entry still in time.
    for (const [token, p] of this.#pending) {
      if (p.deadline > now) break;
      this.#pending.delete(token);
      p.reject(new PublishTimeoutError(`no PubAck within ${this.#timeoutMs} ms`));
    }
  }
}
