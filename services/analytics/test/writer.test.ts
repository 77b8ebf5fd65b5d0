import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Row, RowStore, TableSpec } from '@hookstream/clickhouse';
import { createLogger } from '@hookstream/runtime';
import { type BatchMessage, planTables, sortBatch, type TablePlan } from '../src/batch.ts';
import { BatchWriter } from '../src/writer.ts';
import { ATTEMPTS, REJECTIONS } from './fixtures.ts';

const logger = createLogger({ service: 'writer-test', level: 'silent' });
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const plan = (recs: readonly unknown[]): TablePlan =>
  planTables(
    sortBatch(
      recs.map((r): BatchMessage => ({ subject: 'hs.obs.x', data: bytes(r), redelivered: false })),
      (m) => m,
    ).held.map((h) => h.record),
  );

type Call =
  | { op: 'insert'; table: string; ids: string[]; queryId: string }
  | { op: 'existing'; table: string; ids: string[] }
  | { op: 'running'; queryIds: string[] };

/** A RowStore in memory whose calls fail as scripted (`failInserts` INSERTs throw, after storing their rows when `applyFailed`). */
class FakeStore implements RowStore {
  readonly calls: Call[] = [];
  readonly stored = new Map<string, Set<string>>();
  failInserts = 0;
  applyFailed = false;
  /** How many `running()` polls still report a failed INSERT as running. */
  stillRunning = 0;
  async insert(table: TableSpec, rows: readonly Row[], queryId = ''): Promise<void> {
    const ids = rows.map((r) => String(r.row_id));
    this.calls.push({ op: 'insert', table: table.name, ids, queryId });
    const fail = this.failInserts > 0;
    if (fail) this.failInserts--;
    if (!fail || this.applyFailed) {
      const set = this.stored.get(table.name) ?? new Set();
      for (const id of ids) set.add(id);
      this.stored.set(table.name, set);
    }
    if (fail) throw new Error('insert timed out');
  }
  async existingIds(table: TableSpec, rows: readonly (Row & { readonly row_id: string })[]): Promise<Set<string>> {
    const ids = rows.map((r) => r.row_id);
    this.calls.push({ op: 'existing', table: table.name, ids });
    const set = this.stored.get(table.name) ?? new Set();
    return new Set(ids.filter((id) => set.has(id)));
  }
  async running(queryIds: readonly string[]): Promise<Set<string>> {
    this.calls.push({ op: 'running', queryIds: [...queryIds] });
    if (this.stillRunning > 0) {
      this.stillRunning--;
      return new Set(queryIds);
    }
    return new Set();
  }
}

const setup = (store: FakeStore, stopAfterSleeps = Number.POSITIVE_INFINITY) => {
  const counts = { inserted: 0, skipped: 0, insertFailures: 0, settleWaits: 0 };
  const sleeps: number[] = [];
  let stopping = false;
  const writer = new BatchWriter({
    store,
    logger,
    retryDelayMs: (failures) => failures * 10,
    counts,
    stopping: () => stopping,
    sleep: async (ms) => {
      sleeps.push(ms);
      if (sleeps.length >= stopAfterSleeps) stopping = true;
    },
  });
  return { writer, counts, sleeps };
};

