import { type MsgHdrs, headers as newHeaders } from '@nats-io/transport-node';
import { injectTraceContext } from './telemetry.ts';

/**
 * The NATS header names of the hookstream envelope. The body of every message
 * is the sender's raw bytes; everything else travels in these headers.
 * docs/subjects.md describes each one.
 */
export const Header = Object.freeze({
  /** UUIDv7 assigned at ingest; stable through every stage. */
  eventId: 'hs-event-id',
  /** The source id from the ingest URL. */
  source: 'hs-source',
  /** Epoch milliseconds when ingest read the request. */
  receivedAt: 'hs-received-at',
  /** Provider event type, set by verify (from the preset) or validate. */
  eventType: 'hs-event-type',
  /** Provider-level idempotency key, set by dedup. */
  idempotencyKey: 'hs-idempotency-key',
  /** W3C trace context. */
  traceparent: 'traceparent',
  /** Delivery tasks: the endpoint the task is for. */
  endpointId: 'hs-endpoint-id',
  /** Delivery tasks of an endpoint ordered by a key: the lane (0-based) the key hashes to (docs/delivery.md). */
  lane: 'hs-lane',
  /** Prefix of the sender's captured HTTP headers: `hs-h-{lower-case name}`. */
  httpPrefix: 'hs-h-',
  /** Dead letters: the stage that gave up. */
  dlqStage: 'hs-dlq-stage',
  /** Dead letters: a reason from a closed set per stage. */
  dlqReason: 'hs-dlq-reason',
  /** Dead letters: human-readable detail (an error message, never a secret). */
  dlqDetail: 'hs-dlq-detail',
  /** Dead letters: the subject the message was consumed from. */
  dlqSubject: 'hs-dlq-subject',
  /** Dead letters: epoch milliseconds when it was dead-lettered. */
  dlqAt: 'hs-dlq-at',
  /** Dead letters: how many times it was delivered to the stage. */
  dlqDeliveries: 'hs-dlq-deliveries',
  /**
   * Reduced dead letters (stored without the body, which could not be
   * dead-lettered as it was): why, `too_large` or `dead_letter_failed`.
   */
  dlqReduced: 'hs-dlq-reduced',
  /** Reduced dead letters: the size of the body left out. */
  dlqBodyBytes: 'hs-dlq-body-bytes',
  /** Reduced dead letters: the stream and sequence the message was consumed from (verify's is the raw archive). */
  dlqOriginStream: 'hs-dlq-origin-stream',
  dlqOriginSeq: 'hs-dlq-origin-seq',
  /**
   * Replays: which replay this message belongs to (`dlq-{sequence}` for a
   * dead letter, the request id of a ReplayToEndpoint). Deliver keys its
   * put-backs, attempt records and dead letters by it, so a replay never
   * collides with the original delivery's ids (docs/delivery.md).
   */
  replay: 'hs-replay',
  /** Replays: epoch ms of the replay; a replayed delivery task's retry window starts here. */
  replayedAt: 'hs-replayed-at',
});

/**
 * `{event}:{endpoint}`, or `{event}:{endpoint}:{replay}` for a replayed
 * delivery (`hs-replay`): the stem of every id deliver derives for a task —
 * put-backs, attempt and skip records (analytics' `row_id`s) and its dead
 * letter — so a replay never collides with the original delivery. Pure.
 */
export function deliveryKey(eventId: string, endpointId: string, replayId = ''): string {
  return replayId === '' ? `${eventId}:${endpointId}` : `${eventId}:${endpointId}:${replayId}`;
}

/**
 * Headers deliver adds to a task it puts back (attempts made, backoff due
 * time, throttle requeues). A replay drops them: a replayed task starts
 * again at attempt 1.
 */
export const DELIVERY_PROGRESS_HEADERS: readonly string[] = Object.freeze(['hs-attempt', 'hs-not-before', 'hs-requeues']);

