import type { Row, TableSpec } from '@hookstream/clickhouse';
import {
  ATTEMPT_OUTCOMES,
  attemptRowId,
  driftRowId,
  duplicateRowId,
  isRecordKind,
  type RecordKind,
  type RecordOf,
  receivedRowId,
  rejectionRowId,
  schemaFailureRowId,
  skippedRowId,
} from '@hookstream/contracts';

/**
 * The tables the sink writes, one per record kind of the contracts
 * (deploy/clickhouse/migrations/0001_tables.sql, 0004_received_and_times.sql); the mapped type makes tsc
 * fail when a kind is added without its table.
 */
export const TABLES: { readonly [K in RecordKind]: TableSpec } = Object.freeze({
  rejection: { name: 'rejections', groupColumn: 'source' },
  duplicate: { name: 'duplicates', groupColumn: 'source' },
  schema_failure: { name: 'schema_failures', groupColumn: 'source' },
  drift: { name: 'drift', groupColumn: 'source' },
  attempt: { name: 'delivery_attempts', groupColumn: 'endpoint_id' },
  skipped: { name: 'delivery_skipped', groupColumn: 'endpoint_id' },
  received: { name: 'received', groupColumn: 'source' },
});

/** Why a record was dead-lettered to `hs.dlq.analytics.obs` (the `hs-dlq-reason` header). */
export type RejectReason = 'unparseable' | 'invalid_record' | 'unknown_kind';

/** A parsed record: its table and the row, `row_id` included. */
export interface ParsedRecord {
  readonly ok: true;
  readonly kind: RecordKind;
  readonly table: TableSpec;
  readonly row: Row & { readonly row_id: string; readonly at: number };
}

/** A record that cannot be stored, and why. */
export interface BadRecord {
  readonly ok: false;
  readonly reason: RejectReason;
  readonly detail: string;
}

class InvalidField extends Error {
  override name = 'InvalidField';
}

type Obj = Readonly<Record<string, unknown>>;

/**
 * A record of `kind` as it arrives: every field of the contracts' record
 * type, each of unknown shape until checked. The field helpers take a key of
 * this, so a field name the producers do not write fails to compile.
 */
type Incoming<K extends RecordKind> = { readonly [F in keyof RecordOf<K>]?: unknown };

const UINT32_MAX = 4_294_967_295;

function str<T extends object>(o: T, key: keyof T & string, maxLength = 65_536): string {
  const v = o[key];
  if (typeof v !== 'string') throw new InvalidField(`${key}: expected a string`);
  return v.length > maxLength ? v.slice(0, maxLength) : v;
}

function id<T extends object>(o: T, key: keyof T & string): string {
  const v = str(o, key, 1_024);
  if (v === '') throw new InvalidField(`${key}: expected a non-empty string`);
  return v;
}

function optStr<T extends object>(o: T, key: keyof T & string): string {
  return o[key] === undefined || o[key] === null ? '' : str(o, key);
}

function uint<T extends object>(o: T, key: keyof T & string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max)
    throw new InvalidField(`${key}: expected a number from 0 to ${max}`);
  return Math.round(v);
}

function optUint<T extends object>(o: T, key: keyof T & string, max = Number.MAX_SAFE_INTEGER): number {
  return o[key] === undefined || o[key] === null ? 0 : uint(o, key, max);
}

function nullableUint<T extends object>(o: T, key: keyof T & string, max = Number.MAX_SAFE_INTEGER): number | null {
  return o[key] === null || o[key] === undefined ? null : uint(o, key, max);
}

function rejection(o: Incoming<'rejection'>): ParsedRecord['row'] {
  const eventId = id(o, 'event_id');
  const stage = id(o, 'stage');
  return {
    row_id: rejectionRowId(eventId, stage),
    event_id: eventId,
    source: str(o, 'source'),
    stage,
    reason: str(o, 'reason'),
    detail: optStr(o, 'detail'),
    received_at: optUint(o, 'received_at'),
    at: uint(o, 'at'),
  };
}

function duplicate(o: Incoming<'duplicate'>): ParsedRecord['row'] {
  const eventId = id(o, 'event_id');
  return {
    row_id: duplicateRowId(eventId),
    event_id: eventId,
    source: str(o, 'source'),
    idempotency_key: optStr(o, 'idempotency_key'),
    first_event_id: optStr(o, 'first_event_id'),
    age_ms: optUint(o, 'age_ms'),
    received_at: optUint(o, 'received_at'),
    at: uint(o, 'at'),
  };
}

function schemaFailure(o: Incoming<'schema_failure'>): ParsedRecord['row'] {
  const eventId = id(o, 'event_id');
  const errors = o.errors === undefined || o.errors === null ? [] : o.errors;
  if (!Array.isArray(errors)) throw new InvalidField('errors: expected an array');
  const eventType = o.event_type === null || o.event_type === undefined ? null : str(o, 'event_type');
  return {
    row_id: schemaFailureRowId(eventId),
    event_id: eventId,
    source: str(o, 'source'),
    stage: o.stage === undefined ? 'validate' : str(o, 'stage'),
    event_type: eventType,
    reason: str(o, 'reason'),
    errors: JSON.stringify(errors),
    error_count: errors.length,
    received_at: optUint(o, 'received_at'),
    at: uint(o, 'at'),
  };
}

