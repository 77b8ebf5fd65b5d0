import type { EndpointStats, LastFailure, StatsQuery } from '@hookstream/analytics';
import type { EndpointHealth, EndpointHealthResponse } from '@hookstream/proto';
import type { CircuitReport, EndpointConfig } from '@hookstream/runtime';

/** What deliver wrote about an endpoint in `hs_endpoint_state` (410 Gone). */
export interface EndpointStateView {
  readonly disabled: boolean;
  readonly reason: string;
}

/** Where EndpointHealth reads each part; every part but the endpoints may fail without failing the call. */
export interface HealthSources {
  /** Every endpoint record, or the one asked for. */
  readonly endpoints: (id: string) => Promise<EndpointConfig[]>;
  readonly states: (id: string) => Promise<EndpointStateView | undefined>;
  readonly circuits: (nowMs: number) => Promise<CircuitReport[]>;
  /** Dead letters waiting per endpoint (`hs.dlq.deliver.{endpoint}`). */
  readonly deadLetters: () => Promise<ReadonlyMap<string, number>>;
  /** ClickHouse figures; undefined when ClickHouse is not configured. */
  readonly analytics?: {
    readonly stats: (q: StatsQuery) => Promise<EndpointStats[]>;
    readonly lastFailures: (q: StatsQuery) => Promise<LastFailure[]>;
  };
}

/** The note when the control service has no ClickHouse. */
export const NO_STATS_NOTE =
  'success rate, latency and the last failure come from ClickHouse: set HS_CLICKHOUSE_URL on the control service';

/** Parses an `hs_endpoint_state` value leniently (unknown shapes read as not disabled). Pure. */
export function parseEndpointState(value: Uint8Array): EndpointStateView | undefined {
  try {
    const raw = JSON.parse(new TextDecoder().decode(value)) as { disabled?: unknown; reason?: unknown } | null;
    if (raw === null || typeof raw !== 'object') return undefined;
    return { disabled: raw.disabled === true, reason: typeof raw.reason === 'string' ? raw.reason : '' };
  } catch {
    return undefined;
  }
}

/**
 * Assembles EndpointHealth: the endpoint records (required), then their
 * 410 state, circuit reports, dead-letter counts and, from ClickHouse, stats
 * and the last failure. ClickHouse failing leaves the figures out and says
 * why in `statsNote`; the other parts are NATS reads that throw.
 */
export async function endpointHealth(
  sources: HealthSources,
  q: { readonly endpointId: string; readonly sinceMs: number; readonly untilMs: number; readonly nowMs: number },
): Promise<EndpointHealthResponse> {
  const records = await sources.endpoints(q.endpointId);
  const [circuits, deadLetters] = await Promise.all([sources.circuits(q.nowMs), sources.deadLetters()]);
  let stats: EndpointStats[] = [];
  let failures: LastFailure[] = [];
  let statsNote = '';
  if (sources.analytics === undefined) statsNote = NO_STATS_NOTE;
  else {
    const window: StatsQuery = { sinceMs: q.sinceMs, untilMs: q.untilMs, ...(q.endpointId !== '' ? { endpointId: q.endpointId } : {}) };
    try {
      [stats, failures] = await Promise.all([sources.analytics.stats(window), sources.analytics.lastFailures(window)]);
    } catch (err) {
      statsNote = `ClickHouse query failed: ${(err as Error).message.slice(0, 300)}`;
    }
  }
  const endpoints: EndpointHealth[] = [];
  for (const record of records) {
    const state = await sources.states(record.id);
    const s = stats.find((x) => x.endpointId === record.id);
    const f = failures.find((x) => x.endpointId === record.id);
    endpoints.push({
      endpointId: record.id,
      url: record.url,
      enabled: record.enabled,
      disabledReason: state?.disabled === true ? state.reason : '',
      circuits: circuits
        .filter((c) => c.endpoint === record.id && c.state !== 'closed')
        .sort((a, b) => a.replica.localeCompare(b.replica))
        .map((c) => ({ replica: c.replica, state: c.state, reportedAtMs: c.reportedAtMs })),
      deadLetters: deadLetters.get(record.id) ?? 0,
      stats:
        s === undefined
          ? undefined
          : {
              endpointId: s.endpointId,
              attempts: s.attempts,
              successes: s.successes,
              successRate: s.successRate,
              latencyP50Ms: s.latencyP50Ms,
              latencyP95Ms: s.latencyP95Ms,
              latencyP99Ms: s.latencyP99Ms,
              outcomes: { ...s.outcomes },
            },
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
  return { endpoints, sinceMs: q.sinceMs, untilMs: q.untilMs, statsNote };
}
