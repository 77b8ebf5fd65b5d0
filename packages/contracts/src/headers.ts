// Browser-safe (no imports): the console bundle imports this module by its
// own entry, `@hookstream/contracts/headers`.

/**
 * The NATS header names of the hookstream envelope. The body of every message
 * is the sender's raw bytes; everything else travels in these headers.
 * docs/subjects.md describes each one.
 */
/**
 * The headers deliver sets on every POST to a subscriber (Standard Webhooks,
 * plus this request's own id, which ends the attempt's ClickHouse row id).
 * An endpoint's configured headers may not set them (models' endpoint parser).
 */
export const OutboundHeader = Object.freeze({
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
  requestId: 'hookstream-request-id',
} as const);

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
  /** The id of the source secret that verified the signature, set by verify (absent for the `none` scheme). */
  verifiedSecretId: 'hs-verified-secret-id',
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
} as const);

/**
 * Headers deliver adds to a task it puts back on `hs.deliver.{endpoint}`
 * (route's tasks carry none of them). docs/delivery.md explains the design.
 */
export const TaskHeader = Object.freeze({
  /** Attempts already made (absent: 0). */
  attempt: 'hs-attempt',
  /** Epoch ms before which the task must not be attempted (the backoff). */
  notBefore: 'hs-not-before',
  /** How many times a throttled task was put back with the same attempt number. */
  requeues: 'hs-requeues',
} as const);

/** A header name of deliver's progress ({@link TaskHeader}). */
type TaskHeaderName = (typeof TaskHeader)[keyof typeof TaskHeader];

/**
 * Headers deliver adds to a task it puts back (attempts made, backoff due
 * time, throttle requeues), derived from {@link TaskHeader}. A replay drops
 * them: a replayed task starts again at attempt 1.
 */
export const DELIVERY_PROGRESS_HEADERS: readonly TaskHeaderName[] = Object.freeze(Object.values(TaskHeader));

/** The JetStream de-duplication header every publish carries. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** Where {@link deadLetterHeaders} writes: a NATS `MsgHdrs`, or anything with `set`. */
export interface HeaderSink {
  set(name: string, value: string): void;
}

/** Why a dead letter was stored without its body. */
export interface ReducedDeadLetter {
  /** `too_large` or `dead_letter_failed`. */
  readonly reduced: string;
  /** The size of the body left out. */
  readonly bodyBytes: number;
  /** The stream and sequence the message was consumed from. */
  readonly originStream: string;
  readonly originSeq: number;
}

/** What a dead letter says about itself (the `hs-dlq-*` headers). */
export interface DeadLetterFields {
  /** The stage that gave up. */
  readonly stage: string;
  /** A reason from the stage's closed set. */
  readonly reason: string;
  /** Human-readable detail, never a secret; made one line and cut to 2,000 characters. */
  readonly detail?: string | undefined;
  /** The subject the message was consumed from. */
  readonly subject: string;
  /** Epoch ms when it was dead-lettered. */
  readonly atMs: number;
  /** How many times it was delivered to the stage (attempts, for deliver); omitted when the stage does not count. */
  readonly deliveries?: number | undefined;
  /** Set when the dead letter is stored without its body. */
  readonly reduced?: ReducedDeadLetter | undefined;
}

/** Most characters of `hs-dlq-detail`. */
const MAX_DLQ_DETAIL = 2_000;

/** NATS header values cannot hold line breaks: a detail made one line and bounded. Pure. */
function oneLineDetail(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').slice(0, MAX_DLQ_DETAIL);
}

/**
 * Sets the `hs-dlq-*` headers of a dead letter on `h`, in one fixed order
 * (stage, reason, detail, subject, at, deliveries, then the reduced ones).
 * The one builder of dead-letter headers: the worker, deliver and route all
 * call it, and control and dedup read what it writes. Returns `h`. Pure
 * apart from writing to `h`.
 */
export function deadLetterHeaders<H extends HeaderSink>(h: H, fields: DeadLetterFields): H {
  h.set(Header.dlqStage, fields.stage);
  h.set(Header.dlqReason, fields.reason);
  if (fields.detail !== undefined) h.set(Header.dlqDetail, oneLineDetail(fields.detail));
  h.set(Header.dlqSubject, fields.subject);
  h.set(Header.dlqAt, String(fields.atMs));
  if (fields.deliveries !== undefined) h.set(Header.dlqDeliveries, String(fields.deliveries));
  if (fields.reduced !== undefined) {
    h.set(Header.dlqReduced, fields.reduced.reduced);
    h.set(Header.dlqBodyBytes, String(fields.reduced.bodyBytes));
    h.set(Header.dlqOriginStream, fields.reduced.originStream);
    h.set(Header.dlqOriginSeq, String(fields.reduced.originSeq));
  }
  return h;
}

/** Whether a header name is a dead letter's own (`hs-dlq-*`, any case): replays drop them. Pure. */
export function isDeadLetterHeader(name: string): boolean {
  return name.toLowerCase().startsWith('hs-dlq-');
}
