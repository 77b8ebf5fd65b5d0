import { Header } from '@hookstream/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';

/**
 * A message that is not a hookstream event (a required envelope header is
 * missing or malformed), or a body that does not decode as asked (`json()`
 * on a non-JSON body, `form()` with a `payload=` that is not JSON).
 * `field` names the header (`hs-event-id` …) or `body`. The consume loop
 * treats it as permanent: retrying cannot fix it.
 */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  /** The header that is missing or malformed, or `body`. */
  readonly field: string;
  /** The subject the message came from. */
  readonly subject: string;

  constructor(field: string, subject: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.field = field;
    this.subject = subject;
  }
}

/** A form-encoded body (`application/x-www-form-urlencoded`) as {@link HookstreamEvent.form} decodes it. */
export interface FormBody<P = unknown> {
  /** Every field, decoded; a repeated field keeps its last value. */
  readonly fields: Readonly<Record<string, string>>;
  /** The `payload` field parsed as JSON (Slack's interactivity and shortcuts), or undefined when there is none. */
  readonly payload: P | undefined;
}

/**
 * One hookstream event as published by route on `events.{source}.{type}`:
 * the envelope headers (docs/subjects.md, "The envelope") typed, and the
 * sender's raw bytes with decoders. Built by {@link parseEvent}.
 */
export interface HookstreamEvent {
  /** `hs-event-id`: UUIDv7 from ingest, stable through every stage. Your idempotency key: redeliveries carry the same id. */
  readonly id: string;
  /** `hs-source`: the source id from `/v1/webhooks/{source}`. */
  readonly source: string;
  /** `hs-event-type`: the provider's event type (`_` when the provider gave none, as in the subject). */
  readonly type: string;
  /** `hs-received-at`: when ingest read the request. */
  readonly receivedAt: Date;
  /** `hs-verified-secret-id`: the source secret that matched, or undefined for the `none` scheme. */
  readonly verifiedSecretId: string | undefined;
  /** `hs-idempotency-key`: the provider-level key dedup used, or undefined when the provider has none. */
  readonly idempotencyKey: string | undefined;
  /**
   * The sender's HTTP headers as captured by ingest (`hs-h-{name}`), keyed by
   * the lower-case name without the prefix (`stripe-signature`,
   * `content-type`); a repeated header's values are joined with `, `.
   */
  readonly providerHeaders: Readonly<Record<string, string>>;
  /** The subject it was consumed from. */
  readonly subject: string;
  /** How many times JetStream has delivered it to this consumer (1 on the first delivery). */
  readonly deliveryCount: number;
  /** The stream sequence of the event. */
  readonly streamSequence: number;
  /** The sender's body, byte for byte (signatures are computed over these bytes). */
  readonly raw: Uint8Array;
  /** The NATS headers as received (for the dead-letter copy). */
  readonly headers: MsgHdrs;
  /** The body as UTF-8 text. */
  text(): string;
  /** The body parsed as JSON. Throws {@link EnvelopeError} (`body`) when it is not JSON. The type is not checked. */
  json<T = unknown>(): T;
  /**
   * The body decoded as `application/x-www-form-urlencoded` (Slack slash
   * commands and interactivity), with `payload` parsed as JSON when present,
   * as Slack sends it. Throws {@link EnvelopeError} (`body`) when `payload`
   * is not JSON.
   */
  form<P = unknown>(): FormBody<P>;
}

/** The part of a JetStream message {@link parseEvent} reads (a JsMsg has all of it). */
export type EventMessage = Pick<JsMsg, 'subject' | 'data' | 'headers'> & {
  readonly info: Pick<JsMsg['info'], 'deliveryCount' | 'streamSequence'>;
};

/** First value of a header, or undefined when absent or empty (MsgHdrs.get answers ''). */
function headerValue(h: MsgHdrs | undefined, name: string): string | undefined {
  const value = h?.get(name);
  return value === undefined || value === '' ? undefined : value;
}

const decoder = new TextDecoder();

/**
 * Reads a JetStream message from `events.>` as a {@link HookstreamEvent}.
 * Pure (decoders run when called). Throws {@link EnvelopeError} naming the
 * header when `hs-event-id`, `hs-source` or `hs-received-at` is missing, or
 * `hs-received-at` is not epoch milliseconds: such a message is not a
 * hookstream event.
 */
export function parseEvent(msg: EventMessage): HookstreamEvent {
  const h = msg.headers;
  const required = (name: string): string => {
    const value = headerValue(h, name);
    if (value === undefined) {
      throw new EnvelopeError(name, msg.subject, `not a hookstream event: header ${name} is missing (subject ${msg.subject})`);
    }
    return value;
  };
  const id = required(Header.eventId);
  const source = required(Header.source);
  const receivedRaw = required(Header.receivedAt);
  const receivedMs = Number(receivedRaw);
  if (!/^\d+$/.test(receivedRaw) || !Number.isSafeInteger(receivedMs)) {
    throw new EnvelopeError(
      Header.receivedAt,
      msg.subject,
      `not a hookstream event: header ${Header.receivedAt} is not epoch milliseconds (${JSON.stringify(receivedRaw.slice(0, 40))})`,
    );
  }
  const providerHeaders: Record<string, string> = {};
  for (const [key, values] of h ?? []) {
    const lower = key.toLowerCase();
    if (!lower.startsWith(Header.httpPrefix)) continue;
    const name = lower.slice(Header.httpPrefix.length);
    const joined = values.join(', ');
    providerHeaders[name] = providerHeaders[name] === undefined ? joined : `${providerHeaders[name]}, ${joined}`;
  }
  const raw = msg.data;
  const subject = msg.subject;
  const parseJson = <T>(text: string, what: string): T => {
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new EnvelopeError('body', subject, `event ${id}: ${what} is not JSON`, { cause: err });
    }
  };
  return Object.freeze({
    id,
    source,
    type: headerValue(h, Header.eventType) ?? '_',
    receivedAt: new Date(receivedMs),
    verifiedSecretId: headerValue(h, Header.verifiedSecretId),
    idempotencyKey: headerValue(h, Header.idempotencyKey),
    providerHeaders: Object.freeze(providerHeaders),
    subject,
    deliveryCount: msg.info.deliveryCount,
    streamSequence: msg.info.streamSequence,
    raw,
    // A message without headers never gets here (required() threw), so h is set.
    headers: h as MsgHdrs,
    text: () => decoder.decode(raw),
    json: <T = unknown>(): T => parseJson<T>(decoder.decode(raw), 'the body'),
    form: <P = unknown>(): FormBody<P> => {
      const fields = Object.fromEntries(new URLSearchParams(decoder.decode(raw)));
      const payload = fields.payload === undefined ? undefined : parseJson<P>(fields.payload, 'the form field payload');
      return Object.freeze({ fields: Object.freeze(fields), payload });
    },
  });
}
