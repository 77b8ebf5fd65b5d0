import { quote, type SqlRunner } from './clickhouse.ts';

/** What {@link endpointStats} reports for one endpoint over a window. */
export interface EndpointStats {
  readonly endpointId: string;
  readonly attempts: number;
  readonly successes: number;
  /** successes / attempts, 0 when there were none. */
  readonly successRate: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly latencyP99Ms: number;
  /** Attempts by outcome class (`success`, `timeout`, `http_5xx`, …). */
  readonly outcomes: Readonly<Record<string, number>>;
}

/** The window and optional endpoint of a stats question. */
export interface StatsQuery {
  readonly endpointId?: string;
  readonly sinceMs: number;
  readonly untilMs: number;
}

const minute = (ms: number): string => `toDateTime(${Math.floor(ms / 60_000) * 60})`;

/**
 * Success rate, latency percentiles and outcome counts per endpoint between
 * `sinceMs` and `untilMs` (whole minutes), read from the per-minute views
 * (`endpoint_minute`, `endpoint_outcome_minute`). The SQL runs on
 * ClickHouse 18.16 and current releases. Throws when ClickHouse cannot answer.
 */
export async function endpointStats(runner: SqlRunner, database: string, q: StatsQuery): Promise<EndpointStats[]> {
  const where = [`minute >= ${minute(q.sinceMs)}`, `minute <= ${minute(q.untilMs)}`];
  if (q.endpointId !== undefined) where.push(`endpoint_id = ${quote(q.endpointId)}`);
  const totals = await runner.select<{ endpoint_id: string; attempts: number; successes: number; q: number[] }>(
    `SELECT endpoint_id, countMerge(attempts) AS attempts, sumMerge(successes) AS successes,
            quantilesMerge(0.5, 0.95, 0.99)(latency) AS q
     FROM ${database}.endpoint_minute WHERE ${where.join(' AND ')}
     GROUP BY endpoint_id ORDER BY endpoint_id`,
  );
  const outcomes = await runner.select<{ endpoint_id: string; outcome: string; n: number }>(
    `SELECT endpoint_id, outcome, countMerge(attempts) AS n
     FROM ${database}.endpoint_outcome_minute WHERE ${where.join(' AND ')}
     GROUP BY endpoint_id, outcome`,
  );
  return totals.map((t) => {
    const attempts = Number(t.attempts);
    const successes = Number(t.successes);
    const byOutcome: Record<string, number> = {};
    for (const o of outcomes) if (o.endpoint_id === t.endpoint_id) byOutcome[o.outcome] = Number(o.n);
    return {
      endpointId: t.endpoint_id,
      attempts,
      successes,
      successRate: attempts === 0 ? 0 : successes / attempts,
      latencyP50Ms: Number(t.q[0] ?? 0),
      latencyP95Ms: Number(t.q[1] ?? 0),
      latencyP99Ms: Number(t.q[2] ?? 0),
      outcomes: byOutcome,
    };
  });
}
