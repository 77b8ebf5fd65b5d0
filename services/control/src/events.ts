import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import {
  decodeLookupEntry,
  duplicateNoteKey,
  type EndpointState,
  endpointReplayMsgId,
  endpointWantsEvent,
  Header,
  type LookupEntry,
  lookupPrefix,
  matchesEventType,
  testEventMsgId,
  type Wants,
} from '@hookstream/contracts';
import { type DuplicateNote, decodeDuplicateNote, type EndpointConfig, type FilterCache, filterInputOf } from '@hookstream/models';
import { headerValue, replayedHeaders, sanitizeDotted, sanitizeToken, type Topology } from '@hookstream/runtime';
import {
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
  type StreamState,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import { invalid, RpcError } from './errors.ts';
import type { Page } from './records.ts';

/** Most `hs_lookup` entries one search reads (one text names a handful of events: the first and its duplicates). */
export const LOOKUP_LIMIT = 20;

/** How far back `get` looks when the id is not a UUIDv7 (or its time is not useful): the most recent N events. */
export const GET_SCAN_LIMIT = 100_000;
/** Stream sequences one ListEvents call reads at most before answering with a token. */
export const LIST_SCAN_LIMIT = 20_000;
// Clock skew allowed between the host that minted a UUIDv7 and nats-server's storage time.
const UUID_SKEW_MS = 60_000;
const FETCH_BATCH = 256;

/** An HS_EVENTS message as the control plane sees it: summary fields plus, for `get`, body and headers. */
export interface EventView {
  readonly sequence: number;
  readonly subject: string;
  readonly eventId: string;
  readonly source: string;
  readonly eventType: string;
  readonly receivedAtMs: number;
  readonly storedAtMs: number;
  readonly payloadSize: number;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly payload: Uint8Array;
}

/** Which events a list or replay covers. */
export interface EventWindow {
  /** '' for every source. */
  readonly source: string;
  /** An event type or `*`-glob (as an endpoint's `eventTypes`); '' for every type. */
  readonly typePattern: string;
  readonly sinceMs: number;
  /** 0: no upper bound. */
  readonly untilMs: number;
}

/** What a replay to an endpoint did. */
export interface EndpointReplay {
  readonly replayed: number;
  readonly duplicates: number;
  readonly skipped: number;
  readonly truncated: boolean;
}

/**
 * The narrowest NATS filter subject for a source and an event type pattern:
 * `events.{source|*}.{type}` for an exact type, `events.{source|*}.{prefix}.>`
 * for `prefix.*`, else `events.{source|*}.>` (the pattern is then checked per
 * message with `matchesEventType`). Pure.
 */
export function eventsFilter(t: Topology, source: string, typePattern: string): string {
  const src = source === '' ? '*' : sanitizeToken(source);
  let tail = '>';
  if (typePattern !== '' && typePattern !== '*') {
    if (!typePattern.includes('*')) tail = sanitizeDotted(typePattern);
    else if (typePattern.endsWith('.*') && !typePattern.slice(0, -2).includes('*')) tail = `${sanitizeDotted(typePattern.slice(0, -2))}.>`;
  }
  return t.subject(`events.${src}.${tail}`);
}

/** The millisecond timestamp of a UUIDv7 (ingest's event ids), or undefined for anything else. Pure. */
export function uuidV7TimeMs(id: string): number | undefined {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.exec(id);
  if (m === null) return undefined;
  return Number.parseInt(`${m[1]}${m[2]}`, 16);
}

/**
 * The headers of a task replayed to an endpoint: the event's (runtime
 * `replayedHeaders`: no `Nats-*`, no deliver progress, `hs-replay` = the
 * request id, `hs-replayed-at`) with `hs-endpoint-id` set. Pure.
 */
export function endpointReplayHeaders(source: MsgHdrs | undefined, endpointId: string, requestId: string, nowMs: number): MsgHdrs {
  const h = replayedHeaders(source, requestId, nowMs);
  h.set(Header.endpointId, endpointId);
  return h;
}

/** The `hs-source` of SendTestEvent's samples, so analytics and the event page tell them from real traffic. */
export const TEST_EVENT_SOURCE = '_test';

function viewOf(
  msg: { seq: number; subject: string; header?: MsgHdrs | undefined; data: Uint8Array; time: Date },
  full: boolean,
): EventView {
  const h = (name: string): string => headerValue(msg.header, name) ?? '';
  const headers: { name: string; value: string }[] = [];
  if (full && msg.header !== undefined) for (const [name, values] of msg.header) for (const value of values) headers.push({ name, value });
  const size = full ? msg.data.length : Number(h('Nats-Msg-Size')) || msg.data.length;
  return {
    sequence: msg.seq,
    subject: msg.subject,
    eventId: h(Header.eventId),
    source: h(Header.source),
    eventType: h(Header.eventType),
    receivedAtMs: Number(h(Header.receivedAt)) || 0,
    storedAtMs: msg.time.getTime(),
    payloadSize: size,
    headers,
    payload: full ? msg.data : new Uint8Array(0),
  };
}

type Start = { readonly seq: number } | { readonly timeMs: number };

/**
 * What a replay to an endpoint consults besides the endpoint record, so it
 * sends only what route would (the contracts' `endpointWantsEvent`).
 */
export interface ReplayRule {
  /** The endpoint's `hs_endpoint_state` value (deliver disables an endpoint on 410 Gone), if any. */
  readonly state: (endpointId: string) => EndpointState | undefined;
  /** Compiles and runs endpoint filters, as route does. */
  readonly filters: FilterCache;
}

/**
 * The HS_EVENTS stream (a limits stream, no index by event id) read through
 * ephemeral ordered consumers that deliver headers only: listing and replay
 * cost one pass over the window's messages (their headers), finding one
 * event by id a pass over at most {@link GET_SCAN_LIMIT} messages from the
 * time in its UUIDv7 (or over the most recent ones).
 */
export class EventStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #t: Topology;
  readonly #wants: ReplayRule;

  constructor(js: JetStreamClient, jsm: JetStreamManager, t: Topology, wants: ReplayRule) {
    this.#js = js;
    this.#jsm = jsm;
    this.#t = t;
    this.#wants = wants;
  }

  /**
   * Whether `endpoint` wants an event by the contracts' rule, as route
   * decides: with `msg` (headers and body) its filter runs too; without
   * (a headers-only scan) the filter is left for the check before publishing.
   */
  #endpointWants(
    endpoint: EndpointConfig,
    event: { readonly source: string; readonly type: string; readonly id: string },
    msg?: { readonly data: Uint8Array; readonly header?: MsgHdrs | undefined },
  ): Wants {
    return endpointWantsEvent(endpoint, event, {
      state: this.#wants.state(endpoint.id),
      filter: (expression, endpointId) =>
        msg === undefined
          ? { ok: true, match: true }
          : this.#wants.filters.evaluate(endpointId, expression, () =>
              filterInputOf({ data: msg.data, header: (name) => headerValue(msg.header, name), headers: msg.header }, event),
            ),
    });
  }

  /** The stream names it reads (for messages). */
  get streams(): { readonly events: string; readonly dlq: string } {
    return { events: this.#t.streams.events, dlq: this.#t.streams.dlq };
  }

  /** One event with headers and body. Throws INVALID_ARGUMENT or NOT_FOUND (also when it is older than the scan reaches). */
  async get(eventId: string): Promise<EventView> {
    const found = await this.find(eventId);
    if (found === undefined) {
      throw new RpcError(status.NOT_FOUND, `event ${eventId} not found in ${this.#t.streams.events} (it keeps a limited history)`);
    }
    return found;
  }

  /** As {@link get}, resolving to undefined instead of NOT_FOUND. Throws INVALID_ARGUMENT for an empty id. */
  async find(eventId: string): Promise<EventView | undefined> {
    if (eventId === '') throw invalid('event_id', 'is required');
    const stream = this.#t.streams.events;
    const start = await this.#startFor(stream, eventId);
    if (start === undefined) return undefined;
    let found: number | undefined;
    await this.#scan(this.#t.subject('events.>'), start, 0, GET_SCAN_LIMIT, (m) => {
      if (headerValue(m.headers, Header.eventId) !== eventId) return true;
      found = m.seq;
      return false;
    });
    if (found === undefined) return undefined;
    const msg: StoredMsg | null = await this.#jsm.streams.getMessage(stream, { seq: found });
    if (msg === null) return undefined;
    return viewOf({ seq: msg.seq, subject: msg.subject, header: msg.header, data: msg.data, time: msg.time }, true);
  }

  /**
   * The dead letters (HS_DLQ, any stage) of one event, oldest first, with
   * headers and body: a headers-only pass over at most {@link GET_SCAN_LIMIT}
   * dead letters from the time in its UUIDv7 (or over the most recent ones).
   */
  async deadLettersOf(eventId: string): Promise<StoredMsg[]> {
    if (eventId === '') throw invalid('event_id', 'is required');
    const stream = this.#t.streams.dlq;
    const start = await this.#startFor(stream, eventId);
    if (start === undefined) return [];
    const sequences: number[] = [];
    await this.#scan(
      this.#t.subject('hs.dlq.>'),
      start,
      0,
      GET_SCAN_LIMIT,
      (m) => {
        if (headerValue(m.headers, Header.eventId) === eventId) sequences.push(m.seq);
        return true;
      },
      undefined,
      stream,
    );
    const found = await Promise.all(sequences.map((seq) => this.#jsm.streams.getMessage(stream, { seq })));
    return found.filter((m): m is StoredMsg => m !== null);
  }

  /**
   * What dedup noted about `eventId` when it dropped it as a duplicate (the
   * `hs_dedup` bucket, runtime `duplicateNoteKey`), or undefined: not a
   * duplicate, the note expired with the dedup window, or there is no bucket.
   */
  async duplicateNote(eventId: string): Promise<DuplicateNote | undefined> {
    if (eventId === '') throw invalid('event_id', 'is required');
    try {
      const kv = await new Kvm(this.#js).open(this.#t.buckets.dedup);
      const entry = await kv.get(duplicateNoteKey(eventId));
      if (entry?.operation !== 'PUT') return undefined;
      const note = decodeDuplicateNote(entry.value);
      return note?.event_id === eventId ? note : undefined;
    } catch (err) {
      // No dedup bucket yet (dedup never ran in this namespace): nothing was dropped.
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
      throw err;
    }
  }

  /**
   * The `hs_lookup` entries (written by dedup) of a provider id /
   * idempotency key, newest first, at most {@link LOOKUP_LIMIT}: one
   * STREAM.INFO with a subjects filter on the hashed key (the server's
   * per-subject index, no scan), then a get per key. [] without a bucket.
   */
  async lookup(text: string): Promise<LookupEntry[]> {
    const bucket = this.#t.buckets.lookup;
    const stream = `KV_${bucket}`;
    const prefix = `$KV.${bucket}.`;
    let subjects: string[];
    try {
      const info = await this.#jsm.streams.info(stream, { subjects_filter: `${prefix}${lookupPrefix(text)}.*` });
      subjects = Object.keys(info.state.subjects ?? {});
    } catch (err) {
      // No bucket yet (dedup never ran in this namespace): nothing was indexed.
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return [];
      throw err;
    }
    const kv = await new Kvm(this.#js).open(bucket);
    const entries: LookupEntry[] = [];
    for (const subject of subjects.slice(0, LOOKUP_LIMIT)) {
      const entry = await kv.get(subject.slice(prefix.length));
      const decoded = entry?.operation === 'PUT' ? decodeLookupEntry(entry.value) : undefined;
      // The key is a hash: keep only entries of this very text.
      if (decoded !== undefined && decoded.key === text) entries.push(decoded);
    }
    return entries.sort((a, b) => b.at - a.at);
  }

  /** The HS_DLQ message at `sequence`, or undefined (purged, or past the end). */
  async deadLetterAt(sequence: number): Promise<StoredMsg | undefined> {
    try {
      return (await this.#jsm.streams.getMessage(this.#t.streams.dlq, { seq: sequence })) ?? undefined;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
      throw err;
    }
  }

  /** Where a scan for one event starts: the time in its UUIDv7 (less skew), else the last {@link GET_SCAN_LIMIT} messages; undefined for an empty stream. */
  async #startFor(stream: string, eventId: string): Promise<Start | undefined> {
    const state = (await this.#jsm.streams.info(stream)).state;
    if (state.messages === 0) return undefined;
    const minted = uuidV7TimeMs(eventId);
    return minted !== undefined && minted - UUID_SKEW_MS > new Date(state.first_ts).getTime()
      ? { timeMs: minted - UUID_SKEW_MS }
      : { seq: Math.max(state.first_seq, state.last_seq - GET_SCAN_LIMIT + 1) };
  }

  /** A page of events (oldest first) in a window, without headers and body; `next` is '' at the end. */
  async list(window: EventWindow, size: number, token: string): Promise<Page<EventView>> {
    let start: Start = { timeMs: window.sinceMs };
    if (token !== '') {
      const seq = Number(token);
      if (!Number.isSafeInteger(seq) || seq <= 0) throw invalid('page_token', 'is not a token from a previous page');
      start = { seq };
    }
    const items: EventView[] = [];
    const next = await this.#scan(eventsFilter(this.#t, window.source, window.typePattern), start, window.untilMs, LIST_SCAN_LIMIT, (m) => {
      const type = headerValue(m.headers, Header.eventType) ?? '';
      if (window.typePattern !== '' && !matchesEventType(window.typePattern, type)) return true;
      items.push(viewOf({ seq: m.seq, subject: m.subject, header: m.headers, data: m.data, time: m.time }, false));
      return items.length < size;
    });
    return { items, next: next === undefined ? '' : String(next) };
  }

  /**
   * Republishes every event of `window` that `endpoint` subscribes to as a
   * delivery task on `hs.deliver.{endpoint}` (body untouched; see
   * {@link endpointReplayHeaders}, {@link endpointReplayMsgId}), at most
   * `perSecond` a second and `limit` in all, oldest first. Resolves once
   * every task is stored (or dropped by the duplicate window).
   */
  async replayToEndpoint(
    endpoint: EndpointConfig,
    window: EventWindow,
    requestId: string,
    perSecond: number,
    limit: number,
  ): Promise<EndpointReplay> {
    const until = window.untilMs === 0 ? Date.now() : window.untilMs;
    const sequences: number[] = [];
    let skipped = 0;
    let truncated = false;
    await this.#scan(
      eventsFilter(this.#t, window.source, window.typePattern),
      { timeMs: window.sinceMs },
      until,
      Number.POSITIVE_INFINITY,
      (m) => {
        const type = headerValue(m.headers, Header.eventType) ?? '';
        if (window.typePattern !== '' && !matchesEventType(window.typePattern, type)) return true;
        const event = { source: headerValue(m.headers, Header.source) ?? '', type, id: headerValue(m.headers, Header.eventId) ?? '' };
        if (!this.#endpointWants(endpoint, event).wants) {
          skipped++;
          return true;
        }
        if (sequences.length === limit) {
          truncated = true;
          return false;
        }
        sequences.push(m.seq);
        return true;
      },
    );
    const gapMs = 1_000 / perSecond;
    const started = Date.now();
    let replayed = 0;
    let duplicates = 0;
    for (const [i, seq] of sequences.entries()) {
      const due = started + i * gapMs - Date.now();
      if (due > 0) await sleep(due);
      const result = await this.#publishTask(endpoint, seq, requestId);
      if (result === 'duplicate') duplicates++;
      else if (result === 'stored') replayed++;
      else if (result === 'unwanted') skipped++;
    }
    return { replayed, duplicates, skipped, truncated };
  }

  /**
   * Republishes one event (by id) as a delivery task for `endpoint`, as
   * {@link replayToEndpoint} does for a window. Throws NOT_FOUND when the
   * event is not in the stream; counts it as skipped when the endpoint does
   * not subscribe to it.
   */
  async replayEventToEndpoint(endpoint: EndpointConfig, eventId: string, requestId: string): Promise<EndpointReplay> {
    const event = await this.get(eventId);
    if (!this.#endpointWants(endpoint, { source: event.source, type: event.eventType, id: event.eventId }).wants) {
      return { replayed: 0, duplicates: 0, skipped: 1, truncated: false };
    }
    const result = await this.#publishTask(endpoint, event.sequence, requestId);
    if (result === 'unwanted') return { replayed: 0, duplicates: 0, skipped: 1, truncated: false };
    if (result === 'gone') throw new RpcError(status.NOT_FOUND, `event ${eventId} left ${this.#t.streams.events} during the replay`);
    return { replayed: result === 'stored' ? 1 : 0, duplicates: result === 'duplicate' ? 1 : 0, skipped: 0, truncated: false };
  }

  /**
   * Publishes a sample delivery task for `endpoint` on `hs.deliver.{endpoint}`
   * with the envelope headers route sets (event id, source `_test`, type,
   * received-at, endpoint id), so deliver signs, retries, records and
   * dead-letters it like any task. Not stored in HS_EVENTS: no other
   * endpoint and no consumer of `events.>` sees it. Resolves to the subject
   * on the PubAck; throws what the publish throws.
   */
  async publishTestTask(endpoint: EndpointConfig, eventId: string, eventType: string, nowMs: number): Promise<string> {
    const subject = this.#t.deliver(endpoint.id);
    const h = natsHeaders();
    h.set(Header.eventId, eventId);
    h.set(Header.source, TEST_EVENT_SOURCE);
    h.set(Header.eventType, eventType);
    h.set(Header.receivedAt, String(nowMs));
    h.set(Header.endpointId, endpoint.id);
    const body = JSON.stringify({
      type: eventType,
      test: true,
      message: `A test event from hookstream for endpoint ${endpoint.id}.`,
      sent_at: new Date(nowMs).toISOString(),
    });
    await this.#js.publish(subject, body, { headers: h, msgID: testEventMsgId(eventId, endpoint.id), timeout: 5_000 });
    return subject;
  }

  /**
   * The newest `size` events up to `window.untilMs` (0: now) and below
   * `beforeSeq` (if given), newest first,
   * without headers and body: windows of the stream read backwards (each
   * twice the last), at most {@link LIST_SCAN_LIMIT} sequences in all.
   */
  async latest(window: Omit<EventWindow, 'sinceMs'>, size: number, beforeSeq?: number): Promise<EventView[]> {
    const state = (await this.#jsm.streams.info(this.#t.streams.events)).state;
    if (state.messages === 0) return [];
    const filter = eventsFilter(this.#t, window.source, window.typePattern);
    const found: EventView[] = [];
    let end = beforeSeq === undefined ? state.last_seq : Math.min(state.last_seq, beforeSeq - 1);
    let chunk = Math.max(size * 2, 128);
    let scanned = 0;
    while (found.length < size && end >= state.first_seq && scanned < LIST_SCAN_LIMIT) {
      const start = Math.max(state.first_seq, end - chunk + 1);
      const part: EventView[] = [];
      const last = end;
      // One direct get tells whether the window holds a match at all (a quiet source skips windows without a consumer).
      const next = await this.#nextMatching(filter, start);
      if (next !== undefined && next <= last) {
        await this.#scan(
          filter,
          { seq: next },
          window.untilMs,
          chunk,
          (m) => {
            if (m.seq > last) return false;
            const type = headerValue(m.headers, Header.eventType) ?? '';
            if (window.typePattern === '' || matchesEventType(window.typePattern, type)) {
              part.push(viewOf({ seq: m.seq, subject: m.subject, header: m.headers, data: m.data, time: m.time }, false));
            }
            return m.seq < last;
          },
          state,
        );
      }
      found.push(...part.reverse());
      scanned += end - start + 1;
      end = start - 1;
      chunk *= 2;
    }
    return found.slice(0, size);
  }

  /**
   * A page of {@link latest}: newest first, from just before the sequence in
   * `token` ('' for the newest), stopping at events stored before
   * `window.sinceMs` (0: no bound). `next` is the token of the following
   * (older) page, '' when this one reached the start.
   */
  async latestPage(window: EventWindow, size: number, token: string): Promise<Page<EventView>> {
    let before: number | undefined;
    if (token !== '') {
      before = Number(token);
      if (!Number.isSafeInteger(before) || before <= 0) throw invalid('page_token', 'is not a token from a previous page');
    }
    // One more than asked tells whether an older page exists.
    const found = await this.latest(window, size + 1, before);
    const inWindow = window.sinceMs > 0 ? found.filter((e) => e.storedAtMs >= window.sinceMs) : found;
    const items = inWindow.slice(0, size);
    const more = inWindow.length > size;
    return { items, next: more ? String(items.at(-1)?.sequence ?? '') : '' };
  }

  /** Events stored per source (the `{source}` token of `events.{source}.…`), from the stream's per-subject counts. */
  async countsBySource(): Promise<Map<string, number>> {
    const prefix = this.#t.subject('events.');
    const info = await this.#jsm.streams.info(this.#t.streams.events, { subjects_filter: `${prefix}>` });
    const counts = new Map<string, number>();
    for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
      const source = subject.slice(prefix.length).split('.')[0] ?? '';
      counts.set(source, (counts.get(source) ?? 0) + n);
    }
    return counts;
  }

  /**
   * The sequence of the first message on `filter` at or after `fromSeq`, or
   * undefined: one `STREAM.MSG.GET` with `next_by_subj` (wildcards
   * work), without creating a consumer.
   */
  async #nextMatching(filter: string, fromSeq: number, stream = this.#t.streams.events): Promise<number | undefined> {
    const query = { seq: fromSeq, next_by_subj: filter };
    // nats.js types getMessage's query without next_by_subj; the server's API takes it.
    const msg = await this.#jsm.streams.getMessage(stream, query as unknown as { seq: number });
    return msg === null ? undefined : msg.seq;
  }

  /**
   * Publishes the event at `seq` as a task for `endpoint`: stored, dropped as
   * a duplicate, gone from the stream, or unwanted (its filter, run on the
   * body, says no or fails, or the endpoint was disabled since the scan).
   */
  async #publishTask(endpoint: EndpointConfig, seq: number, requestId: string): Promise<'stored' | 'duplicate' | 'gone' | 'unwanted'> {
    const msg = await this.#jsm.streams.getMessage(this.#t.streams.events, { seq });
    if (msg === null) return 'gone'; // aged out of HS_EVENTS since the scan
    const event = {
      source: headerValue(msg.header, Header.source) ?? '',
      type: headerValue(msg.header, Header.eventType) ?? '',
      id: headerValue(msg.header, Header.eventId) ?? '',
    };
    if (!this.#endpointWants(endpoint, event, msg).wants) return 'unwanted';
    const eventId = headerValue(msg.header, Header.eventId) ?? `events-${seq}`;
    const ack = await this.#js.publish(this.#t.deliver(endpoint.id), msg.data, {
      headers: endpointReplayHeaders(msg.header, endpoint.id, requestId, Date.now()),
      msgID: endpointReplayMsgId(eventId, endpoint.id, requestId),
      timeout: 5_000,
    });
    return ack.duplicate ? 'duplicate' : 'stored';
  }

  /**
   * Visits the messages on `filter` from `start` with an ephemeral ordered
   * consumer (headers only), until `visit` answers false, a message stored
   * after `untilMs` (0: no bound), `maxScan` messages, or the end of the
   * stream. Resolves to the sequence to continue from, or undefined at the end.
   * `probed`: the caller read the stream's state and knows `start` is a
   * message on the filter (`latest`), so neither is asked again. `stream`:
   * HS_EVENTS unless given (HS_DLQ for {@link deadLettersOf}).
   */
  async #scan(
    filter: string,
    start: Start,
    untilMs: number,
    maxScan: number,
    visit: (m: JsMsg) => boolean,
    probed?: StreamState,
    stream = this.#t.streams.events,
  ): Promise<number | undefined> {
    const state = probed ?? (await this.#jsm.streams.info(stream)).state;
    if (probed === undefined) {
      if (state.messages === 0) return undefined;
      if ('seq' in start && start.seq > state.last_seq) return undefined;
      if ('timeMs' in start && start.timeMs > new Date(state.last_ts).getTime()) return undefined;
      // Nothing on the filter from the start (or, for a time start, at all): answer now instead of after a fetch's 1 s wait.
      if ((await this.#nextMatching(filter, 'seq' in start ? start.seq : state.first_seq, stream)) === undefined) return undefined;
    }
    const consumer = await this.#js.consumers.get(stream, {
      filter_subjects: filter,
      headers_only: true,
      ...('seq' in start
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq }
        : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Math.max(start.timeMs, 0)).toISOString() }),
    });
    let seen = 0;
    for (;;) {
      // A fetch that finds nothing ends after `expires`; one with messages ends at the last one (pending 0).
      const batch = await consumer.fetch({ max_messages: FETCH_BATCH, expires: 1_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        seen++;
        if (untilMs !== 0 && m.time.getTime() > untilMs) return undefined;
        // The end is the last message stored when the scan began (a snapshot, as the DLQ listing).
        const atEnd = m.info.pending === 0 || m.seq >= state.last_seq;
        if (!visit(m)) return atEnd ? undefined : m.seq + 1;
        if (atEnd) return undefined;
        if (seen >= maxScan) return m.seq + 1;
      }
      if (got === 0) return undefined;
    }
  }
}
