import { type MsgHdrs, headers as newHeaders } from '@nats-io/transport-node';

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
});

/** The `Nats-Msg-Id` a stage uses for its output: `{event id}:{stage}`. */
export function stageMsgId(eventId: string, stage: string): string {
  return `${eventId}:${stage}`;
}

/**
 * A copy of a message's headers for the next stage: every envelope and
 * `hs-h-*` header, without the `Nats-*` headers JetStream set or read
 * (the caller sets its own `Nats-Msg-Id`).
 */
export function forwardHeaders(source: MsgHdrs | undefined): MsgHdrs {
  const h = newHeaders();
  if (source) {
    for (const [key, values] of source) {
      if (key.length > 5 && key.slice(0, 5).toLowerCase() === 'nats-') continue;
      for (const value of values) h.append(key, value);
    }
  }
  return h;
}

/** First value of a header, or undefined when absent or empty (MsgHdrs.get answers ''). */
export function headerValue(h: MsgHdrs | undefined, name: string): string | undefined {
  const value = h?.get(name);
  return value === undefined || value === '' ? undefined : value;
}
