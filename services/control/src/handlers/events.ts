import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { Event } from '@hookstream/proto';
import { invalid, RpcError } from '../errors.ts';
import { deadLetteredOut, duplicateOut, locateEvent, storedState } from '../event-state.ts';
import type { EventView, EventWindow } from '../events.ts';
import type { Handlers, ResolvedDeps } from '../handlers.ts';
import { pageSize } from '../records.ts';
import { HOUR_MS, recordId, requireId, timeRange } from './request.ts';

/** The event RPCs. */
type EventRpc = 'getEvent' | 'listEvents' | 'replayToEndpoint';

const MAX_EVENT_REPLAY = 100_000;

/** The API view of an event (attempts are added by GetEvent). Pure. */
export function eventOut(e: EventView): Event {
  return {
    eventId: e.eventId,
    source: e.source,
    eventType: e.eventType,
    subject: e.subject,
    sequence: e.sequence,
    receivedAtMs: e.receivedAtMs,
    storedAtMs: e.storedAtMs,
    payloadSize: e.payloadSize,
    headers: [...e.headers],
    payload: Buffer.from(e.payload),
    attempts: [],
    attemptsNote: '',
    duplicateOf: '',
    idempotencyKey: '',
  };
}

/** The event RPCs over HS_EVENTS (and the dedup notes and DLQ for events not there): read, list, replay to one endpoint. */
export function eventHandlers(deps: ResolvedDeps): Pick<Handlers, EventRpc> {
  return {
    getEvent: async (req) => {
      const id = requireId(req.eventId, 'event_id');
      const stored = await deps.events.find(id);
      if (stored !== undefined) {
        const { attempts, note } = await deps.attempts.attempts(id);
        return { ...eventOut(stored), attempts, attemptsNote: note, state: storedState(stored) };
      }
      // Not in HS_EVENTS: a duplicate dedup dropped (answer with where the first one is), or a dead letter.
      const duplicate = await deps.events.duplicateNote(id);
      if (duplicate !== undefined) return duplicateOut(duplicate, await locateEvent(deps.events, duplicate.first_event_id));
      const deadLetters = await deps.events.deadLettersOf(id);
      if (deadLetters.length > 0) return deadLetteredOut(id, deadLetters);
      throw new RpcError(
        status.NOT_FOUND,
        `event ${id} not found: not in ${deps.events.streams.events} (it keeps a limited history), not a duplicate dedup noted (kept for the dedup window), not in ${deps.events.streams.dlq}`,
      );
    },
    listEvents: async (req) => {
      timeRange(req.sinceMs, req.untilMs);
      if (req.newestFirst) {
        const newest = await deps.events.latest(
          { source: req.source, typePattern: req.eventType, untilMs: req.untilMs },
          pageSize(req.pageSize, 50),
        );
        return { events: newest.map(eventOut), nextPageToken: '' };
      }
      const window: EventWindow = {
        source: req.source,
        typePattern: req.eventType,
        sinceMs: req.sinceMs === 0 ? deps.now() - HOUR_MS : req.sinceMs,
        untilMs: req.untilMs,
      };
      const page = await deps.events.list(window, pageSize(req.pageSize, 50), req.pageToken);
      return { events: page.items.map(eventOut), nextPageToken: page.next };
    },
    replayToEndpoint: async (req) => {
      if (req.sinceMs <= 0 && req.eventId === '') throw invalid('since_ms', 'is required (epoch ms) unless event_id is set');
      timeRange(req.sinceMs, req.untilMs);
      if (req.requestId !== '' && !/^[A-Za-z0-9_.-]{1,64}$/.test(req.requestId)) {
        throw invalid('request_id', 'letters, digits, "_", "." and "-" only, at most 64');
      }
      const endpoint = (await deps.endpoints.require(recordId(req.endpointId, 'endpoint_id'))).record;
      if (!endpoint.enabled) throw new RpcError(status.FAILED_PRECONDITION, `endpoint ${endpoint.id} is disabled: enable it first`);
      const requestId = req.requestId === '' ? randomUUID() : req.requestId;
      if (req.eventId !== '') return { ...(await deps.events.replayEventToEndpoint(endpoint, req.eventId, requestId)), requestId };
      const limit = req.limit === 0 ? MAX_EVENT_REPLAY : Math.min(req.limit, MAX_EVENT_REPLAY);
      const rate = req.maxPerSecond === 0 ? deps.replayPerSecond : req.maxPerSecond;
      const result = await deps.events.replayToEndpoint(
        endpoint,
        { source: req.source, typePattern: req.typePattern, sinceMs: req.sinceMs, untilMs: req.untilMs },
        requestId,
        rate,
        limit,
      );
      return { ...result, requestId };
    },
  };
}
