import type { SourceHealth } from '../api.ts';
import { formatCount, rejectionSummary, truncate } from '../format.ts';
import { deadLettersHref, sourceHref } from '../router.ts';
import { Time } from './common.tsx';

function SourceRow({ s, now }: { s: SourceHealth; now: number }) {
  const id = s.sourceId ?? '';
  const last = s.lastRejection;
  const dead = s.deadLetters ?? 0;
  return (
    <tr>
      <th scope="row" class="break">
        <a href={sourceHref(id)}>{id}</a>
        {s.provider && <div class="sub">{s.provider}</div>}
      </th>
      <td>
        <span class={s.enabled ? 'pill ok' : 'pill bad'}>{s.enabled ? 'Enabled' : 'Disabled'}</span>
      </td>
      <td class="num">{formatCount(s.eventsStored)}</td>
      <td class="num">
        {formatCount(s.rejected)}
        {(s.rejected ?? 0) > 0 && <div class="sub">{rejectionSummary(s.rejections)}</div>}
      </td>
      <td class="num">{formatCount(s.duplicates)}</td>
      <td class="num">
        {dead === 0 ? (
          '0'
        ) : (
          <a href={deadLettersHref({ source: id })} aria-label={`${formatCount(dead)} dead letters from source ${id}`}>
            {formatCount(dead)}
          </a>
        )}
      </td>
      <td class="last-error">
        {last === undefined ? (
          <span class="muted">none</span>
        ) : (
          <>
            <strong>
              {last.stage}/{last.reason}
            </strong>
            <div class="sub">
              <Time ms={last.atMs} now={now} />
            </div>
            {last.detail && <div class="excerpt">{truncate(last.detail, 120)}</div>}
          </>
        )}
      </td>
    </tr>
  );
}

/** The Sources table of the overview (SourceHealth). */
export function SourcesTable({ sources, now }: { sources: readonly SourceHealth[]; now: number }) {
  return (
    <table>
      <caption>Sources</caption>
      <thead>
        <tr>
          <th scope="col">Source</th>
          <th scope="col">Status</th>
          <th scope="col">Events stored</th>
          <th scope="col">Rejected</th>
          <th scope="col">Duplicates</th>
          <th scope="col">Dead letters</th>
          <th scope="col">Last rejection</th>
        </tr>
      </thead>
      <tbody>
        {sources.length === 0 ? (
          <tr>
            <td colSpan={7} class="empty">
              No sources are configured.
            </td>
          </tr>
        ) : (
          sources.map((s) => <SourceRow key={s.sourceId ?? ''} s={s} now={now} />)
        )}
      </tbody>
    </table>
  );
}
