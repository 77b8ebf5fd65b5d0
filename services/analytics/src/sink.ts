import type { RowStore } from '@hookstream/clickhouse';
import { ensureDurableConsumer, type Logger, metrics, publishDeadLetter } from '@hookstream/runtime';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { defaultInsertRetryMs, heartbeatIntervalMs, maxAckPending, planTables, sortBatch } from './batch.ts';
import { BatchWriter } from './writer.ts';

/** Options for {@link startSink}. */
export interface SinkOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly logger: Logger;
  readonly store: RowStore;
  /** `HS_OBS`. */
  readonly stream: string;
  /** Durable consumer name; replicas share it. */
  readonly durable: string;
  /** `hs.obs.>`. */
  readonly filterSubject: string;
  /** `hs.dlq.analytics.obs`: where records that cannot be stored go. */
  readonly deadLetterSubject: string;
  /** Most messages in one batch. */
  readonly batchSize: number;
  /** Longest wait for a batch to fill (ms, at least 1,000: JetStream's shortest pull expiry). */
  readonly batchIntervalMs: number;
  /** The consumer's ack wait; held messages get `working()` three times per period. */
  readonly ackWaitMs: number;
  /** Delay before retrying a failed insert, by failures so far (1-based). Default 250 ms doubling to 5 s. */
  readonly retryDelayMs?: (failures: number) => number;
}

/** Counts since start, for tests, logs and the benchmark. */
export interface SinkCounts {
  /** Batches written (ClickHouse accepted every row, messages acked). */
  batches: number;
  /** Messages acked after their batch was written. */
  acked: number;
  /** Rows sent in INSERTs. */
  inserted: number;
  /** Rows not sent because they repeated a row in the same batch or were already stored. */
  skipped: number;
  /** Records dead-lettered as unstorable. */
  deadLettered: number;
  /** INSERT (or existence check) failures; each is retried. */
  insertFailures: number;
  /** Polls that found a failed INSERT still running on the server (the retry waited for it). */
  settleWaits: number;
}

/** The running sink. */
export interface Sink {
  readonly counts: Readonly<SinkCounts>;
  /** False once the fetch loop died of an unexpected error (the service reports unhealthy). */
  healthy(): boolean;
  /** False while the last ClickHouse write failed (until one succeeds). */
  clickhouseOk(): boolean;
  /**
   * Stops fetching. A batch being written finishes; one waiting for
   * ClickHouse to come back is nak'ed (redelivered later, to any replica).
   * Resolves when the loop has ended. Never throws.
   */
  stop(): Promise<void>;
}

// The decisions are pure (batch.ts); ClickHouse writes and their retries are the writer's (writer.ts).
const STAGE = 'analytics';

/**
 * Creates (or updates) the durable pull consumer on `hs.obs.>` and runs the
 * batching loop: fetch up to `batchSize` messages or until `batchIntervalMs`
 * passes; parse each record (unstorable ones are dead-lettered and termed);
 * write each table's rows in one INSERT; ack the messages only after
 * ClickHouse accepted all of the batch's rows. While ClickHouse fails the
 * batch is held and retried with backoff (`working()` keeps JetStream from
 * redelivering it) and nothing more is fetched, so an outage backs up in the
 * stream. A batch that may already be partly or wholly stored (a retried
 * insert, a redelivered message) first waits until ClickHouse runs none of
 * its failed INSERTs (each has a query id), then asks which `row_id`s it
 * holds and sends only the others, so retries neither lose nor double rows.
 * Resolves once the consumer exists; throws when it cannot be made.
 */
