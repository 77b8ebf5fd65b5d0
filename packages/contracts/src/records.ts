// The analytics records: what each stage publishes on `hs.obs.{kind}` and
// the analytics service stores, one table per kind
// (deploy/clickhouse/migrations). The field names are the ClickHouse columns.
import { attemptRecordId, deliveryKey, skippedRecordId } from './ids.ts';

/** Why a signature check turned a delivery away (the signing package's verdicts). */
export type SignatureRejection = 'missing_signature' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp' | 'no_secret';

/** Why verify (or ingest, verifying inline) turned a message away: the signature verdicts plus a source that is gone. */
export type VerifyRejection = SignatureRejection | 'unknown_source';

/** Every {@link ValidateRejection} (a closed set; docs/validation.md explains each). */
const VALIDATE_REJECTIONS = Object.freeze([
  'malformed_body',
  'too_deep',
  'missing_event_type',
  'schema_violation',
  'no_schema',
  'schema_invalid',
  'regex_budget',
  'unknown_source',
] as const);

/** Why validate turned a message away. */
export type ValidateRejection = (typeof VALIDATE_REJECTIONS)[number];

/** One schema violation as reported in dead letters and `hs.obs.schema_failure`. */
export interface SchemaError {
  /** JSON Pointer into the event (ajv's `instancePath`), '' for the root. */
  readonly path: string;
  /** The JSON Schema keyword that failed (`required`, `type`, `additionalProperties`, …). */
  readonly keyword: string;
  readonly message: string;
}

/** The JSON type of a drifted property. */
export type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null';

/** The outcome classes of `hs.obs.attempt`, in the order of the `Enum8` in the migrations (deliver classifies, analytics checks). */
export const ATTEMPT_OUTCOMES = Object.freeze([
  'success',
  'http_4xx',
  'http_5xx',
  'rate_limited',
  'timeout',
  'dns',
  'connect',
  'tls',
  'blocked',
] as const);

/** The outcome class of one delivery attempt. */
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Why deliver gave a task up to `hs.dlq.deliver.{endpoint}` (the `hs-dlq-reason` header, the `reason` of `hs.obs.skipped`). */
export type DeliverDeadLetterReason =
  | 'endpoint_deleted'
  | 'endpoint_disabled'
  | 'endpoint_gone'
  | 'http_4xx'
  | 'blocked'
  | 'retries_exhausted'
  | 'no_active_secret';

/** The analytics record of a rejection, published on `hs.obs.rejection`. */
export interface RejectionRecord {
  readonly kind: 'rejection';
  readonly stage: 'verify' | 'ingest';
  readonly event_id: string;
  readonly source: string;
  readonly reason: VerifyRejection;
  readonly detail: string;
  readonly received_at: number;
  readonly at: number;
}

/** The analytics record of a dropped duplicate, published on `hs.obs.duplicate`. */
export interface DuplicateRecord {
  readonly kind: 'duplicate';
  readonly event_id: string;
  readonly source: string;
  readonly idempotency_key: string;
  readonly first_event_id: string;
  readonly age_ms: number;
  readonly received_at: number;
  readonly at: number;
}

/** The analytics record of a rejection at validate, published on `hs.obs.schema_failure`. */
export interface SchemaFailureRecord {
  readonly kind: 'schema_failure';
  readonly stage: 'validate';
  readonly event_id: string;
  readonly source: string;
  readonly event_type: string | null;
  readonly reason: ValidateRejection;
  /** ajv's errors for `schema_violation` (at most validate's `MAX_RECORDED_ERRORS`); one entry saying what failed otherwise. */
  readonly errors: readonly SchemaError[];
  readonly received_at: number;
  readonly at: number;
}

/** The analytics record of a property no schema declares, published on `hs.obs.drift`. */
export interface DriftRecord {
  readonly kind: 'drift';
  readonly source: string;
  readonly event_type: string;
  readonly path: string;
  readonly json_type: JsonType;
  /** The event in which the property was seen (the first within the interval). */
  readonly event_id: string;
  readonly at: number;
}

