import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { type EndpointStats, type SeriesQuery, type StatsPoint, type StatsQuery, seriesStep } from '@hookstream/clickhouse';
import { Header } from '@hookstream/contracts';
import type { EndpointConfig, SchemaRecord } from '@hookstream/models';
import { SOURCE_ID, type SourceConfig } from '@hookstream/models';
import type {
  ControlPlaneService,
  DeadLetter,
  DeadLetterFilter,
  Endpoint,
  Event,
  RotateSecretRequest,
  RotateSecretResponse,
  Schema,
  Source,
} from '@hookstream/proto';
import { headerValue } from '@hookstream/runtime';
import type { StoredMsg } from '@nats-io/jetstream';
import type { AttemptSource } from './attempts.ts';
import type { DeadLetterMatch, DeadLetters } from './dead-letters.ts';
import { invalid, RpcError } from './errors.ts';
import { deadLetteredOut, duplicateOut, locateEvent, storedState } from './event-state.ts';
import type { EventStore, EventView, EventWindow } from './events.ts';
import { endpointHealth, type HealthSources, sourceHealth } from './health.ts';
import {
  isUnreadable,
  type JsonLimits,
  pageSize,
  parseJsonField,
  type RecordBucket,
  revisionOf,
  type Stored,
  type Unreadable,
} from './records.ts';
import type { SchemaBucket } from './schemas.ts';
import { generateSecret, redact, restoreRedacted, rotate, rotatedView } from './secrets.ts';

type Service = typeof ControlPlaneService;

/** Every RPC as an async function of its request; errors are thrown (RpcError, ValidationError). */
export type Handlers = {
  readonly [K in keyof Service]: (
    request: ReturnType<Service[K]['requestDeserialize']>,
  ) => Promise<ReturnType<Service[K]['responseDeserialize']>>;
};

/** What the handlers work on. */
export interface HandlerDeps {
  readonly sources: RecordBucket<SourceConfig>;
  readonly endpoints: RecordBucket<EndpointConfig>;
  readonly schemas: SchemaBucket;
  readonly deadLetters: DeadLetters;
  readonly events: EventStore;
  readonly attempts: AttemptSource;
  /** Endpoint stats from ClickHouse's per-minute views; undefined when ClickHouse is not configured. */
  readonly stats?: (q: StatsQuery) => Promise<EndpointStats[]>;
  /** Stats per time step from the same views; undefined when ClickHouse is not configured. */
  readonly series?: (q: SeriesQuery) => Promise<StatsPoint[]>;
  /** What EndpointHealth reads. */
  readonly health: HealthSources;
  readonly rotationGraceMs: number;
  readonly replayPerSecond: number;
  /** Size and depth limits of `config_json` and `schema_json`. */
  readonly limits: JsonLimits;
  readonly now?: () => number;
}

const MAX_REPLAY = 10_000;
const MAX_EVENT_REPLAY = 100_000;
const HOUR_MS = 3_600_000;

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

function timeRange(sinceMs: number, untilMs: number): void {
  if (sinceMs < 0) throw invalid('since_ms', 'must not be negative');
  if (untilMs < 0) throw invalid('until_ms', 'must not be negative');
  if (untilMs !== 0 && untilMs < sinceMs) throw invalid('until_ms', 'is before since_ms');
}

const MAX_SERIES_POINTS = 1_000;

const needsClickHouse = (rpc: string): RpcError =>
  new RpcError(status.UNIMPLEMENTED, `${rpc} needs ClickHouse: set HS_CLICKHOUSE_URL on the control service`);

/** A stats window from a request: defaults to the hour before `nowMs`; INVALID_ARGUMENT when reversed. Pure. */
export function statsWindow(req: { sinceMs: number; untilMs: number }, nowMs: number): { sinceMs: number; untilMs: number } {
  const untilMs = req.untilMs > 0 ? req.untilMs : nowMs;
  const sinceMs = req.sinceMs > 0 ? req.sinceMs : untilMs - HOUR_MS;
  if (sinceMs > untilMs) throw invalid('since_ms', 'must not be after until_ms');
  return { sinceMs, untilMs };
}

