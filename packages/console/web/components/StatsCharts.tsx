// The two charts of one endpoint (or all) over a chosen window (the last hour at first), from StatsSeries.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { rpc, type StatsSeriesResponse } from '../api.ts';
import { LatencyChart, OutcomesChart } from '../charts.tsx';
import { usePoll } from '../hooks.ts';
import { ErrorAlert, isUnimplemented, Loading } from './common.tsx';
import { WindowSelect, windowLabel } from './WindowSelect.tsx';

const HOUR = 3_600_000;

export function StatsCharts({ endpoint, headingLevel = 2 }: { endpoint: string; headingLevel?: 2 | 3 }) {
  const [windowMs, setWindowMs] = useState(HOUR);
  const series = usePoll(
    () => {
      const untilMs = Date.now();
      return rpc<StatsSeriesResponse>('StatsSeries', { endpoint, sinceMs: untilMs - windowMs, untilMs });
    },
    10_000,
    `series:${endpoint}:${windowMs}`,
  );
  const idBase = `chart-${endpoint.replace(/[^A-Za-z0-9_-]/g, '_') || 'all'}`;
  const H = headingLevel === 2 ? 'h2' : 'h3';
  const data = series.data;
  const untilMs = data?.untilMs ?? Date.now();
  const props = {
    points: data?.points ?? [],
    sinceMs: data?.sinceMs ?? untilMs - windowMs,
    untilMs,
    stepSeconds: data?.stepSeconds ?? 60,
    windowLabel: windowLabel(windowMs),
  };
  let body: (which: 'latency' | 'outcomes') => JSX.Element;
  if (data === undefined && series.loading) body = () => <Loading what="chart" />;
  else if (data === undefined && isUnimplemented(series.error)) {
    body = () => <p class="note">Charts need ClickHouse: the control service has no HS_CLICKHOUSE_URL.</p>;
  } else if (data === undefined) body = () => <ErrorAlert error={series.error} />;
  else body = (which) => (which === 'latency' ? <LatencyChart {...props} /> : <OutcomesChart {...props} />);
  return (
    <>
      <div class="charts-window">
        <WindowSelect id={`${idBase}-window`} value={windowMs} onChange={setWindowMs} />
      </div>
      <div class="charts">
        <section class="chart-card" aria-labelledby={`${idBase}-latency`}>
          <H id={`${idBase}-latency`}>Latency percentiles</H>
          {body('latency')}
        </section>
        <section class="chart-card" aria-labelledby={`${idBase}-outcomes`}>
          <H id={`${idBase}-outcomes`}>Attempts by outcome</H>
          {body('outcomes')}
        </section>
      </div>
    </>
  );
}
