import { DELIVERY_PROGRESS_HEADERS, Header, isDeadLetterHeader } from '@hookstream/contracts';
import { type MsgHdrs, headers as newHeaders } from '@nats-io/transport-node';
import { injectTraceContext } from './telemetry.ts';

/**
 * Headers for a replayed message: `source`'s without the `Nats-*` ones,
 * the dead-letter ones (`hs-dlq-*`), deliver's progress
 * ({@link DELIVERY_PROGRESS_HEADERS}) and an earlier replay's, plus
 * `hs-replay` and `hs-replayed-at`. Pure.
 */
export function replayedHeaders(source: Iterable<[string, string[]]> | undefined, replayId: string, nowMs: number): MsgHdrs {
  const h = newHeaders();
  const drop = new Set<string>([...DELIVERY_PROGRESS_HEADERS, Header.replay, Header.replayedAt]);
  for (const [key, values] of source ?? []) {
    const lower = key.toLowerCase();
    if (lower.startsWith('nats-') || isDeadLetterHeader(lower) || drop.has(lower)) continue;
    for (const value of values) h.append(key, value);
  }
  h.set(Header.replay, replayId);
  h.set(Header.replayedAt, String(nowMs));
  return h;
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
