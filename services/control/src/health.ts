import type { EndpointStats, LastFailure, LastRejection, SourceQuery, SourceStats, StatsQuery } from '@hookstream/clickhouse';
import type { EndpointState } from '@hookstream/contracts';
import type { CircuitReport, EndpointConfig, SourceConfig } from '@hookstream/models';
import type { EndpointHealth, EndpointHealthResponse, SourceHealth, SourceHealthResponse } from '@hookstream/proto';

/** Where EndpointHealth and SourceHealth read each part. NATS reads throw; ClickHouse failing only leaves its figures out. */
export interface HealthSources {
  /** Every endpoint record, or the one asked for. */
  readonly endpoints: (id: string) => Promise<EndpointConfig[]>;
  /** Every source record, or the one asked for. */
  readonly sources: (id: string) => Promise<SourceConfig[]>;
  readonly states: (id: string) => Promise<EndpointState | undefined>;
  readonly circuits: (nowMs: number) => Promise<CircuitReport[]>;
  /** Dead letters waiting per (stage, key): key = endpoint for `deliver`, else the source. */
  readonly deadLetters: () => Promise<readonly { readonly stage: string; readonly key: string; readonly count: number }[]>;
  /** Events HS_EVENTS holds per source. */
  readonly eventsBySource: () => Promise<ReadonlyMap<string, number>>;
  /** ClickHouse figures; undefined when ClickHouse is not configured. */
  readonly analytics?: {
    readonly stats: (q: StatsQuery) => Promise<EndpointStats[]>;
    readonly lastFailures: (q: StatsQuery) => Promise<LastFailure[]>;
    readonly sourceStats: (q: SourceQuery) => Promise<SourceStats[]>;
    readonly lastRejections: (q: SourceQuery & { readonly perSource?: number }) => Promise<LastRejection[]>;
  };
}

/** What a health question asks: one id or all ('' ), the ClickHouse window, and now. */
export interface HealthQuery {
  readonly id: string;
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly nowMs: number;
}

/** Runs the ClickHouse part of a health answer: its result, or empty results and the note saying why. */
async function clickhouseFigures<T>(
  analytics: HealthSources['analytics'],
  query: (a: NonNullable<HealthSources['analytics']>) => Promise<T>,
  empty: T,
): Promise<{ readonly figures: T; readonly note: string }> {
  if (analytics === undefined) return { figures: empty, note: NO_STATS_NOTE };
  try {
    return { figures: await query(analytics), note: '' };
  } catch (err) {
    return { figures: empty, note: `ClickHouse query failed: ${(err as Error).message.slice(0, 300)}` };
  }
}

/** How many rejections SourceHealth lists when one source is asked. */
const RECENT_REJECTIONS = 20;

/** The note when the control service has no ClickHouse. */
export const NO_STATS_NOTE =
  'success rate, latency and the last failure come from ClickHouse: set HS_CLICKHOUSE_URL on the control service';

/**
 * Assembles EndpointHealth: the endpoint records (required), then their
 * 410 state, circuit reports, dead-letter counts and, from ClickHouse, stats
 * and the last failure. ClickHouse failing leaves the figures out and says
 * why in `statsNote`; the other parts are NATS reads that throw.
 */
export async function endpointHealth(sources: HealthSources, q: HealthQuery): Promise<EndpointHealthResponse> {
  const records = await sources.endpoints(q.id);
  const [circuits, deadLetters] = await Promise.all([sources.circuits(q.nowMs), sources.deadLetters()]);
  const window: StatsQuery = { sinceMs: q.sinceMs, untilMs: q.untilMs, ...(q.id !== '' ? { endpointId: q.id } : {}) };
  const { figures, note } = await clickhouseFigures(
    sources.analytics,
    async (a) => ({ stats: await a.stats(window), failures: await a.lastFailures(window) }),
    { stats: [] as EndpointStats[], failures: [] as LastFailure[] },
  );
  const endpoints: EndpointHealth[] = [];
  for (const record of records) {
    const state = await sources.states(record.id);
    const s = figures.stats.find((x) => x.endpointId === record.id);
    const f = figures.failures.find((x) => x.endpointId === record.id);
    endpoints.push({
      endpointId: record.id,
      url: record.url,
      enabled: record.enabled,
      disabledReason: state?.disabled === true ? state.reason : '',
      circuits: circuits
        .filter((c) => c.endpoint === record.id && c.state !== 'closed')
        .sort((a, b) => a.replica.localeCompare(b.replica))
        .map((c) => ({ replica: c.replica, state: c.state, reportedAtMs: c.reportedAtMs })),
      deadLetters: deadLetters.filter((d) => d.stage === 'deliver' && d.key === record.id).reduce((n, d) => n + d.count, 0),
      stats: s === undefined ? undefined : { ...s, outcomes: { ...s.outcomes } },
      lastFailure:
        f === undefined
          ? undefined
          : {
              eventId: f.eventId,
              attempt: f.attempt,
              status: f.status,
              outcome: f.outcome,
              atMs: f.atMs,
              responseExcerpt: f.responseExcerpt,
            },
    });
  }
  return { endpoints, sinceMs: q.sinceMs, untilMs: q.untilMs, statsNote: note };
}

/**
 * Assembles SourceHealth: the source records (required), events stored and
 * dead letters waiting per source (NATS), and from ClickHouse rejections by
 * every stage that records them (verify's and ingest's, and validate's
 * schema failures: analytics `sourceStats`), duplicates, requests received
 * (all and accepted) and the last
 * rejection (left out with a `statsNote` when ClickHouse is missing or fails).
 */
export async function sourceHealth(sources: HealthSources, q: HealthQuery): Promise<SourceHealthResponse> {
  const records = await sources.sources(q.id);
  const [events, deadLetters] = await Promise.all([sources.eventsBySource(), sources.deadLetters()]);
  const window: SourceQuery = { sinceMs: q.sinceMs, untilMs: q.untilMs, ...(q.id !== '' ? { source: q.id } : {}) };
  const { figures, note } = await clickhouseFigures(
    sources.analytics,
    // One source: its recent rejections too (the source page lists them); every source: the newest of each.
    async (a) => ({
      stats: await a.sourceStats(window),
      rejections: await a.lastRejections(q.id !== '' ? { ...window, perSource: RECENT_REJECTIONS } : window),
    }),
    { stats: [] as SourceStats[], rejections: [] as LastRejection[] },
  );
  const out: SourceHealth[] = records.map((record) => {
    const s = figures.stats.find((x) => x.source === record.id);
    const recent = figures.rejections
      .filter((x) => x.source === record.id)
      .map((x) => ({ eventId: x.eventId, stage: x.stage, reason: x.reason, detail: x.detail, atMs: x.atMs }));
    return {
      sourceId: record.id,
      provider: record.provider ?? record.scheme?.kind ?? '',
      enabled: record.enabled,
      eventsStored: events.get(record.id) ?? 0,
      deadLetters: deadLetters.filter((d) => d.stage !== 'deliver' && d.key === record.id).reduce((n, d) => n + d.count, 0),
      rejected: s?.rejected ?? 0,
      rejections: { ...(s?.rejections ?? {}) },
      duplicates: s?.duplicates ?? 0,
      received: s?.received ?? 0,
      acceptedRequests: s?.acceptedRequests ?? 0,
      lastRejection: recent[0],
      recentRejections: q.id !== '' ? recent : [],
    };
  });
  return { sources: out, sinceMs: q.sinceMs, untilMs: q.untilMs, statsNote: note };
}