describe('analytics batch writer', () => {
  it('writer: a fresh batch is one INSERT per table, sent without asking what is stored', async () => {
    const store = new FakeStore();
    const { writer, counts, sleeps } = setup(store);
    const ok = await writer.write(plan([ATTEMPTS[0], REJECTIONS[0], ATTEMPTS[0]]), false);
    assert.equal(ok, true);
    assert.deepEqual(
      store.calls.map((c) => [c.op, 'table' in c ? c.table : '', 'ids' in c ? c.ids : []]),
      [
        ['insert', 'delivery_attempts', ['e1:billing:attempt:1']],
        ['insert', 'rejections', ['r1:rejection:verify']],
      ],
    );
    assert.deepEqual(counts, { inserted: 2, skipped: 1, insertFailures: 0, settleWaits: 0 });
    assert.deepEqual(sleeps, []);
    assert.equal(writer.clickhouseOk(), true);
  });

  it('writer: a batch that may be stored sends only the rows ClickHouse does not hold', async () => {
    const store = new FakeStore();
    store.stored.set('delivery_attempts', new Set(['e1:billing:attempt:1']));
    const { writer, counts } = setup(store);
    assert.equal(await writer.write(plan([ATTEMPTS[0], ATTEMPTS[1]]), true), true);
    const inserts = store.calls.filter((c) => c.op === 'insert');
    assert.equal(inserts.length, 1);
    assert.equal(inserts[0]?.op === 'insert' && inserts[0].ids.includes('e1:billing:attempt:1'), false);
    assert.deepEqual(counts, { inserted: 1, skipped: 1, insertFailures: 0, settleWaits: 0 });
  });

  it('writer: after a failed INSERT that was applied, the retry waits for it to settle and sends nothing twice', async () => {
    // Scenario: the first INSERT times out on the client but runs on; the retry polls until it ends, then finds its rows stored.
    const store = new FakeStore();
    store.failInserts = 1;
    store.applyFailed = true;
    store.stillRunning = 1;
    const { writer, counts, sleeps } = setup(store);
    assert.equal(await writer.write(plan([ATTEMPTS[0]]), false), true);
    const [first, ...rest] = store.calls;
    assert.equal(first?.op, 'insert');
    const failedQuery = first?.op === 'insert' ? first.queryId : '';
    assert.match(failedQuery, /^hs-sink-/);
    assert.deepEqual(
      rest.map((c) => c.op),
      ['running', 'running', 'existing', 'insert'],
    );
    assert.deepEqual(rest[0], { op: 'running', queryIds: [failedQuery] });
    const retry = rest[3];
    assert.deepEqual(retry?.op === 'insert' ? retry.ids : undefined, []);
    assert.notEqual(retry?.op === 'insert' ? retry.queryId : failedQuery, failedQuery);
    // The backoff for failure 1, then one settle poll.
    assert.deepEqual(sleeps, [10, 200]);
    assert.deepEqual(counts, { inserted: 0, skipped: 1, insertFailures: 1, settleWaits: 1 });
    assert.deepEqual([...(store.stored.get('delivery_attempts') ?? [])], ['e1:billing:attempt:1']);
    assert.equal(writer.clickhouseOk(), true);
  });

  it('writer: a table already written is not sent again when a later table fails', async () => {
    const store = new FakeStore();
    const { writer, counts } = setup(store);
    let inserts = 0;
    const insert = store.insert.bind(store);
    store.insert = async (table, rows, queryId) => {
      inserts++;
      if (inserts === 2) store.failInserts = 1;
      return insert(table, rows, queryId);
    };
    assert.equal(await writer.write(plan([ATTEMPTS[0], REJECTIONS[0]]), false), true);
    assert.deepEqual(
      store.calls.filter((c) => c.op !== 'running').map((c) => `${c.op}:${'table' in c ? c.table : ''}`),
      ['insert:delivery_attempts', 'insert:rejections', 'existing:rejections', 'insert:rejections'],
    );
    assert.deepEqual(counts, { inserted: 2, skipped: 0, insertFailures: 1, settleWaits: 0 });
  });

  it('writer: while ClickHouse fails it reports not ok and backs off; stopping gives the batch up', async () => {
    const store = new FakeStore();
    store.failInserts = 100;
    const { writer, counts, sleeps } = setup(store, 3);
    assert.equal(await writer.write(plan([ATTEMPTS[0]]), false), false);
    assert.deepEqual(sleeps, [10, 20, 30]);
    assert.equal(counts.insertFailures, 3);
    assert.equal(counts.inserted, 0);
    assert.equal(writer.clickhouseOk(), false);
  });
});
