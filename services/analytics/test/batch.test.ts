import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BatchMessage,
  defaultInsertRetryMs,
  heartbeatIntervalMs,
  logsWriteFailure,
  maxAckPending,
  planTables,
  sortBatch,
  unstoredRows,
} from '../src/batch.ts';
import type { ParsedRecord } from '../src/records.ts';
import { ATTEMPTS, REJECTIONS } from './fixtures.ts';

const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const msg = (record: unknown, redelivered = false): BatchMessage => ({ subject: 'hs.obs.x', data: bytes(record), redelivered });
const records = (msgs: readonly BatchMessage[]): ParsedRecord[] => sortBatch(msgs, (m) => m).held.map((h) => h.record);

describe('analytics batch', () => {
  it('batch: storable records are held in fetch order; unstorable ones are set aside with their reason', () => {
    const msgs = [msg(ATTEMPTS[0]), msg('{not json'), msg(REJECTIONS[0]), msg({ kind: 'nope', at: 1 })];
    const sorted = sortBatch(msgs, (m) => m);
    assert.deepEqual(
      sorted.held.map((h) => h.msg),
      [msgs[0], msgs[2]],
    );
    assert.deepEqual(
      sorted.held.map((h) => h.record.table.name),
      ['delivery_attempts', 'rejections'],
    );
    assert.deepEqual(
      sorted.unstorable.map((u) => [u.msg, u.reason]),
      [
        [msgs[1], 'unparseable'],
        [msgs[3], 'unknown_kind'],
      ],
    );
    assert.equal(sorted.mayBeStored, false);
  });

  it('batch: a batch may be stored already only when a held message was redelivered', () => {
    assert.equal(sortBatch([msg(ATTEMPTS[0]), msg(ATTEMPTS[1], true)], (m) => m).mayBeStored, true);
    // A redelivered record that cannot be stored is dead-lettered, not written: it does not make the batch check.
    assert.equal(sortBatch([msg(ATTEMPTS[0]), msg('{not json', true)], (m) => m).mayBeStored, false);
    assert.equal(sortBatch([], (m: BatchMessage) => m).mayBeStored, false);
  });

  it('batch: rows group into one entry per table in arrival order; a repeated row id is kept once (the first)', () => {
    const repeat = { ...(ATTEMPTS[0] as Record<string, unknown>), latency_ms: 999_999 };
    const plan = planTables(records([msg(ATTEMPTS[0]), msg(REJECTIONS[0]), msg(ATTEMPTS[1]), msg(repeat), msg(REJECTIONS[0])]));
    assert.deepEqual(
      plan.tables.map((t) => [t.table.name, t.rows.map((r) => r.row_id)]),
      [
        ['delivery_attempts', ['e1:billing:attempt:1', records([msg(ATTEMPTS[1])])[0]?.row.row_id]],
        ['rejections', ['r1:rejection:verify']],
      ],
    );
    assert.equal(plan.tables[0]?.rows[0]?.latency_ms, (ATTEMPTS[0] as { latency_ms: number }).latency_ms);
    assert.equal(plan.records, 5);
    assert.equal(plan.repeated, 2);
  });

  it('batch: an empty batch plans no table', () => {
    assert.deepEqual(planTables([]), { tables: [], records: 0, repeated: 0 });
  });

  it('batch: a retry sends only the rows the table does not hold yet, in order', () => {
    const rows = planTables(records(ATTEMPTS.slice(0, 4).map((a) => msg(a)))).tables[0]?.rows ?? [];
    assert.equal(rows.length, 4);
    const stored = new Set([rows[0]?.row_id, rows[2]?.row_id].filter((id) => id !== undefined));
    assert.deepEqual(unstoredRows(rows, stored), [rows[1], rows[3]]);
    assert.deepEqual(unstoredRows(rows, new Set()), rows);
  });

  it('batch: insert retries back off from 250 ms, doubling, capped at 5 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map(defaultInsertRetryMs), [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
  });

  it('batch: a write failure is logged the first time and every 20th, not in between', () => {
    assert.deepEqual([1, 2, 19, 20, 21, 40].map(logsWriteFailure), [true, false, false, true, false, true]);
  });

  it('batch: held messages get working() three times per ack wait, never more often than every 500 ms', () => {
    assert.equal(heartbeatIntervalMs(30_000), 10_000);
    assert.equal(heartbeatIntervalMs(1_000), 500);
  });

  it('batch: the consumer lets two batches be pending, at least 1,000 messages', () => {
    assert.equal(maxAckPending(5_000), 10_000);
    assert.equal(maxAckPending(100), 1_000);
  });
});