function drift(o: Incoming<'drift'>): ParsedRecord['row'] {
  const eventId = id(o, 'event_id');
  const path = id(o, 'path');
  return {
    row_id: driftRowId(eventId, path),
    event_id: eventId,
    source: str(o, 'source'),
    event_type: str(o, 'event_type'),
    path,
    json_type: str(o, 'json_type'),
    at: uint(o, 'at'),
  };
}

function attempt(o: Incoming<'attempt'>): ParsedRecord['row'] {
  const eventId = id(o, 'event_id');
  const endpointId = id(o, 'endpoint_id');
  const n = uint(o, 'attempt', UINT32_MAX);
  const replay = optStr(o, 'replay');
  const requestId = optStr(o, 'request_id');
  const outcome = o.outcome;
  if (typeof outcome !== 'string' || !(ATTEMPT_OUTCOMES as readonly string[]).includes(outcome)) {
    throw new InvalidField(`outcome: expected one of ${ATTEMPT_OUTCOMES.join(', ')}`);
  }
  return {
    // A replayed task's attempts get their own rows, and so does each HTTP
    // request (an attempt repeated after a crash has a new request_id);
    // records from before request ids keep theirs.
    row_id: attemptRowId(eventId, endpointId, n, requestId, replay),
    event_id: eventId,
    endpoint_id: endpointId,
    source: str(o, 'source'),
    event_type: optStr(o, 'event_type'),
    attempt: n,
    status: nullableUint(o, 'status', 65_535),
    outcome,
    latency_ms: uint(o, 'latency_ms', UINT32_MAX),
    e2e_ms: uint(o, 'e2e_ms'),
    next_retry_at: nullableUint(o, 'next_retry_at'),
    // The record promises at most 1 KiB; keep a bad producer from bloating rows.
    // An attempt without a response has no body: the column keeps deliver's
    // `error` instead (control reads it back as the attempt's error), so no
    // column is added to a table ClickHouse 18.16 cannot ALTER idempotently.
    response_excerpt: (optStr(o, 'response_excerpt') || optStr(o, 'error')).slice(0, 1_024),
    at: uint(o, 'at'),
  };
}

function skipped(o: Incoming<'skipped'>): ParsedRecord['row'] {
  const eventId = id(o, 'event_id');
  const endpointId = id(o, 'endpoint_id');
  const replay = optStr(o, 'replay');
  return {
    row_id: skippedRowId(eventId, endpointId, replay),
    event_id: eventId,
    endpoint_id: endpointId,
    source: str(o, 'source'),
    event_type: optStr(o, 'event_type'),
    reason: str(o, 'reason'),
    attempts: optUint(o, 'attempts', UINT32_MAX),
    at: uint(o, 'at'),
  };
}

function received(o: Incoming<'received'>): ParsedRecord['row'] {
  const requestId = id(o, 'request_id');
  return {
    row_id: receivedRowId(requestId),
    request_id: requestId,
    // A path's source id is whatever the sender wrote; keep rows small.
    source: str(o, 'source', 256),
    status: uint(o, 'status', 65_535),
    reason: optStr(o, 'reason').slice(0, 1_024),
    bytes: optUint(o, 'bytes'),
    event_id: optStr(o, 'event_id'),
    received_at: uint(o, 'received_at'),
    at: uint(o, 'at'),
  };
}

const BUILDERS: { readonly [K in RecordKind]: (o: Incoming<K>) => ParsedRecord['row'] } = {
  rejection,
  duplicate,
  schema_failure: schemaFailure,
  drift,
  attempt,
  skipped,
  received,
};

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns one `hs.obs.{kind}` message body into a row for its table, with the
 * record's deterministic `row_id` (the same string the producer's
 * `Nats-Msg-Id` is built from, so a repeated record always maps to the same
 * row). The kind is the record's `kind` field, or the subject's last token
 * when the record has none. Pure; never throws: a body that is not JSON,
 * a missing or mistyped field, or an unknown kind is a {@link BadRecord}.
 */
export function parseRecord(subject: string, data: Uint8Array): ParsedRecord | BadRecord {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch (err) {
    return { ok: false, reason: 'unparseable', detail: `not UTF-8 JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'unparseable', detail: 'not a JSON object' };
  }
  const o = value as Obj;
  const kind = typeof o.kind === 'string' ? o.kind : subject.split('.').pop();
  if (!isRecordKind(kind)) {
    return { ok: false, reason: 'unknown_kind', detail: `no table for kind ${JSON.stringify(kind)}` };
  }
  const k = kind;
  try {
    return { ok: true, kind: k, table: TABLES[k], row: (BUILDERS[k] as (o: Obj) => ParsedRecord['row'])(o) };
  } catch (err) {
    if (err instanceof InvalidField) return { ok: false, reason: 'invalid_record', detail: `${k}: ${err.message}` };
    throw err;
  }
}