/**
 * The API view of a source or endpoint: its config with every secret-bearing
 * value redacted (unless `shown`, for the answer to the Create that sent
 * them). A record that cannot be decoded is shown as stored, redacted. Pure.
 */
function recordOut(s: Stored<SourceConfig | EndpointConfig> | Unreadable, shown = false): Source & Endpoint {
  const [id, record] = isUnreadable(s) ? [s.id, redact(s.stored)] : [s.record.id, shown ? s.record : redact(s.record)];
  return { id, configJson: JSON.stringify(record), revision: s.revision, updatedAtMs: s.updatedAtMs };
}

/** What a stored entry holds for restoring redacted values: the decoded record, or the stored one as it is. */
function storedView(s: Stored<object> | Unreadable | undefined): object | undefined {
  if (s === undefined) return undefined;
  return isUnreadable(s) ? s.stored : s.record;
}

function schemaOut(s: Stored<SchemaRecord>): Schema {
  return {
    source: s.record.source,
    eventType: s.record.eventType,
    version: s.record.version,
    schemaJson: JSON.stringify(s.record.schema),
    description: s.record.description ?? '',
    revision: s.revision,
    updatedAtMs: s.updatedAtMs,
  };
}

function requireId(id: string, field = 'id'): string {
  if (id === '') throw invalid(field, 'is required');
  return id;
}

/** A source or endpoint id from a request. Throws INVALID_ARGUMENT naming `field` unless it is one. Pure. */
export function recordId(id: string, field = 'id'): string {
  if (!SOURCE_ID.test(requireId(id, field))) throw invalid(field, 'must match [A-Za-z0-9_-]{1,64}');
  return id;
}

/** The id a `config_json` names, when it is a valid one (else the parser will refuse it). Pure. */
function idOf(input: unknown): string | undefined {
  const id = (input as { id?: unknown } | null)?.id;
  return typeof id === 'string' && SOURCE_ID.test(id) ? id : undefined;
}

/** (source, event type) of a schema request. Throws INVALID_ARGUMENT naming the bad one. Pure. */
function schemaId(source: string, eventType: string): [string, string] {
  recordId(source, 'source');
  if (requireId(eventType, 'event_type').length > 256) throw invalid('event_type', 'must be at most 256 characters');
  return [source, eventType];
}

function matchOf(filter: DeadLetterFilter | undefined): DeadLetterMatch {
  return {
    stage: filter?.stage ?? '',
    source: filter?.source ?? '',
    endpoint: filter?.endpoint ?? '',
    reason: filter?.reason ?? '',
  };
}

/** The API view of a dead letter; headers and payload only when `full`. Pure. */
export function deadLetterOut(msg: StoredMsg, full: boolean): DeadLetter {
  const h = (name: string): string => headerValue(msg.header, name) ?? '';
  const headers: { name: string; value: string }[] = [];
  if (full) for (const [name, values] of msg.header) for (const value of values) headers.push({ name, value });
  return {
    sequence: msg.seq,
    subject: msg.subject,
    stage: h(Header.dlqStage),
    reason: h(Header.dlqReason),
    detail: h(Header.dlqDetail),
    originalSubject: h(Header.dlqSubject),
    eventId: h(Header.eventId),
    source: h(Header.source),
    endpoint: h(Header.endpointId),
    deadLetteredAtMs: Number(h(Header.dlqAt)) || msg.time.getTime(),
    deliveries: Number(h(Header.dlqDeliveries)) || 0,
    headers,
    payload: full ? Buffer.from(msg.data) : Buffer.alloc(0),
    payloadSize: msg.data.length,
  };
}

/**
 * The control plane's RPCs over the buckets and the DLQ. Writes go through
 * the runtime's parsers; secrets are shown only in the answers to
 * CreateSource/CreateEndpoint and the rotations.
 */
