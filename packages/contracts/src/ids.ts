import { createHash } from 'node:crypto';

// Message ids (`Nats-Msg-Id`) and bucket keys every service derives from an
// event. They are persisted (JetStream's duplicate window, KV keys, ClickHouse
// row ids), so each string must stay byte-for-byte what it is.

/** The `Nats-Msg-Id` a stage uses for its output: `{event id}:{stage}`. Pure. */
export function stageMsgId(eventId: string, stage: string): string {
  return `${eventId}:${stage}`;
}

/**
 * `{event}:{endpoint}`, or `{event}:{endpoint}:{replay}` for a replayed
 * delivery (`hs-replay`): the stem of every id deliver derives for a task —
 * put-backs, attempt and skip records (analytics' `row_id`s) and its dead
 * letter — so a replay never collides with the original delivery. Route's
 * task for an endpoint carries `deliveryKey(event, endpoint)` as its
 * `Nats-Msg-Id`. Pure.
 */
export function deliveryKey(eventId: string, endpointId: string, replayId = ''): string {
  return replayId === '' ? `${eventId}:${endpointId}` : `${eventId}:${endpointId}:${replayId}`;
}

/**
 * The `Nats-Msg-Id` of a task put back after `attemptsMade` attempts (and
 * `requeues` throttle requeues of that attempt): route's original is
 * `{event}:{endpoint}`; deliver's are `{event}:{endpoint}:{attempts}` and
 * `{event}:{endpoint}:{attempts}:q{requeues}`, with the replay id after the
 * endpoint for a replayed task. A put-back repeated after a crash is dropped
 * by the stream's duplicate window; a replay's never collides with the
 * original's. Pure.
 */
export function taskMsgId(eventId: string, endpointId: string, attemptsMade: number, requeues = 0, replayId = ''): string {
  const base = `${deliveryKey(eventId, endpointId, replayId)}:${attemptsMade}`;
  return requeues === 0 ? base : `${base}:q${requeues}`;
}

/** The `Nats-Msg-Id` of the retry consumer's release of a due task: {@link taskMsgId} + `:due`. Pure. */
export function dueTaskMsgId(eventId: string, endpointId: string, attemptsMade: number, requeues = 0, replayId = ''): string {
  return `${taskMsgId(eventId, endpointId, attemptsMade, requeues, replayId)}:due`;
}

/**
 * `{event}:{endpoint}[:{replay}]:attempt:{n}:{request}`, the `Nats-Msg-Id`
 * (and ClickHouse `row_id`, {@link recordRowId}) of the record of one HTTP
 * request: attempt n repeated after a crash has a new request id, so it is
 * a row of its own; the same record published twice is one. Pure.
 */
export function attemptRecordId(eventId: string, endpointId: string, attempt: number, requestId: string, replayId = ''): string {
  return `${deliveryKey(eventId, endpointId, replayId)}:attempt:${attempt}:${requestId}`;
}

/** `{event}:{endpoint}[:{replay}]:dlq:deliver`, the `Nats-Msg-Id` of a task's dead letter. Pure. */
export function deliverDeadLetterMsgId(eventId: string, endpointId: string, replayId = ''): string {
  return `${deliveryKey(eventId, endpointId, replayId)}:dlq:deliver`;
}

/** `{event}:{endpoint}[:{replay}]:skipped`, the `Nats-Msg-Id` (and `row_id`) of a skipped task's record. Pure. */
export function skippedRecordId(eventId: string, endpointId: string, replayId = ''): string {
  return `${deliveryKey(eventId, endpointId, replayId)}:skipped`;
}

/**
 * The `Nats-Msg-Id` of a dead letter the worker publishes to `dlqSubject`:
 * `{event id}:dlq:{dlq subject}`, or `{stream}:{seq}:dlq:{dlq subject}` for a
 * message without an event id. Keyed by the DLQ subject too: one event can
 * die at one stage for several endpoints, and each copy must be kept. Pure.
 */
export function deadLetterMsgId(
  eventId: string | undefined,
  dlqSubject: string,
  origin: { readonly stream: string; readonly seq: number },
): string {
  return eventId ? `${eventId}:dlq:${dlqSubject}` : `${origin.stream}:${origin.seq}:dlq:${dlqSubject}`;
}

