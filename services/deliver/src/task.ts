import { Header, type StageMessage } from '@hookstream/runtime';

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
  return {
    eventId: msg.header(Header.eventId) ?? '',
    endpointId: msg.header(Header.endpointId) ?? msg.subject.split('.').pop() ?? '',
    source: msg.header(Header.source) ?? '',
    eventType: msg.header(Header.eventType) ?? '',
    receivedAtMs: Number.isFinite(receivedAt) && receivedAt > 0 ? receivedAt : nowMs,
    attemptsMade: count(msg.header(TaskHeader.attempt)),
    notBeforeMs: count(msg.header(TaskHeader.notBefore)),
    requeues: count(msg.header(TaskHeader.requeues)),
  };
}

/**
 * The `Nats-Msg-Id` of a task put back after `attemptsMade` attempts (and
 * `requeues` throttle requeues of that attempt): route's original is
 * `{event}:{endpoint}`; deliver's are `{event}:{endpoint}:{attempts}` and
 * `{event}:{endpoint}:{attempts}:q{requeues}`. A put-back repeated after a
 * crash is dropped by the stream's duplicate window.
 */
export function taskMsgId(eventId: string, endpointId: string, attemptsMade: number, requeues = 0): string {
  const base = `${eventId}:${endpointId}:${attemptsMade}`;
  return requeues === 0 ? base : `${base}:q${requeues}`;
}

/** `{event}:{endpoint}:attempt:{n}`, the `Nats-Msg-Id` of the n-th attempt's record. */
export function attemptRecordId(eventId: string, endpointId: string, attempt: number): string {
  return `${eventId}:${endpointId}:attempt:${attempt}`;
}
