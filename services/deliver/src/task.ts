import { Header, TaskHeader } from '@hookstream/contracts';
import type { StageMessage } from '@hookstream/runtime';

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