export function buildHandlers(deps: HandlerDeps): Handlers {
  const now = deps.now ?? Date.now;

  async function rotateSecret<T extends SourceConfig | EndpointConfig>(
    bucket: RecordBucket<T>,
    req: RotateSecretRequest,
  ): Promise<RotateSecretResponse> {
    const current = await bucket.require(recordId(req.id));
    if (revisionOf(req.revision) !== 0 && req.revision !== current.revision) {
      throw new RpcError(status.FAILED_PRECONDITION, `${req.id} is at revision ${current.revision}, not ${req.revision}`);
    }
    const nowMs = now();
    const secretId = req.newSecretId === '' ? `k${nowMs}` : req.newSecretId;
    const value = req.newSecret === '' ? generateSecret() : req.newSecret;
    if (!Number.isSafeInteger(req.previousValidUntilMs) || req.previousValidUntilMs < 0) {
      throw invalid('previous_valid_until_ms', 'must be epoch milliseconds (0: now plus the rotation grace)');
    }
    const rotated = rotate(current.record, {
      id: secretId,
      value,
      previousValidUntilMs: req.previousValidUntilMs === 0 ? nowMs + deps.rotationGraceMs : req.previousValidUntilMs,
      nowMs,
    });
    const stored = await bucket.update(rotated, current.revision);
    return { configJson: JSON.stringify(rotatedView(stored.record, secretId)), revision: stored.revision, secretId, secretValue: value };
  }

  const configJson = (value: string): unknown => parseJsonField(value, 'config_json', deps.limits);
  // A "***" in a Create stands for nothing stored: refused (naming it) rather than stored as the value.
  const newRecord = (value: string): unknown => restoreRedacted(configJson(value), undefined);

  return {
    createSource: async (req) => recordOut(await deps.sources.create(newRecord(req.configJson)), true),
    getSource: async (req) => recordOut(await deps.sources.view(recordId(req.id))),
    listSources: async (req) => {
      const page = await deps.sources.list(pageSize(req.pageSize, 100), req.pageToken);
      return { sources: page.items.map((s) => recordOut(s)), nextPageToken: page.next };
    },
    updateSource: async (req) => {
      const input = configJson(req.configJson);
      const revision = revisionOf(req.revision);
      const id = idOf(input);
      const current = id === undefined ? undefined : await deps.sources.read(id);
      return recordOut(await deps.sources.update(restoreRedacted(input, storedView(current)), revision));
    },
    deleteSource: async (req) => {
      await deps.sources.delete(recordId(req.id), revisionOf(req.revision));
      return {};
    },
    rotateSourceSecret: (req) => rotateSecret(deps.sources, req),

    createEndpoint: async (req) => recordOut(await deps.endpoints.create(newRecord(req.configJson)), true),
    getEndpoint: async (req) => recordOut(await deps.endpoints.view(recordId(req.id))),
    listEndpoints: async (req) => {
      const page = await deps.endpoints.list(pageSize(req.pageSize, 100), req.pageToken);
      return { endpoints: page.items.map((e) => recordOut(e)), nextPageToken: page.next };
    },
    updateEndpoint: async (req) => {
      const input = configJson(req.configJson);
      const revision = revisionOf(req.revision);
      const id = idOf(input);
      const current = id === undefined ? undefined : await deps.endpoints.read(id);
      return recordOut(await deps.endpoints.update(restoreRedacted(input, storedView(current)), revision));
    },
    deleteEndpoint: async (req) => {
      await deps.endpoints.delete(recordId(req.id), revisionOf(req.revision));
      return {};
    },
    rotateEndpointSecret: (req) => rotateSecret(deps.endpoints, req),
    setEndpointEnabled: async (req) => {
      const current = await deps.endpoints.require(recordId(req.id));
      const revision = revisionOf(req.revision) === 0 ? current.revision : req.revision;
      return recordOut(await deps.endpoints.update({ ...current.record, enabled: req.enabled }, revision));
    },

    createSchema: async (req) =>
      schemaOut(
        await deps.schemas.create({
          source: req.source,
          eventType: req.eventType,
          schemaJson: req.schemaJson,
          description: req.description,
        }),
      ),
    getSchema: async (req) => schemaOut(await deps.schemas.require(...schemaId(req.source, req.eventType))),
    listSchemas: async (req) => {
      if (req.source !== '') recordId(req.source, 'source');
      const page = await deps.schemas.list(req.source, pageSize(req.pageSize, 100), req.pageToken);
      return { schemas: page.items.map(schemaOut), nextPageToken: page.next };
    },
    updateSchema: async (req) => {
      schemaId(req.source, req.eventType);
      return schemaOut(
        await deps.schemas.update(
          { source: req.source, eventType: req.eventType, schemaJson: req.schemaJson, description: req.description },
          revisionOf(req.revision),
        ),
      );
    },
    deleteSchema: async (req) => {
      await deps.schemas.delete(...schemaId(req.source, req.eventType), revisionOf(req.revision));
      return {};
    },

    listDeadLetters: async (req) => {
      const page = await deps.deadLetters.list(matchOf(req.filter), pageSize(req.pageSize, 50), req.pageToken);
      return { deadLetters: page.items.map((m) => deadLetterOut(m, false)), nextPageToken: page.next };
    },
    getDeadLetter: async (req) => deadLetterOut(await deps.deadLetters.get(req.sequence), true),
    replayDeadLetters: async (req) => {
      if (req.sequence !== 0) {
        const one = await deps.deadLetters.replay(req.sequence, req.purge);
        return { replayed: 1, results: [one] };
      }
      const limit = req.limit === 0 ? MAX_REPLAY : Math.min(req.limit, MAX_REPLAY);
      const rate = req.maxPerSecond === 0 ? deps.replayPerSecond : req.maxPerSecond;
      const results = await deps.deadLetters.replayMatching(matchOf(req.filter), limit, rate, req.purge);
      return { replayed: results.length, results };
    },
    purgeDeadLetters: async (req) => {
      if (req.sequence !== 0) return { purged: await deps.deadLetters.purge(req.sequence) };
      const match = matchOf(req.filter);
      if (!req.all && match.stage === '' && match.source === '' && match.endpoint === '' && match.reason === '') {
        throw invalid('filter', 'is empty: set all=true to purge every dead letter');
      }
      return { purged: await deps.deadLetters.purgeMatching(match) };
    },

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
        sinceMs: req.sinceMs === 0 ? now() - HOUR_MS : req.sinceMs,
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

    stats: async (req) => {
      if (deps.stats === undefined) throw needsClickHouse('Stats');
      const { sinceMs, untilMs } = statsWindow(req, now());
      const rows = await deps.stats({ sinceMs, untilMs, ...(req.endpoint !== '' ? { endpointId: req.endpoint } : {}) });
      return {
        sinceMs,
        untilMs,
        endpoints: rows.map((r) => ({
          endpointId: r.endpointId,
          attempts: r.attempts,
          successes: r.successes,
          successRate: r.successRate,
          latencyP50Ms: r.latencyP50Ms,
          latencyP95Ms: r.latencyP95Ms,
          latencyP99Ms: r.latencyP99Ms,
          outcomes: { ...r.outcomes },
        })),
      };
    },
    statsSeries: async (req) => {
      if (deps.series === undefined) throw needsClickHouse('StatsSeries');
      const { sinceMs, untilMs } = statsWindow(req, now());
      let stepSeconds = req.stepSeconds;
      if (stepSeconds === 0) stepSeconds = seriesStep(sinceMs, untilMs);
      else if (stepSeconds % 60 !== 0) throw invalid('step_seconds', 'must be a multiple of 60');
      else if ((untilMs - sinceMs) / (stepSeconds * 1000) > MAX_SERIES_POINTS) {
        throw invalid('step_seconds', `gives more than ${MAX_SERIES_POINTS} points over the window`);
      }
      const points = await deps.series({ sinceMs, untilMs, stepSeconds, ...(req.endpoint !== '' ? { endpointId: req.endpoint } : {}) });
      return { sinceMs, untilMs, stepSeconds, points: points.map((p) => ({ ...p, outcomes: { ...p.outcomes } })) };
    },
    endpointHealth: async (req) => {
      const nowMs = now();
      const window = statsWindow(req, nowMs);
      return endpointHealth(deps.health, { id: req.endpoint, ...window, nowMs });
    },
    sourceHealth: async (req) => {
      const nowMs = now();
      return sourceHealth(deps.health, { id: req.source, ...statsWindow(req, nowMs), nowMs });
    },
  };
}