/** The analytics record of one delivery attempt, published on `hs.obs.attempt`. */
export interface AttemptRecord {
  readonly kind: 'attempt';
  readonly event_id: string;
  readonly endpoint_id: string;
  readonly source: string;
  readonly event_type: string;
  /** 1-based. */
  readonly attempt: number;
  /** HTTP status, or null when no response came back. */
  readonly status: number | null;
  readonly outcome: AttemptOutcome;
  readonly latency_ms: number;
  /** From `hs-received-at` to the end of this attempt. */
  readonly e2e_ms: number;
  /** When the next attempt is due (epoch ms), or null when there is none. */
  readonly next_retry_at: number | null;
  /** The first 1 KiB of the response body as text (empty when none). */
  readonly response_excerpt: string;
  /**
   * Why no response came, when none did (`timeout after 3000 ms`,
   * `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`, a DNS or TLS error);
   * absent when a response came back. At most 300 characters.
   */
  readonly error?: string;
  readonly at: number;
  /** The replay (`hs-replay`) of a replayed task; absent for the original delivery. Part of the row id. */
  readonly replay?: string;
  /**
   * A random id minted before the request was sent, one per HTTP request:
   * part of the record's `Nats-Msg-Id` and ClickHouse `row_id`, so an
   * attempt repeated after a crash is a row of its own.
   */
  readonly request_id: string;
}

/** The record of a task dead-lettered without an attempt, published on `hs.obs.skipped`. */
export interface SkippedRecord {
  readonly kind: 'skipped';
  readonly event_id: string;
  readonly endpoint_id: string;
  readonly source: string;
  readonly event_type: string;
  readonly reason: DeliverDeadLetterReason;
  /** Attempts made before (0 for a new task). */
  readonly attempts: number;
  readonly at: number;
  /** As {@link AttemptRecord.replay}. */
  readonly replay?: string;
}

/**
 * The analytics record of one answer ingest gave a webhook request,
 * published on `hs.obs.received` after the answer is sent (never delaying
 * or failing it). Acceptance rate per source = rows with status 202 / all
 * rows. Requests that never reached routing (a malformed request line, a
 * header timeout) have no record.
 */
export interface ReceivedRecord {
  readonly kind: 'received';
  /** One per request: the event id when one was minted, else a fresh UUIDv7. Part of the row id. */
  readonly request_id: string;
  /** The source id from the path, configured or not (an unknown source's 404 counts under it); '' when the path names none. */
  readonly source: string;
  /** The HTTP status ingest answered. */
  readonly status: number;
  /** Why a 4xx/5xx was answered (the error of the answer's body), '' for a 202. */
  readonly reason: string;
  /** Body bytes read (0 when refused before the body was read). */
  readonly bytes: number;
  /** The event id of an accepted (202) or inline-rejected (401) request, '' otherwise. */
  readonly event_id: string;
  readonly received_at: number;
  readonly at: number;
}

/** Every analytics record kind (`hs.obs.{kind}`) and the shape of its record. */
export interface RecordMap {
  readonly rejection: RejectionRecord;
  readonly duplicate: DuplicateRecord;
  readonly schema_failure: SchemaFailureRecord;
  readonly drift: DriftRecord;
  readonly attempt: AttemptRecord;
  readonly skipped: SkippedRecord;
  readonly received: ReceivedRecord;
}

/** An analytics record kind. */
export type RecordKind = keyof RecordMap;

/** The record shape of `kind`. */
export type RecordOf<K extends RecordKind> = RecordMap[K];

/** Every {@link RecordKind}; the mapped type makes tsc fail when a kind is added without its entry. */
const KIND_TABLE: { readonly [K in RecordKind]: K } = {
  rejection: 'rejection',
  duplicate: 'duplicate',
  schema_failure: 'schema_failure',
  drift: 'drift',
  attempt: 'attempt',
  skipped: 'skipped',
  received: 'received',
};

/** Every {@link RecordKind}, in table order. */
export const RECORD_KINDS: readonly RecordKind[] = Object.freeze(Object.values(KIND_TABLE));

/** Whether `kind` names an analytics record kind. Pure. */
export function isRecordKind(kind: unknown): kind is RecordKind {
  return typeof kind === 'string' && Object.hasOwn(KIND_TABLE, kind);
}

