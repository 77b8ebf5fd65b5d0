import { randomUUID } from 'node:crypto';
import type { RowStore } from '@hookstream/clickhouse';
import type { Logger } from '@hookstream/runtime';
import { logsWriteFailure, type TablePlan, unstoredRows } from './batch.ts';
import type { SinkCounts } from './sink.ts';

/** Options for {@link BatchWriter}. */
export interface BatchWriterOptions {
  readonly store: RowStore;
  readonly logger: Logger;
  /** Delay before retrying a failed write, by failures so far (1-based). */
  readonly retryDelayMs: (failures: number) => number;
  /** The sink's counts; the writer adds to `inserted`, `skipped`, `insertFailures` and `settleWaits`. */
  readonly counts: Pick<SinkCounts, 'inserted' | 'skipped' | 'insertFailures' | 'settleWaits'>;
  /** True once the sink is stopping: a held batch is given up rather than retried. */
  readonly stopping: () => boolean;
  /** Waits `ms`; resolves early when the sink stops. Never rejects. */
  readonly sleep: (ms: number) => Promise<void>;
}

// How often a retry asks whether a failed INSERT still runs.
const SETTLE_POLL_MS = 200;

/**
 * Writes a batch's rows to ClickHouse, one INSERT per table, retrying with
 * backoff until every table is stored or the sink stops. A batch that may
 * already be partly or wholly stored (a retried insert, a redelivered
 * message) first waits until ClickHouse runs none of its failed INSERTs (each
 * has a query id), then asks which `row_id`s it holds and sends only the
 * others, so retries neither lose nor double rows.
 */
export class BatchWriter {
  readonly #options: BatchWriterOptions;
  #clickhouseOk = true;

  constructor(options: BatchWriterOptions) {
    this.#options = options;
  }

  /** False while the last ClickHouse write failed (until one succeeds). */
  clickhouseOk(): boolean {
    return this.#clickhouseOk;
  }

  /**
   * Writes the plan's rows (`mayBeStored`: ask ClickHouse which are stored
   * before sending). Resolves true once ClickHouse accepted every table's
   * rows, false when the sink stopped before they were. Never throws.
   */
  async write(plan: TablePlan, mayBeStored: boolean): Promise<boolean> {
    const { store, logger, counts } = this.#options;
    counts.skipped += plan.repeated;
    const pending = new Set(plan.tables);
    let check = mayBeStored;
    let failures = 0;
    // INSERTs that failed on the client's side; ClickHouse may still be running them.
    const unsettled: string[] = [];
    while (true) {
      try {
        for (const entry of [...pending]) {
          const { table } = entry;
          let rows = entry.rows;
          if (check) {
            // Asking which rows are stored while a failed INSERT still runs would miss its rows and send them twice.
            await this.#settle(unsettled);
            const existing = await store.existingIds(table, rows);
            counts.skipped += existing.size;
            rows = unstoredRows(rows, existing);
          }
          const queryId = `hs-sink-${randomUUID()}`;
          try {
            await store.insert(table, rows, queryId);
          } catch (err) {
            unsettled.push(queryId);
            throw err;
          }
          counts.inserted += rows.length;
          pending.delete(entry);
        }
        if (!this.#clickhouseOk) logger.info({ failures }, 'clickhouse writes succeed again');
        this.#clickhouseOk = true;
        return true;
      } catch (err) {
        failures++;
        counts.insertFailures++;
        this.#clickhouseOk = false;
        // An INSERT that failed (a timeout, a dropped connection) may still
        // have been applied: from now on ask before sending.
        check = true;
        const delay = this.#options.retryDelayMs(failures);
        if (logsWriteFailure(failures)) {
          logger.warn({ err, failures, messages: plan.records, retryInMs: delay }, 'clickhouse write failed; holding the batch');
        }
        if (this.#options.stopping()) return false;
        await this.#options.sleep(delay);
        if (this.#options.stopping()) return false;
      }
    }
  }

  /**
   * Waits until ClickHouse runs none of `queryIds` (each INSERT has then
   * either been applied or not, for good), polling `system.processes`, and
   * empties the list. Throws when ClickHouse cannot answer or the sink stops.
   */
  async #settle(queryIds: string[]): Promise<void> {
    const { store, counts } = this.#options;
    while (queryIds.length > 0) {
      const running = await store.running(queryIds);
      if (running.size === 0) {
        queryIds.length = 0;
        return;
      }
      if (this.#options.stopping()) throw new Error('stopping while an INSERT still runs');
      counts.settleWaits++;
      await this.#options.sleep(SETTLE_POLL_MS);
    }
  }
}
