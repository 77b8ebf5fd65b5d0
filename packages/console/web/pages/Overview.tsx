import { type EndpointHealth, type EndpointHealthResponse, rpc, type SourceHealthResponse } from '../api.ts';
import { ErrorAlert, Loading, TableWrap, Time } from '../components/common.tsx';
import { SourcesTable } from '../components/SourcesTable.tsx';
import { StatsCharts } from '../components/StatsCharts.tsx';
import { circuitSummary, formatCount, formatDuration, formatPercent, formatStatusOutcome, truncate } from '../format.ts';
import { useNow, usePoll } from '../hooks.ts';
import { endpointHref } from '../router.ts';

function EndpointRow({ e, now }: { e: EndpointHealth; now: number }) {
  const id = e.endpointId ?? '';
  const stats = e.stats;
  const failure = e.lastFailure;
  const circuit = circuitSummary(e.circuits);
  return (
    <tr>
      <th scope="row" class="break">
        <a href={endpointHref(id)}>{id}</a>
        {e.url && <div class="sub break">{e.url}</div>}
      </th>
      <td>
        <span class={e.enabled ? 'pill ok' : 'pill bad'}>{e.enabled ? 'Enabled' : 'Disabled'}</span>
        {e.disabledReason && <div class="sub">{e.disabledReason}</div>}
      </td>
      <td class="num">
        {stats === undefined ? (
          <span class="muted">—</span>
        ) : (
          <>
            {formatPercent(stats.successRate)}
            <div class="sub">
              {formatCount(stats.attempts)} {stats.attempts === 1 ? 'attempt' : 'attempts'}
            </div>
          </>
        )}
      </td>
      <td class="num">{stats === undefined ? <span class="muted">—</span> : formatDuration(stats.latencyP95Ms)}</td>
      <td>
        <span class={circuit === 'closed' ? 'pill ok' : 'pill warn'}>{circuit}</span>
      </td>
      <td class="num">{formatCount(e.deadLetters)}</td>
      <td class="last-error">
        {failure === undefined ? (
          <span class="muted">none</span>
        ) : (
          <>
            <strong>{formatStatusOutcome(failure.status, failure.outcome)}</strong>
            <div class="sub">
              <Time ms={failure.atMs} now={now} />
            </div>
            {failure.responseExcerpt && <div class="excerpt">{truncate(failure.responseExcerpt, 120)}</div>}
          </>
        )}
      </td>
    </tr>
  );
}

export function OverviewPage() {
  const health = usePoll(() => rpc<EndpointHealthResponse>('EndpointHealth', {}), 10_000, 'health:all');
  const sources = usePoll(() => rpc<SourceHealthResponse>('SourceHealth', {}), 10_000, 'sources:all');
  const now = useNow(5000);
  const endpoints = health.data?.endpoints ?? [];
  return (
    <>
      <h1>Overview</h1>
      <p class="muted">Every endpoint and source over the last hour. Refreshes every 10 seconds.</p>
      <ErrorAlert error={health.error} />
      {health.data?.statsNote && <p class="note">{health.data.statsNote}</p>}
      {health.loading && health.data === undefined ? (
        <Loading what="endpoints" />
      ) : (
        health.data !== undefined && (
          <TableWrap>
            <table>
              <caption>Endpoints</caption>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Status</th>
                  <th scope="col">Success rate</th>
                  <th scope="col">p95 latency</th>
                  <th scope="col">Circuit</th>
                  <th scope="col">Dead letters</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                {endpoints.length === 0 ? (
                  <tr>
                    <td colSpan={7} class="empty">
                      No endpoints are configured.
                    </td>
                  </tr>
                ) : (
                  endpoints.map((e) => <EndpointRow key={e.endpointId ?? ''} e={e} now={now} />)
                )}
              </tbody>
            </table>
          </TableWrap>
        )
      )}
      <ErrorAlert error={sources.error} />
      {sources.data !== undefined && (
        <TableWrap>
          <SourcesTable sources={sources.data.sources ?? []} now={now} />
        </TableWrap>
      )}
      <StatsCharts endpoint="" />
    </>
  );
}