// Row ids take the fields they are built from (not whole records), so the
// analytics sink can derive them from what it parsed, including records
// written before a field existed.

/** `{event}:rejection:{stage}`: the ClickHouse `row_id` of a rejection. Pure. */
export function rejectionRowId(eventId: string, stage: string): string {
  return `${eventId}:rejection:${stage}`;
}

/** `{event}:duplicate`: the `row_id` of a duplicate. Pure. */
export function duplicateRowId(eventId: string): string {
  return `${eventId}:duplicate`;
}

/** `{event}:schema_failure`: the `row_id` of a schema failure. Pure. */
export function schemaFailureRowId(eventId: string): string {
  return `${eventId}:schema_failure`;
}

/** `{event}:drift:{path}`: the `row_id` of a drift finding. Pure. */
export function driftRowId(eventId: string, path: string): string {
  return `${eventId}:drift:${path}`;
}

/**
 * `{event}:{endpoint}[:{replay}]:attempt:{n}[:{request}]`: the `row_id` of an
 * attempt, equal to its `Nats-Msg-Id` (`attemptRecordId`); a record from
 * before request ids (`requestId` '') keeps its shorter id. Pure.
 */
export function attemptRowId(eventId: string, endpointId: string, attempt: number, requestId: string, replayId = ''): string {
  return `${deliveryKey(eventId, endpointId, replayId)}:attempt:${attempt}${requestId === '' ? '' : `:${requestId}`}`;
}

/**
 * The replay an attempt row belongs to, from its `row_id` ({@link attemptRowId}): `{event}:{endpoint}:{replay}:attempt:{n}:{request}`, or
 * without the request id (`…:attempt:{n}`) for rows written before deliver
 * minted one per request; '' for the original delivery's
 * `{event}:{endpoint}:attempt:{n}[:{request}]`. Replay ids may hold `:`,
 * request ids never do. Pure.
 */
export function replayOfAttemptRow(rowId: string, eventId: string, endpointId: string, attempt: number): string {
  const prefix = `${eventId}:${endpointId}:`;
  if (!rowId.startsWith(prefix)) return '';
  const tail = `attempt:${attempt}`;
  let rest = rowId.slice(prefix.length); // [{replay}:]attempt:{n}[:{request}]
  if (!rest.endsWith(tail)) rest = rest.slice(0, Math.max(0, rest.lastIndexOf(':')));
  if (rest === tail || !rest.endsWith(`:${tail}`)) return '';
  return rest.slice(0, rest.length - tail.length - 1);
}

/** The `row_id` of a skipped task: its `Nats-Msg-Id`, `{event}:{endpoint}[:{replay}]:skipped`. Pure. */
export const skippedRowId: (eventId: string, endpointId: string, replayId?: string) => string = skippedRecordId;

/** `{request}:received`: the `row_id` of a received record. Pure. */
export function receivedRowId(requestId: string): string {
  return `${requestId}:received`;
}

/**
 * The `Nats-Msg-Id` of each kind's record, from the record: a retried step
 * publishing the same record again is stored once. The mapped type makes tsc
 * fail when a kind is added without its id.
 */
const MSG_IDS: { readonly [K in RecordKind]: (r: RecordOf<K>) => string } = {
  rejection: (r) => `${r.event_id}:obs:rejection:${r.stage}`,
  duplicate: (r) => `${r.event_id}:obs:duplicate`,
  schema_failure: (r) => `${r.event_id}:obs:schema_failure`,
  drift: (r) => `${r.event_id}:obs:drift:${r.path}`,
  attempt: (r) => attemptRecordId(r.event_id, r.endpoint_id, r.attempt, r.request_id, r.replay),
  skipped: (r) => skippedRecordId(r.event_id, r.endpoint_id, r.replay),
  received: (r) => `${r.request_id}:obs:received`,
};

/** The `Nats-Msg-Id` of a record of `kind` ({@link MSG_IDS}). Pure. */
export function recordMsgId<K extends RecordKind>(kind: K, record: RecordOf<K>): string {
  return (MSG_IDS[kind] as (r: RecordOf<K>) => string)(record);
}