export async function startSink(options: SinkOptions): Promise<Sink> {
  const { js, jsm, logger, store } = options;
  await ensureConsumer(jsm, options);
  const consumer = await js.consumers.get(options.stream, options.durable);
  const counts: SinkCounts = { batches: 0, acked: 0, inserted: 0, skipped: 0, deadLettered: 0, insertFailures: 0, settleWaits: 0 };
  let healthy = true;
  let stopping = false;
  let current: ConsumerMessages | undefined;
  let wakeRetry: (() => void) | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeRetry = undefined;
        resolve();
      }
      wakeRetry = done;
    });

  const writer = new BatchWriter({
    store,
    logger,
    retryDelayMs: options.retryDelayMs ?? defaultInsertRetryMs,
    counts,
    stopping: () => stopping,
    sleep,
  });

  const deadLetter = async (msg: JsMsg, reason: string, detail: string): Promise<void> => {
    try {
      await publishDeadLetter(js, msg, options.deadLetterSubject, STAGE, reason, detail);
      msg.term(reason);
      counts.deadLettered++;
      metrics.stageMessages.inc({ stage: STAGE, outcome: 'term' });
      logger.warn({ subject: msg.subject, seq: msg.seq, reason, detail }, 'analytics record dead-lettered');
    } catch (err) {
      // Never dropped: it comes back and is tried again.
      logger.error({ err, subject: msg.subject }, 'dead-letter publish failed; will retry');
      msg.nak(5_000);
    }
  };

  const processBatch = async (msgs: readonly JsMsg[]): Promise<void> => {
    const { held, unstorable, mayBeStored } = sortBatch(msgs, (m) => ({
      subject: m.subject,
      data: m.data,
      redelivered: m.info.redelivered,
    }));
    const bad = unstorable.map((u) => deadLetter(u.msg, u.reason, u.detail));
    // Keep JetStream from redelivering what is held while ClickHouse is slow or down.
    const heartbeat = setInterval(() => {
      for (const h of held) h.msg.working();
    }, heartbeatIntervalMs(options.ackWaitMs));
    try {
      if (held.length === 0) return;
      const stored = await writer.write(planTables(held.map((h) => h.record)), mayBeStored);
      if (!stored) {
        // Shutting down during an outage: hand the batch back for later.
        for (const h of held) h.msg.nak(1_000);
        metrics.stageMessages.inc({ stage: STAGE, outcome: 'nak' }, held.length);
        return;
      }
      // A lost ack only means a redelivery, which the existence check absorbs.
      for (const h of held) h.msg.ack();
      counts.batches++;
      counts.acked += held.length;
      metrics.stageMessages.inc({ stage: STAGE, outcome: 'ack' }, held.length);
    } finally {
      clearInterval(heartbeat);
      await Promise.all(bad);
    }
  };

  const loop = (async () => {
    while (!stopping) {
      let batch: JsMsg[] = [];
      try {
        current = await consumer.fetch({ max_messages: options.batchSize, expires: options.batchIntervalMs });
        for await (const m of current) batch.push(m);
      } catch (err) {
        if (stopping) break;
        // NATS reconnecting, a leader election: the messages come back after ack_wait.
        logger.warn({ err }, 'fetch failed; retrying');
        batch = [];
        await sleep(1_000);
        await ensureConsumer(jsm, options).catch((e: unknown) => logger.warn({ err: e }, 'consumer check failed'));
        continue;
      } finally {
        current = undefined;
      }
      if (batch.length > 0) await processBatch(batch);
    }
  })().catch((err: unknown) => {
    healthy = false;
    logger.error({ err }, 'analytics sink loop failed');
  });

  return {
    counts,
    healthy: () => healthy,
    clickhouseOk: () => writer.clickhouseOk(),
    stop: async () => {
      stopping = true;
      current?.stop();
      wakeRetry?.();
      await loop;
    },
  };
}

function ensureConsumer(jsm: JetStreamManager, options: SinkOptions): Promise<void> {
  // Unlimited deliveries: an outage must never exhaust a record's deliveries.
  return ensureDurableConsumer(jsm, {
    stream: options.stream,
    durable: options.durable,
    filterSubject: options.filterSubject,
    ackWaitMs: options.ackWaitMs,
    maxAckPending: maxAckPending(options.batchSize),
  });
}
