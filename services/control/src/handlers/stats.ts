import { status } from '@grpc/grpc-js';
import { seriesStep } from '@hookstream/clickhouse';
import { invalid, RpcError } from '../errors.ts';
import type { Handlers, ResolvedDeps } from '../handlers.ts';
import { endpointHealth, sourceHealth } from '../health.ts';
import { recordId, statsWindow } from './request.ts';

/** The stats and health RPCs. */
type StatsRpc = 'stats' | 'statsSeries' | 'endpointHealth' | 'sourceHealth' | 'listDrift';

const MAX_SERIES_POINTS = 1_000;
/** ListDrift's default and largest answer. */
const MAX_DRIFT_FIELDS = 500;
/** ListDrift's default window: drift is rare, so a week rather than the stats' hour. */
const DRIFT_WINDOW_MS = 7 * 24 * 3_600_000;

const needsClickHouse = (rpc: string): RpcError =>
  new RpcError(status.UNIMPLEMENTED, `${rpc} needs ClickHouse: set HS_CLICKHOUSE_URL on the control service`);

/** The stats RPCs (ClickHouse's per-minute views; UNIMPLEMENTED without ClickHouse) and the endpoint and source health RPCs. */
export function statsHandlers(deps: ResolvedDeps): Pick<Handlers, StatsRpc> {
  return {
    stats: async (req) => {
      if (deps.stats === undefined) throw needsClickHouse('Stats');
      const { sinceMs, untilMs } = statsWindow(req, deps.now());
      const rows = await deps.stats({ sinceMs, untilMs, ...(req.endpoint !== '' ? { endpointId: req.endpoint } : {}) });
      return {
        sinceMs,
        untilMs,
        endpoints: rows.map((r) => ({
          endpointId: r.endpointId,
          attempts: r.attempts,
          successes: r.successes,
          successRate: r.successRate,
          latencyP50Ms: r.latencyP50Ms,
          latencyP95Ms: r.latencyP95Ms,
          latencyP99Ms: r.latencyP99Ms,
          outcomes: { ...r.outcomes },
        })),
      };
    },
    statsSeries: async (req) => {
      if (deps.series === undefined) throw needsClickHouse('StatsSeries');
      const { sinceMs, untilMs } = statsWindow(req, deps.now());
      let stepSeconds = req.stepSeconds;
      if (stepSeconds === 0) stepSeconds = seriesStep(sinceMs, untilMs);
      else if (stepSeconds % 60 !== 0) throw invalid('step_seconds', 'must be a multiple of 60');
      else if ((untilMs - sinceMs) / (stepSeconds * 1000) > MAX_SERIES_POINTS) {
        throw invalid('step_seconds', `gives more than ${MAX_SERIES_POINTS} points over the window`);
      }
      const points = await deps.series({ sinceMs, untilMs, stepSeconds, ...(req.endpoint !== '' ? { endpointId: req.endpoint } : {}) });
      return { sinceMs, untilMs, stepSeconds, points: points.map((p) => ({ ...p, outcomes: { ...p.outcomes } })) };
    },
    endpointHealth: async (req) => {
      const nowMs = deps.now();
      const window = statsWindow(req, nowMs);
      return endpointHealth(deps.health, { id: req.endpoint, ...window, nowMs });
    },
    sourceHealth: async (req) => {
      const nowMs = deps.now();
      return sourceHealth(deps.health, { id: req.source, ...statsWindow(req, nowMs), nowMs });
    },
    listDrift: async (req) => {
      if (deps.drift === undefined) throw needsClickHouse('ListDrift');
      const untilMs = req.untilMs > 0 ? req.untilMs : deps.now();
      const { sinceMs } = statsWindow({ sinceMs: req.sinceMs > 0 ? req.sinceMs : untilMs - DRIFT_WINDOW_MS, untilMs }, untilMs);
      if (req.limit > MAX_DRIFT_FIELDS) throw invalid('limit', `must be at most ${MAX_DRIFT_FIELDS}`);
      const fields = await deps.drift({
        sinceMs,
        untilMs,
        limit: req.limit === 0 ? MAX_DRIFT_FIELDS : req.limit,
        ...(req.source !== '' ? { source: recordId(req.source, 'source') } : {}),
      });
      return { sinceMs, untilMs, fields: fields.map((f) => ({ ...f })) };
    },
  };
}
