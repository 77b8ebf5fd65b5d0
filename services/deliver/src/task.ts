import { deliveryKey, Header, type StageMessage } from '@hookstream/runtime';

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
});

/** What deliver reads from one task message. */
export interface Task {
  readonly eventId: string;
  readonly endpointId: string;
  readonly source: string;
  readonly eventType: string;
  readonly receivedAtMs: number;
  /** The replay this task belongs to (`hs-replay`); '' for route's original delivery. */
  readonly replayId: string;
  /** Where the retry window (`retry.maxAgeMs`) starts: the replay's time for a replayed task, else when ingest received the event. */
  readonly retryFromMs: number;
  /** The lane (`hs-lane`) of a task of an endpoint ordered by a key; '' otherwise. */
  readonly lane: string;
  /** Attempts already made. */
  readonly attemptsMade: number;
  /** 0 when the task may be attempted at once. */
  readonly notBeforeMs: number;
  readonly requeues: number;
}

function count(value: string | undefined): number {
  const n = Number(value);
  return value !== undefined && Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** Reads a task's envelope and deliver headers; the endpoint falls back to the subject's last token. Pure. */
export function readTask(msg: Pick<StageMessage, 'header' | 'subject'>, nowMs: number): Task {
  const receivedAt = Number(msg.header(Header.receivedAt));
  const receivedAtMs = Number.isFinite(receivedAt) && receivedAt > 0 ? receivedAt : nowMs;
  const replayId = msg.header(Header.replay) ?? '';
  const replayedAt = count(msg.header(Header.replayedAt));
  return {
    eventId: msg.header(Header.eventId) ?? '',
    endpointId: msg.header(Header.endpointId) ?? msg.subject.split('.').pop() ?? '',
    source: msg.header(Header.source) ?? '',
    eventType: msg.header(Header.eventType) ?? '',
    receivedAtMs,
    replayId,
    retryFromMs: replayId !== '' && replayedAt > 0 ? replayedAt : receivedAtMs,
    lane: /^\d{1,3}$/.test(msg.header(Header.lane) ?? '') ? (msg.header(Header.lane) as string) : '',
    attemptsMade: count(msg.header(TaskHeader.attempt)),
    notBeforeMs: count(msg.header(TaskHeader.notBefore)),
    requeues: count(msg.header(TaskHeader.requeues)),
  };
}

/** The key of a strictly ordered queue: the endpoint, or `{endpoint}.{lane}` for a lane of an endpoint ordered by a key. */
export function queueKey(endpointId: string, lane: string): string {
  return lane === '' ? endpointId : `${endpointId}.${lane}`;
}

/**
 * The `Nats-Msg-Id` of a task put back after `attemptsMade` attempts (and
 * `requeues` throttle requeues of that attempt): route's original is
 * `{event}:{endpoint}`; deliver's are `{event}:{endpoint}:{attempts}` and
 * `{event}:{endpoint}:{attempts}:q{requeues}`, with the replay id after the
 * endpoint for a replayed task. A put-back repeated after a crash is dropped
 * by the stream's duplicate window; a replay's never collides with the
 * original's.
 */
export function taskMsgId(eventId: string, endpointId: string, attemptsMade: number, requeues = 0, replayId = ''): string {
  const base = `${deliveryKey(eventId, endpointId, replayId)}:${attemptsMade}`;
  return requeues === 0 ? base : `${base}:q${requeues}`;
}

/**
 * `{event}:{endpoint}[:{replay}]:attempt:{n}:{request}`, the `Nats-Msg-Id`
 * (and ClickHouse `row_id`, analytics' records.ts) of the record of one HTTP
 * request: attempt n repeated after a crash has a new request id, so it is
 * a row of its own; the same record published twice is one. Pure.
 */
export function attemptRecordId(eventId: string, endpointId: string, attempt: number, requestId: string, replayId = ''): string {
  return `${deliveryKey(eventId, endpointId, replayId)}:attempt:${attempt}:${requestId}`;
}

/** `{event}:{endpoint}[:{replay}]:dlq:deliver`, the `Nats-Msg-Id` of a task's dead letter. */
export function deadLetterMsgId(eventId: string, endpointId: string, replayId = ''): string {
  return `${deliveryKey(eventId, endpointId, replayId)}:dlq:deliver`;
}

/** `{event}:{endpoint}[:{replay}]:skipped`, the `Nats-Msg-Id` of a skipped task's record. */
export function skippedRecordId(eventId: string, endpointId: string, replayId = ''): string {
  return `${deliveryKey(eventId, endpointId, replayId)}:skipped`;
}
