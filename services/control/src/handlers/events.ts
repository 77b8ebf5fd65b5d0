import { randomBytes, randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Header } from '@hookstream/contracts';
import type { Event, FoundEvent } from '@hookstream/proto';
import { headerValue } from '@hookstream/runtime';
import type { StoredMsg } from '@nats-io/jetstream';
import { DELIVERY_STATUSES } from '../attempts.ts';
import { invalid, RpcError } from '../errors.ts';
import { deadLetteredOut, duplicateOut, locateEvent, storedState } from '../event-state.ts';
import { type EventView, type EventWindow, uuidV7TimeMs } from '../events.ts';
import { dlqSequenceOf, endpointDeliveries, findSummary, searchText } from '../find.ts';
import type { Handlers, ResolvedDeps } from '../handlers.ts';
import { type Page, pageSize } from '../records.ts';
import { HOUR_MS, recordId, requireId, timeRange } from './request.ts';

/** The event RPCs. */
type EventRpc = 'getEvent' | 'listEvents' | 'replayToEndpoint' | 'findEvents' | 'sendTestEvent';

/** The type of SendTestEvent's sample when the request names none. */
export const TEST_EVENT_TYPE = 'hookstream.test';

/** A UUIDv7 minted at `nowMs` (48-bit time, version 7, variant 10, random rest), like ingest's event ids. */
function uuidV7(nowMs: number): string {
  const b = randomBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

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
    deliveryStatus: '',
  };
}

/**
 * GetEvent's answer for an id, and the dead letters it read (only when the
 * event is not in HS_EVENTS; `withDeadLetters` reads them for a stored one
 * too), or undefined when nothing knows the id.
 */
async function eventById(
  deps: ResolvedDeps,
  id: string,
  withDeadLetters: boolean,
): Promise<{ readonly event: Event; readonly deadLetters: readonly StoredMsg[] } | undefined> {
  const stored = await deps.events.find(id);
  if (stored !== undefined) {
    const { attempts, note } = await deps.attempts.attempts(id);
    const deadLetters = withDeadLetters ? await deps.events.deadLettersOf(id) : [];
    return { event: { ...eventOut(stored), attempts, attemptsNote: note, state: storedState(stored) }, deadLetters };
  }
  // Not in HS_EVENTS: a duplicate dedup dropped (answer with where the first one is), or a dead letter.
  const duplicate = await deps.events.duplicateNote(id);
  if (duplicate !== undefined)
    return { event: duplicateOut(duplicate, await locateEvent(deps.events, duplicate.first_event_id)), deadLetters: [] };
  const deadLetters = await deps.events.deadLettersOf(id);
  if (deadLetters.length > 0) return { event: deadLetteredOut(id, deadLetters), deadLetters };
  // Known only by its delivery attempts: a SendTestEvent sample (never in HS_EVENTS), or an event aged out of it.
  const { attempts } = await deps.attempts.attempts(id);
  if (attempts.length > 0) return { event: { ...deadLetteredOut(id, []), attempts }, deadLetters: [] };
  return undefined;
}

/** Most webhooks one FindEvents answers. */
const MAX_FOUND = 20;

/** The event RPCs over HS_EVENTS (and the dedup notes and DLQ for events not there): read, list, replay to one endpoint. */
export function eventHandlers(deps: ResolvedDeps): Pick<Handlers, EventRpc> {
  return {
    getEvent: async (req) => {
      const id = requireId(req.eventId, 'event_id');
      const found = await eventById(deps, id, false);
      if (found !== undefined) return found.event;
      throw new RpcError(
        status.NOT_FOUND,
        `event ${id} not found: not in ${deps.events.streams.events} (it keeps a limited history), not a duplicate dedup noted (kept for the dedup window), not in ${deps.events.streams.dlq}`,
      );
    },
    listEvents: async (req) => {
      timeRange(req.sinceMs, req.untilMs);
      if (req.status !== '' && !(DELIVERY_STATUSES as readonly string[]).includes(req.status)) {
        throw invalid('status', `must be one of ${DELIVERY_STATUSES.join(', ')}`);
      }
      let page: Page<EventView>;
      if (req.newestFirst) {
        page = await deps.events.latestPage(
          { source: req.source, typePattern: req.eventType, sinceMs: req.sinceMs, untilMs: req.untilMs },
          pageSize(req.pageSize, 50),
          req.pageToken,
        );
      } else {
        const window: EventWindow = {
          source: req.source,
          typePattern: req.eventType,
          sinceMs: req.sinceMs === 0 ? deps.now() - HOUR_MS : req.sinceMs,
          untilMs: req.untilMs,
        };
        page = await deps.events.list(window, pageSize(req.pageSize, 50), req.pageToken);
      }
      const statuses = await deps.attempts.statuses(page.items.map((e) => e.eventId));
      if (statuses === undefined && req.status !== '') {
        throw new RpcError(
          status.FAILED_PRECONDITION,
          'status: filtering by delivery status needs ClickHouse (set HS_CLICKHOUSE_URL on the control service)',
        );
      }
      const events = page.items
        .map((e) => ({ ...eventOut(e), deliveryStatus: statuses?.get(e.eventId) ?? '' }))
        .filter((e) => req.status === '' || e.deliveryStatus === req.status);
      return { events, nextPageToken: page.next };
    },
    findEvents: async (req) => {
      const text = searchText(req.text);
      // Each way in is a keyed read: a DLQ sequence, the time in a UUIDv7, the hs_lookup index; never a scan for the text.
      const ids = new Map<string, string>();
      const sequence = dlqSequenceOf(text);
      if (sequence !== undefined) {
        const deadLetter = await deps.events.deadLetterAt(sequence);
        const id = headerValue(deadLetter?.header, Header.eventId) ?? '';
        if (id !== '') ids.set(id, 'dead_letter_sequence');
      }
      if (uuidV7TimeMs(text) !== undefined) ids.set(text, 'event_id');
      for (const entry of await deps.events.lookup(text)) if (!ids.has(entry.event_id)) ids.set(entry.event_id, 'idempotency_key');
      const found: FoundEvent[] = [];
      for (const [id, matchedBy] of [...ids].slice(0, MAX_FOUND)) {
        const hit = await eventById(deps, id, true);
        if (hit === undefined) continue;
        const endpoints = endpointDeliveries(hit.event.attempts, hit.deadLetters);
        found.push({ matchedBy, event: hit.event, endpoints, summary: findSummary(hit.event, endpoints) });
      }
      if (found.length === 0) {
        throw new RpcError(
          status.NOT_FOUND,
          `nothing found for "${text}": not a hookstream event id in ${deps.events.streams.events} or ${deps.events.streams.dlq}, not a provider id / idempotency key dedup indexed in the last 7 days, not an ${deps.events.streams.dlq} sequence`,
        );
      }
      return { found };
    },
    sendTestEvent: async (req) => {
      const endpoint = (await deps.endpoints.require(recordId(req.endpointId, 'endpoint_id'))).record;
      if (!endpoint.enabled) throw new RpcError(status.FAILED_PRECONDITION, `endpoint ${endpoint.id} is disabled: enable it first`);
      const eventType = req.eventType === '' ? TEST_EVENT_TYPE : req.eventType;
      if (!/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/.test(eventType)) {
        throw invalid('event_type', 'dot-separated letters, digits, "_" and "-", e.g. hookstream.test');
      }
      const now = deps.now();
      const eventId = uuidV7(now);
      const subject = await deps.events.publishTestTask(endpoint, eventId, eventType, now);
      return { eventId, subject };
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