/**
 * Headers for a replayed message: `source`'s without the `Nats-*` ones,
 * the dead-letter ones (`hs-dlq-*`), deliver's progress
 * ({@link DELIVERY_PROGRESS_HEADERS}) and an earlier replay's, plus
 * `hs-replay` and `hs-replayed-at`. Pure.
 */
export function replayedHeaders(source: Iterable<[string, string[]]> | undefined, replayId: string, nowMs: number): MsgHdrs {
  const h = newHeaders();
  const drop = new Set([...DELIVERY_PROGRESS_HEADERS, Header.replay, Header.replayedAt]);
  for (const [key, values] of source ?? []) {
    const lower = key.toLowerCase();
    if (lower.startsWith('nats-') || lower.startsWith('hs-dlq-') || drop.has(lower)) continue;
    for (const value of values) h.append(key, value);
  }
  h.set(Header.replay, replayId);
  h.set(Header.replayedAt, String(nowMs));
  return h;
}

/** The `Nats-Msg-Id` a stage uses for its output: `{event id}:{stage}`. */
export function stageMsgId(eventId: string, stage: string): string {
  return `${eventId}:${stage}`;
}

/**
 * A copy of a message's headers for the next stage: every envelope and
 * `hs-h-*` header, without the `Nats-*` headers JetStream set or read
 * (the caller sets its own `Nats-Msg-Id`), and with `traceparent` naming the
 * active span (the stage's) as the next stage's parent.
 */
export function forwardHeaders(source: MsgHdrs | undefined): MsgHdrs {
  const h = newHeaders();
  if (source) {
    for (const [key, values] of source) {
      if (key.length > 5 && key.slice(0, 5).toLowerCase() === 'nats-') continue;
      for (const value of values) h.append(key, value);
    }
  }
  injectTraceContext(h);
  return h;
}

/** First value of a header, or undefined when absent or empty (MsgHdrs.get answers ''). */
export function headerValue(h: MsgHdrs | undefined, name: string): string | undefined {
  const value = h?.get(name);
  return value === undefined || value === '' ? undefined : value;
}

/**
 * A message as a stage's handler sees it: subject, raw body, a header
 * lookup (first value, undefined when absent), and the headers themselves
 * for copying onto the next stage's message. Handlers take this, not a
 * JsMsg, so their unit tests need no NATS.
 */
export interface StageMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly header: (name: string) => string | undefined;
  readonly headers?: MsgHdrs;
}

/** Wraps a consumed message (a JsMsg or anything with subject, data, headers) as a {@link StageMessage}. */
export function stageMessage(m: {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers?: MsgHdrs | undefined;
}): StageMessage {
  const h = m.headers;
  return h === undefined
    ? { subject: m.subject, data: m.data, header: () => undefined }
    : { subject: m.subject, data: m.data, header: (name) => headerValue(h, name), headers: h };
}

/** Looks up the sender's captured HTTP header `name` (any case) in a message's `hs-h-*` headers. */
export function senderHeader(msg: Pick<StageMessage, 'header'>): (name: string) => string | undefined {
  return (name) => msg.header(Header.httpPrefix + name.toLowerCase());
}

/** The envelope fields every stage reads, with fallbacks for a message not made by ingest. */
export interface Envelope {
  readonly eventId: string;
  readonly sourceId: string;
  /** `hs-received-at`, or `fallbackNowMs` when absent or invalid. */
  readonly receivedAtMs: number;
}

/** Reads {@link Envelope} from a stage message; the source falls back to the subject's last token. */
export function envelopeOf(msg: Pick<StageMessage, 'header' | 'subject'>, fallbackNowMs: number): Envelope {
  const receivedAt = Number(msg.header(Header.receivedAt));
  return {
    eventId: msg.header(Header.eventId) ?? '',
    sourceId: msg.header(Header.source) ?? msg.subject.split('.').pop() ?? '',
    receivedAtMs: Number.isFinite(receivedAt) && receivedAt > 0 ? receivedAt : fallbackNowMs,
  };
}
