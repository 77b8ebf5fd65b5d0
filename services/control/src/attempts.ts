import { quote, type SqlRunner } from '@hookstream/clickhouse';
import { replayOfAttemptRow } from '@hookstream/contracts';
import type { DeliveryAttempt } from '@hookstream/proto';

/** Where GetEvent finds an event's delivery attempts. */
export interface AttemptSource {
  /** The attempts, oldest first, and a note when they may be incomplete. Never throws. */
  attempts(eventId: string): Promise<{ readonly attempts: DeliveryAttempt[]; readonly note: string }>;
  /**
   * ListEvents' `delivery_status` of each event id (see {@link deliveryStatus}),
   * or undefined without ClickHouse. Throws when the query fails.
   */
  statuses(eventIds: readonly string[]): Promise<Map<string, DeliveryStatus> | undefined>;
}

/** An event's delivery as the events list shows and filters it. */
export type DeliveryStatus = 'delivered' | 'failing' | 'pending';

/** Every {@link DeliveryStatus}, for checking a request. */
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = Object.freeze(['delivered', 'failing', 'pending']);

/**
 * An event's status from each endpoint's newest attempt outcome: `pending`
 * with none, `delivered` when every one succeeded, else `failing`. Pure.
 */
export function deliveryStatus(lastOutcomes: readonly string[]): DeliveryStatus {
  if (lastOutcomes.length === 0) return 'pending';
  return lastOutcomes.every((o) => o === 'success') ? 'delivered' : 'failing';
}

/** The SELECT of each (event, endpoint)'s newest attempt outcome for a page of event ids. Pure. */
export function lastOutcomesSql(database: string, eventIds: readonly string[]): string {
  return `SELECT event_id, endpoint_id, argMax(toString(outcome), (at, attempt)) AS last
FROM ${database}.delivery_attempts FINAL
WHERE event_id IN (${eventIds.map(quote).join(', ')})
GROUP BY event_id, endpoint_id`;
}

/** Runs a SELECT (`ClickHouseRowStore` of `@hookstream/clickhouse` fits). */
export type SelectRunner = Pick<SqlRunner, 'select'>;

/** The note when no ClickHouse is configured. */
export const NO_CLICKHOUSE_NOTE =
  'delivery attempts come from ClickHouse (HS_OBS is drained by analytics); set HS_CLICKHOUSE_URL on the control service to see them';

/** The SELECT that reads one event's attempts from `{database}.delivery_attempts`. Pure. */
export function attemptsSql(database: string, eventId: string): string {
  return `SELECT row_id, endpoint_id, attempt, status, toString(outcome) AS outcome, latency_ms, at, next_retry_at, response_excerpt
FROM ${database}.delivery_attempts FINAL
WHERE event_id = ${quote(eventId)}
ORDER BY at, endpoint_id, attempt
LIMIT 1000`;
}

interface AttemptRow {
  row_id: string;
  endpoint_id: string;
  attempt: number;
  status: number | null;
  outcome: string;
  latency_ms: number;
  at: number;
  next_retry_at: number | null;
  response_excerpt: string;
}

/** {@link AttemptSource} over ClickHouse's `delivery_attempts` (docs/analytics.md). A failed query answers no attempts and says why. */
export function clickHouseAttempts(runner: SelectRunner, database: string): AttemptSource {
  return {
    attempts: async (eventId) => {
      try {
        const rows = await runner.select<AttemptRow>(attemptsSql(database, eventId));
        return {
          attempts: rows.map((r) => ({
            endpointId: r.endpoint_id,
            attempt: Number(r.attempt),
            status: Number(r.status ?? 0),
            outcome: r.outcome,
            latencyMs: Number(r.latency_ms),
            atMs: Number(r.at),
            nextRetryAtMs: Number(r.next_retry_at ?? 0),
            // Without a response the column holds deliver's error (analytics' attempt row).
            responseExcerpt: r.status === null ? '' : r.response_excerpt,
            error: r.status === null ? r.response_excerpt : '',
            replay: replayOfAttemptRow(r.row_id, eventId, r.endpoint_id, Number(r.attempt)),
          })),
          note: '',
        };
      } catch (err) {
        return { attempts: [], note: `ClickHouse query failed: ${(err as Error).message.slice(0, 300)}` };
      }
    },
    statuses: async (eventIds) => {
      const lasts = new Map<string, string[]>(eventIds.map((id) => [id, []]));
      if (eventIds.length > 0) {
        const rows = await runner.select<{ event_id: string; last: string }>(lastOutcomesSql(database, eventIds));
        for (const r of rows) lasts.get(r.event_id)?.push(r.last);
      }
      return new Map([...lasts].map(([id, outcomes]) => [id, deliveryStatus(outcomes)]));
    },
  };
}

/** The {@link AttemptSource} without ClickHouse: no attempts, and {@link NO_CLICKHOUSE_NOTE}. */
export const NO_ATTEMPTS: AttemptSource = {
  attempts: async () => ({ attempts: [], note: NO_CLICKHOUSE_NOTE }),
  statuses: async () => undefined,
};