/** `{event id}:dlq:route:{endpoint}`, the `Nats-Msg-Id` of route's dead letter for an endpoint whose filter failed. Pure. */
export function filterDeadLetterMsgId(eventId: string, endpointId: string): string {
  return `${eventId}:dlq:route:${endpointId}`;
}

/** The `Nats-Msg-Id` of a dead letter's replay: `{event id}:replay:{dlq seq}` (`dlq-{seq}` stands in for a missing event id). Pure. */
export function replayMsgId(eventId: string | undefined, sequence: number): string {
  return `${eventId ?? `dlq-${sequence}`}:replay:${sequence}`;
}

/** The replay id (`hs-replay`) of a dead letter's replay: `dlq-{seq}`. Pure. */
export function deadLetterReplayId(sequence: number): string {
  return `dlq-${sequence}`;
}

/** The `Nats-Msg-Id` of a task replayed to an endpoint: `{event id}:{endpoint id}:replay:{request id}`. Pure. */
export function endpointReplayMsgId(eventId: string, endpointId: string, requestId: string): string {
  return `${eventId}:${endpointId}:replay:${requestId}`;
}

/**
 * `{event}:{endpoint}:test`, the `Nats-Msg-Id` of the sample task control's
 * SendTestEvent publishes on `hs.deliver.{endpoint}` (its event id is new
 * each time, so the suffix only tells it apart from route's tasks). Pure.
 */
export function testEventMsgId(eventId: string, endpointId: string): string {
  return `${eventId}:${endpointId}:test`;
}

const KEY_UNSAFE = /[^A-Za-z0-9_-]/g;

/** The circuits bucket key of a replica's report on an endpoint: both parts reduced to KV-safe characters. Pure. */
export function circuitKey(endpoint: string, replica: string): string {
  return `${endpoint.replace(KEY_UNSAFE, '_')}.${replica.replace(KEY_UNSAFE, '_')}`;
}

const PLAIN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The dedup bucket key of a duplicate's note: `dup/{event id}` (an id with
 * other characters, or longer than 128, is replaced by `sha256-{hex}` of it).
 * The `/` keeps it apart from the claims (`{source}.{hash}`): source ids
 * cannot hold one. Pure.
 */
export function duplicateNoteKey(eventId: string): string {
  const token = PLAIN_ID.test(eventId) ? eventId : `sha256-${createHash('sha256').update(eventId).digest('hex')}`;
  return `dup/${token}`;
}

/** How long `hs_lookup` keeps an entry: HS_RAW's retention (7 days), so any webhook still archived can be found by its provider id. */
export const LOOKUP_TTL_MS = 7 * 24 * 3_600_000;

/** One `hs_lookup` entry: a provider id / idempotency key seen on an event (JSON value). */
export interface LookupEntry {
  readonly event_id: string;
  readonly source: string;
  /** The text the entry is found by (the idempotency key as dedup derived it). */
  readonly key: string;
  readonly kind: 'idempotency_key';
  /** When the stage wrote it (epoch ms). */
  readonly at: number;
}

/**
 * The `hs_lookup` key prefix of a searched text: `k.{sha256 hex of the text}`.
 * Hashing keeps any text (any characters, any length, wildcards) a valid,
 * bounded key that matches only itself. Pure.
 */
export function lookupPrefix(text: string): string {
  return `k.${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * The `hs_lookup` key of one event found by `text`: `{lookupPrefix}.{event id
 * token}` (as {@link duplicateNoteKey}'s token), one key per event so two
 * events with the same idempotency key (a duplicate) never overwrite each
 * other; read all with the filter `{lookupPrefix}.*`. Pure.
 */
export function lookupKey(text: string, eventId: string): string {
  const token = PLAIN_ID.test(eventId) ? eventId : `sha256-${createHash('sha256').update(eventId).digest('hex')}`;
  return `${lookupPrefix(text)}.${token}`;
}

/** The JSON value of a {@link LookupEntry}. Pure. */
export function encodeLookupEntry(entry: LookupEntry): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(entry));
}

/** A {@link LookupEntry} from a bucket value, or undefined when it is not one. Pure; never throws. */
export function decodeLookupEntry(value: Uint8Array): LookupEntry | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(value)) as Partial<LookupEntry>;
    if (typeof v.event_id !== 'string' || typeof v.source !== 'string' || typeof v.key !== 'string') return undefined;
    return { event_id: v.event_id, source: v.source, key: v.key, kind: 'idempotency_key', at: Number(v.at) || 0 };
  } catch {
    return undefined;
  }
}
