import { quote, type SqlRunner } from './client.ts';

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

// The whole minutes from `sinceMs`'s to `untilMs`'s, as bounds on a table's
// `dt`. The stats read the tables (FINAL: each row once) rather than the
// per-minute views: a filter on a view is applied only after the view has
// aggregated the whole table (18.16 does not push it into the view), while
// these bounds prune partitions.
const minuteBounds = (q: { readonly sinceMs: number; readonly untilMs: number }): string[] => [
  `dt >= ${minute(q.sinceMs)}`,
  `dt < ${minute(q.untilMs)} + 60`,
];

/**
 * Success rate, latency percentiles and outcome counts per endpoint between
 * `sinceMs` and `untilMs` (whole minutes): what the per-minute views
 * `endpoint_minute` and `endpoint_outcome_minute` answer for those minutes,
 * read from `delivery_attempts` with `FINAL`. The SQL runs on ClickHouse
 * 18.16 and current releases. Throws when ClickHouse cannot answer.
 */
export async function endpointStats(runner: SqlRunner, database: string, q: StatsQuery): Promise<EndpointStats[]> {
  const where = minuteBounds(q);
  if (q.endpointId !== undefined) where.push(`endpoint_id = ${quote(q.endpointId)}`);
  const totals = await runner.select<{ endpoint_id: string; attempts: number; successes: number; q: number[] }>(
    `SELECT endpoint_id, count() AS attempts, sum(toUInt64(outcome = 'success')) AS successes,
            quantiles(0.5, 0.95, 0.99)(toFloat64(latency_ms)) AS q
     FROM ${database}.delivery_attempts FINAL WHERE ${where.join(' AND ')}
     GROUP BY endpoint_id ORDER BY endpoint_id`,
  );
  const outcomes = await runner.select<{ endpoint_id: string; outcome: string; n: number }>(
    `SELECT endpoint_id, toString(outcome) AS outcome, count() AS n
     FROM ${database}.delivery_attempts FINAL WHERE ${where.join(' AND ')}
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

/** One step of {@link statsSeries}: attempts, latency percentiles and outcomes. */
export interface StatsPoint {
  /** Start of the step, epoch ms. */
  readonly atMs: number;
  readonly attempts: number;
  readonly successes: number;
  readonly latencyP50Ms: number;
  readonly latencyP95Ms: number;
  readonly latencyP99Ms: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/** The question of {@link statsSeries}: a window, a step, optionally one endpoint. */
export interface SeriesQuery extends StatsQuery {
  /** Width of a step in seconds: a positive multiple of 60. */
  readonly stepSeconds: number;
}

/** The step giving at most `maxPoints` points over a window: whole minutes, rounded up to a "nice" width. Pure. */
export function seriesStep(sinceMs: number, untilMs: number, maxPoints = 60): number {
  const minutes = Math.max(1, Math.ceil((untilMs - sinceMs) / 60_000 / maxPoints));
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
  const chosen = nice.find((n) => n >= minutes) ?? Math.ceil(minutes / 1440) * 1440;
  return chosen * 60;
}

/**
 * Latency percentiles and attempts by outcome per step between `sinceMs`
 * and `untilMs` (whole minutes), all endpoints together or one: the
 * per-minute views' numbers, read from `delivery_attempts` with `FINAL`.
 * Steps without attempts are left out. The step is computed with `intDiv`
 * on the time (no toStartOfInterval: not in 18.16; a step is whole minutes,
 * so it starts on a minute). Throws when ClickHouse cannot answer.
 */
export async function statsSeries(runner: SqlRunner, database: string, q: SeriesQuery): Promise<StatsPoint[]> {
  if (!Number.isInteger(q.stepSeconds) || q.stepSeconds < 60 || q.stepSeconds % 60 !== 0) {
    throw new Error(`stepSeconds must be a positive multiple of 60, got ${q.stepSeconds}`);
  }
  const where = minuteBounds(q);
  if (q.endpointId !== undefined) where.push(`endpoint_id = ${quote(q.endpointId)}`);
  const step = `intDiv(toUInt32(dt), ${q.stepSeconds}) * ${q.stepSeconds}`;
  const totals = await runner.select<{ step: number; attempts: number; successes: number; q: number[] }>(
    `SELECT ${step} AS step, count() AS attempts, sum(toUInt64(outcome = 'success')) AS successes,
            quantiles(0.5, 0.95, 0.99)(toFloat64(latency_ms)) AS q
     FROM ${database}.delivery_attempts FINAL WHERE ${where.join(' AND ')}
     GROUP BY step ORDER BY step`,
  );
  const outcomes = await runner.select<{ step: number; outcome: string; n: number }>(
    `SELECT ${step} AS step, toString(outcome) AS outcome, count() AS n
     FROM ${database}.delivery_attempts FINAL WHERE ${where.join(' AND ')}
     GROUP BY step, outcome`,
  );
  const byStep = new Map<number, Record<string, number>>();
  for (const o of outcomes) {
    const key = Number(o.step);
    const entry = byStep.get(key) ?? {};
    entry[o.outcome] = Number(o.n);
    byStep.set(key, entry);
  }
  return totals.map((t) => ({
    atMs: Number(t.step) * 1000,
    attempts: Number(t.attempts),
    successes: Number(t.successes),
    latencyP50Ms: Number(t.q[0] ?? 0),
    latencyP95Ms: Number(t.q[1] ?? 0),
    latencyP99Ms: Number(t.q[2] ?? 0),
    outcomes: byStep.get(Number(t.step)) ?? {},
  }));
}

/** The newest failed attempt of an endpoint ({@link lastFailures}). */
export interface LastFailure {
  readonly endpointId: string;
  readonly eventId: string;
  readonly attempt: number;
  /** HTTP status; 0 without a response. */
  readonly status: number;
  readonly outcome: string;
  readonly atMs: number;
  readonly responseExcerpt: string;
}

/**
 * The newest failed attempt per endpoint (or for one) between `sinceMs` and
 * `untilMs`, from `delivery_attempts` (`LIMIT 1 BY`, in 18.16 and current
 * releases). Throws when ClickHouse cannot answer.
 */
export async function lastFailures(runner: SqlRunner, database: string, q: StatsQuery): Promise<LastFailure[]> {
  const where = [`outcome != 'success'`, `at >= ${Math.floor(q.sinceMs)}`, `at <= ${Math.floor(q.untilMs)}`];
  if (q.endpointId !== undefined) where.push(`endpoint_id = ${quote(q.endpointId)}`);
  const rows = await runner.select<{
    endpoint_id: string;
    event_id: string;
    attempt: number;
    status: number | null;
    outcome: string;
    at: number;
    response_excerpt: string;
  }>(
    `SELECT endpoint_id, event_id, attempt, status, toString(outcome) AS outcome, at, response_excerpt
     FROM ${database}.delivery_attempts WHERE ${where.join(' AND ')}
     ORDER BY endpoint_id, at DESC, attempt DESC
     LIMIT 1 BY endpoint_id`,
  );
  return rows.map((r) => ({
    endpointId: r.endpoint_id,
    eventId: r.event_id,
    attempt: Number(r.attempt),
    status: Number(r.status ?? 0),
    outcome: r.outcome,
    atMs: Number(r.at),
    responseExcerpt: r.response_excerpt,
  }));
}

/** What {@link sourceStats} reports for one source over a window. */
export interface SourceStats {
  readonly source: string;
  /** Events refused by a pipeline stage (`rejections`). */
  readonly rejected: number;
  /** Rejections by `{stage}/{reason}`, e.g. `verify/bad_signature`. */
  readonly rejections: Readonly<Record<string, number>>;
  /** Events dropped as duplicates by dedup. */
  readonly duplicates: number;
  /** Requests ingest answered for this source, whatever the answer (`received`). */
  readonly received: number;
  /** Of those, the ones ingest accepted (status 202): acceptance rate = acceptedRequests / received. */
  readonly acceptedRequests: number;
}

/** The window and optional source of a source stats question. */
export interface SourceQuery {
  readonly source?: string;
  readonly sinceMs: number;
  readonly untilMs: number;
}

/**
 * Rejections (by stage and reason), duplicates and requests received (all
 * and accepted) per source between `sinceMs` and `untilMs` (whole minutes).
 * Rejections are every stage's:
 * verify's and ingest's (`rejections`, what the per-minute view
 * `source_rejections_minute` counts) and validate's schema failures
 * (`schema_failures`); duplicates come from `duplicates` (the view
 * `source_duplicates_minute`); requests from `received` (one row per answer
 * ingest gave, so a retried insert of a row id counts once). Each table is
 * read with `FINAL` over those minutes. Sources with none are left out. Throws when ClickHouse cannot
 * answer.
 */
export async function sourceStats(runner: SqlRunner, database: string, q: SourceQuery): Promise<SourceStats[]> {
  const where = minuteBounds(q);
  if (q.source !== undefined) where.push(`source = ${quote(q.source)}`);
  const rejections = await runner.select<{ source: string; stage: string; reason: string; n: number }>(
    `SELECT source, stage, reason, count() AS n
     FROM ${database}.rejections FINAL WHERE ${where.join(' AND ')}
     GROUP BY source, stage, reason
     UNION ALL
     SELECT source, stage, reason, count() AS n
     FROM ${database}.schema_failures FINAL WHERE ${where.join(' AND ')}
     GROUP BY source, stage, reason`,
  );
  const duplicates = await runner.select<{ source: string; n: number }>(
    `SELECT source, count() AS n
     FROM ${database}.duplicates FINAL WHERE ${where.join(' AND ')}
     GROUP BY source`,
  );
  const received = await runner.select<{ source: string; n: number; accepted: number }>(
    `SELECT source, count() AS n, sum(toUInt64(status = 202)) AS accepted
     FROM ${database}.received FINAL WHERE ${where.join(' AND ')}
     GROUP BY source`,
  );
  type Entry = { rejected: number; rejections: Record<string, number>; duplicates: number; received: number; acceptedRequests: number };
  const bySource = new Map<string, Entry>();
  const entry = (source: string): Entry => {
    const found = bySource.get(source) ?? { rejected: 0, rejections: {}, duplicates: 0, received: 0, acceptedRequests: 0 };
    bySource.set(source, found);
    return found;
  };
  for (const r of rejections) {
    const e = entry(r.source);
    const key = `${r.stage}/${r.reason}`;
    e.rejected += Number(r.n);
    e.rejections[key] = (e.rejections[key] ?? 0) + Number(r.n);
  }
  for (const d of duplicates) entry(d.source).duplicates = Number(d.n);
  for (const r of received) {
    const e = entry(r.source);
    e.received = Number(r.n);
    e.acceptedRequests = Number(r.accepted);
  }
  return [...bySource.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([source, e]) => ({ source, ...e }));
}

/** The newest rejection of a source ({@link lastRejections}). */
export interface LastRejection {
  readonly source: string;
  readonly eventId: string;
  readonly stage: string;
  readonly reason: string;
  readonly detail: string;
  readonly atMs: number;
}

/**
 * The newest rejection per source (or for one) in the window, from
 * `rejections` and `schema_failures` (whose `detail` is the start of its
 * errors as JSON); the newest `perSource` of each (newest first) when given.
 * Throws when ClickHouse cannot answer.
 */
export async function lastRejections(
  runner: SqlRunner,
  database: string,
  q: SourceQuery & { readonly perSource?: number },
): Promise<LastRejection[]> {
  const perSource = q.perSource ?? 1;
  if (!Number.isInteger(perSource) || perSource < 1) throw new Error(`perSource must be a positive integer, got ${perSource}`);
  const where = [`at >= ${Math.floor(q.sinceMs)}`, `at <= ${Math.floor(q.untilMs)}`];
  if (q.source !== undefined) where.push(`source = ${quote(q.source)}`);
  const rows = await runner.select<{ source: string; event_id: string; stage: string; reason: string; detail: string; at: number }>(
    `SELECT source, event_id, stage, reason, detail, at, row_id
     FROM
     (
         SELECT source, event_id, stage, reason, detail, at, row_id
         FROM ${database}.rejections WHERE ${where.join(' AND ')}
         UNION ALL
         SELECT source, event_id, stage, reason, substring(errors, 1, 500) AS detail, at, row_id
         FROM ${database}.schema_failures WHERE ${where.join(' AND ')}
     )
     ORDER BY source, at DESC, row_id DESC
     LIMIT ${perSource} BY source`,
  );
  return rows.map((r) => ({
    source: r.source,
    eventId: r.event_id,
    stage: r.stage,
    reason: r.reason,
    detail: r.detail,
    atMs: Number(r.at),
  }));
}

/** One undeclared field of {@link driftFields}: a source, event type, path and JSON type, with its counts. */
export interface DriftField {
  readonly source: string;
  readonly eventType: string;
  readonly path: string;
  readonly jsonType: string;
  /** Drift records in the window (validate rate-limits them per source, type and path: not every event's). */
  readonly count: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** The newest event that carried the field. */
  readonly exampleEventId: string;
}

/** The question of {@link driftFields}: a window, optionally one source, and a row limit. */
export interface DriftQuery extends SourceQuery {
  /** At most this many fields (a positive integer). */
  readonly limit: number;
}

/**
 * The fields validate reported as drift (no schema declares them) between
 * `sinceMs` and `untilMs` (epoch ms, inclusive), grouped by source, event
 * type, path and JSON type, newest last-seen first, read from `drift` with
 * `FINAL` (a record counted once however often it was inserted). The SQL
 * runs on ClickHouse 18.16 and current releases (argMax, no window
 * functions). Throws when ClickHouse cannot answer.
 */
export async function driftFields(runner: SqlRunner, database: string, q: DriftQuery): Promise<DriftField[]> {
  if (!Number.isInteger(q.limit) || q.limit < 1) throw new Error(`limit must be a positive integer, got ${q.limit}`);
  const where = [...minuteBounds(q), `at >= ${Math.floor(q.sinceMs)}`, `at <= ${Math.floor(q.untilMs)}`];
  if (q.source !== undefined) where.push(`source = ${quote(q.source)}`);
  const rows = await runner.select<{
    source: string;
    event_type: string;
    path: string;
    json_type: string;
    n: number;
    first_at: number;
    last_at: number;
    example: string;
  }>(
    `SELECT source, event_type, path, json_type, count() AS n, min(at) AS first_at, max(at) AS last_at,
            argMax(event_id, at) AS example
     FROM ${database}.drift FINAL WHERE ${where.join(' AND ')}
     GROUP BY source, event_type, path, json_type
     ORDER BY last_at DESC, source, event_type, path, json_type
     LIMIT ${q.limit}`,
  );
  return rows.map((r) => ({
    source: r.source,
    eventType: r.event_type,
    path: r.path,
    jsonType: r.json_type,
    count: Number(r.n),
    firstSeenMs: Number(r.first_at),
    lastSeenMs: Number(r.last_at),
    exampleEventId: r.example,
  }));
}
