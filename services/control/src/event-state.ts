import { Header } from '@hookstream/contracts';
import type { DuplicateNote } from '@hookstream/models';
import type { Event, EventState } from '@hookstream/proto';
import { headerValue } from '@hookstream/runtime';
import type { StoredMsg } from '@nats-io/jetstream';
import type { EventView } from './events.ts';

/** The lookups {@link locateEvent} needs (an `EventStore`). */
export interface EventLookup {
  find(eventId: string): Promise<EventView | undefined>;
  deadLettersOf(eventId: string): Promise<StoredMsg[]>;
}

/** The state of an event HS_EVENTS holds: `events`, its subject and the replay that brought it (if any). Pure. */
export function storedState(view: EventView): EventState {
  const replay = view.headers.find((h) => h.name.toLowerCase() === Header.replay)?.value ?? '';
  return { ...emptyState(view.eventId), state: 'events', subject: view.subject, replay };
}

/** The state of an event HS_EVENTS does not hold but HS_DLQ does: its newest dead letter (the last of `deadLetters`). Pure. */
export function deadLetteredState(eventId: string, deadLetters: readonly StoredMsg[]): EventState {
  const newest = deadLetters.at(-1);
  if (newest === undefined) return { ...emptyState(eventId), state: 'unknown' };
  const h = (name: string): string => headerValue(newest.header, name) ?? '';
  return {
    ...emptyState(eventId),
    state: 'dead_lettered',
    stage: h(Header.dlqStage),
    reason: h(Header.dlqReason),
    detail: h(Header.dlqDetail),
    deadLetterSequence: newest.seq,
    deadLetteredAtMs: Number(h(Header.dlqAt)) || newest.time.getTime(),
  };
}

function emptyState(eventId: string): EventState {
  return {
    eventId,
    state: 'unknown',
    subject: '',
    replay: '',
    stage: '',
    reason: '',
    detail: '',
    deadLetterSequence: 0,
    deadLetteredAtMs: 0,
  };
}

/**
 * Where an event is now: in HS_EVENTS (`events`), else in HS_DLQ
 * (`dead_lettered`, its newest dead letter), else `unknown`. Resolves after
 * at most two bounded scans; throws when NATS does.
 */
export async function locateEvent(lookup: EventLookup, eventId: string): Promise<EventState> {
  const stored = await lookup.find(eventId);
  if (stored !== undefined) return storedState(stored);
  return deadLetteredState(eventId, await lookup.deadLettersOf(eventId));
}

/** One line saying where an event is, for notes and the CLI: "reached events.x.y", "dead-lettered at validate/missing_event_type", …. Pure. */
export function describeState(state: EventState): string {
  switch (state.state) {
    case 'events':
      return `reached ${state.subject}${state.replay === '' ? '' : ` (replayed: ${state.replay})`}`;
    case 'dead_lettered':
      return `dead-lettered at ${state.stage}/${state.reason} (DLQ sequence ${state.deadLetterSequence})`;
    default:
      return 'in neither HS_EVENTS nor HS_DLQ (still in the pipeline, aged out, or its dead letter was purged)';
  }
}

/**
 * GetEvent's answer for an id dedup dropped: the duplicate's own envelope
 * (from dedup's note), `duplicate_of` the first delivery and `state` where
 * that one is now. No subject, headers, body or attempts of its own. Pure.
 */
export function duplicateOut(note: DuplicateNote, first: EventState): Event {
  return {
    eventId: note.event_id,
    source: note.source,
    eventType: '',
    subject: '',
    sequence: 0,
    receivedAtMs: note.received_at,
    storedAtMs: 0,
    payloadSize: 0,
    headers: [],
    payload: Buffer.alloc(0),
    attempts: [],
    attemptsNote: `dropped by dedup as a duplicate of ${note.first_event_id}, which ${describeState(first)}; it has no delivery attempts of its own`,
    duplicateOf: note.first_event_id,
    idempotencyKey: note.idempotency_key,
    state: first,
    deliveryStatus: '',
  };
}

/**
 * GetEvent's answer for an id only HS_DLQ holds: envelope, headers and body
 * from its newest dead letter, `state` dead_lettered (no HS_EVENTS subject,
 * sequence or storage time). Pure.
 */
export function deadLetteredOut(eventId: string, deadLetters: readonly StoredMsg[]): Event {
  const state = deadLetteredState(eventId, deadLetters);
  const newest = deadLetters.at(-1);
  const h = (name: string): string => headerValue(newest?.header, name) ?? '';
  const headers: { name: string; value: string }[] = [];
  if (newest !== undefined) for (const [name, values] of newest.header) for (const value of values) headers.push({ name, value });
  return {
    eventId,
    source: h(Header.source),
    eventType: h(Header.eventType),
    subject: '',
    sequence: 0,
    receivedAtMs: Number(h(Header.receivedAt)) || 0,
    storedAtMs: 0,
    payloadSize: newest?.data.length ?? 0,
    headers,
    payload: Buffer.from(newest?.data ?? new Uint8Array(0)),
    attempts: [],
    attemptsNote: '',
    duplicateOf: '',
    idempotencyKey: '',
    state,
    deliveryStatus: '',
  };
}
