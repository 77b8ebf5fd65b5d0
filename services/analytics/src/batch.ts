import type { TableSpec } from '@hookstream/clickhouse';
import { type BadRecord, type ParsedRecord, parseRecord } from './records.ts';

// The sink's pure decisions: which fetched messages are storable, how a
// batch's rows group into one INSERT per table (a row_id once), which rows a
// retry still has to send, and the retry and heartbeat timings. No I/O here:
// the writer (writer.ts) and the fetch loop (sink.ts) act on these values.

/** A row the sink stores: `row_id` (the dedup key) and `at` always present. */
type StoredRow = ParsedRecord['row'];

/** What the batch module needs of a fetched message. */
export interface BatchMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Delivered before: its row may already be stored. */
  readonly redelivered: boolean;
}

/** A message whose record can be stored, held until its batch is written. */
interface HeldRecord<M> {
  readonly msg: M;
  readonly record: ParsedRecord;
}

/** A message whose record cannot be stored (dead-lettered), and why. */
interface UnstorableRecord<M> {
  readonly msg: M;
  readonly reason: BadRecord['reason'];
  readonly detail: string;
}

/** A fetched batch sorted by {@link sortBatch}. */
interface SortedBatch<M> {
  /** Storable records, in fetch order. */
  readonly held: readonly HeldRecord<M>[];
  /** Records to dead-letter, in fetch order. */
  readonly unstorable: readonly UnstorableRecord<M>[];
  /** True when any held message was delivered before (ask ClickHouse which rows it holds before sending). */
  readonly mayBeStored: boolean;
}

/**
 * Parses every message of a fetched batch (`parseRecord` on its subject and
 * data) and sorts it into held (storable) or unstorable, keeping fetch order.
 * Never throws.
 */
export function sortBatch<M>(msgs: readonly M[], view: (msg: M) => BatchMessage): SortedBatch<M> {
  const held: HeldRecord<M>[] = [];
  const unstorable: UnstorableRecord<M>[] = [];
  let mayBeStored = false;
  for (const msg of msgs) {
    const m = view(msg);
    const parsed = parseRecord(m.subject, m.data);
    if (parsed.ok) {
      held.push({ msg, record: parsed });
      if (m.redelivered) mayBeStored = true;
    } else {
      unstorable.push({ msg, reason: parsed.reason, detail: parsed.detail });
    }
  }
  return { held, unstorable, mayBeStored };
}

/** One table's rows of a batch: one INSERT. */
interface TableRows {
  readonly table: TableSpec;
  readonly rows: readonly StoredRow[];
}

/** A batch's rows grouped by table by {@link planTables}. */
export interface TablePlan {
  /** One entry per table, in the order its first record arrived; rows in arrival order. */
  readonly tables: readonly TableRows[];
  /** Records planned (stored rows plus repeats). */
  readonly records: number;
  /** Rows dropped because they repeated a `row_id` earlier in the batch (same table). */
  readonly repeated: number;
}

/**
 * Groups records by table, one row per `row_id` (a record repeated inside
 * the batch is stored once: the first one wins). Never throws.
 */
export function planTables(records: readonly ParsedRecord[]): TablePlan {
  const byTable = new Map<TableSpec, Map<string, StoredRow>>();
  let repeated = 0;
  for (const record of records) {
    let rows = byTable.get(record.table);
    if (rows === undefined) {
      rows = new Map();
      byTable.set(record.table, rows);
    }
    if (rows.has(record.row.row_id)) repeated++;
    else rows.set(record.row.row_id, record.row);
  }
  return { tables: [...byTable].map(([table, rows]) => ({ table, rows: [...rows.values()] })), records: records.length, repeated };
}

/** The rows of `rows` whose `row_id` is not in `existing` (already stored), in order. Never throws. */
export function unstoredRows(rows: readonly StoredRow[], existing: ReadonlySet<string>): StoredRow[] {
  return rows.filter((r) => !existing.has(r.row_id));
}

/** Delay before retrying a failed insert: 250 ms, 500 ms, 1 s … capped at 5 s, by failures so far (1-based). */
export const defaultInsertRetryMs = (failures: number): number => Math.min(5_000, 250 * 2 ** Math.max(0, failures - 1));

/** Whether the `failures`-th consecutive write failure is logged: the first and every 20th, so an outage does not flood the log. */
export function logsWriteFailure(failures: number): boolean {
  return failures === 1 || failures % 20 === 0;
}

/** How often held messages get `working()`: three times per ack wait, and no more often than every 500 ms. */
export function heartbeatIntervalMs(ackWaitMs: number): number {
  return Math.max(500, Math.floor(ackWaitMs / 3));
}

/** The consumer's `max_ack_pending`: two batches, at least 1,000. */
export function maxAckPending(batchSize: number): number {
  return Math.max(batchSize * 2, 1_000);
}
