import { useEffect, useRef, useState } from 'preact/hooks';
import { type ListDeadLettersResponse, type ReplayDeadLettersResponse, type Role, rpc, type SummarizeDeadLettersResponse } from '../api.ts';
import { ErrorAlert, Loading, Pager, StatusMessage, TableWrap } from '../components/common.tsx';
import { DeadLetterTable } from '../components/DeadLetterTable.tsx';
import { deadLetterPurgeSummary, deadLetterReplaySummary, formatCount } from '../format.ts';
import { useAction, usePoll } from '../hooks.ts';
import { can } from '../roles.ts';
import { type DeadLetterQuery, deadLettersHref } from '../router.ts';

const PAGE_SIZE = 50;
const BATCH_LIMIT = 1000;
const FIELDS = [
  { key: 'stage', label: 'Stage', values: 'stages' },
  { key: 'source', label: 'Source', values: 'sources' },
  { key: 'endpoint', label: 'Endpoint', values: 'endpoints' },
  { key: 'reason', label: 'Reason', values: 'reasons' },
] as const;
/** The time ranges offered (0: any time), by when each dead letter was made. */
const RANGES = [
  { ms: 0, label: 'any time' },
  { ms: 15 * 60_000, label: 'last 15 min' },
  { ms: 3_600_000, label: 'last hour' },
  { ms: 6 * 3_600_000, label: 'last 6 hours' },
  { ms: 24 * 3_600_000, label: 'last 24 hours' },
  { ms: 7 * 24 * 3_600_000, label: 'last 7 days' },
] as const;

/** The filter as the API wants it: only non-empty fields, and the time range from now. */
function apiFilter(filter: DeadLetterQuery, rangeMs: number): Partial<DeadLetterQuery> & { sinceMs?: number } {
  const out: Partial<DeadLetterQuery> & { sinceMs?: number } = {};
  for (const { key } of FIELDS) if (filter[key] !== '') out[key] = filter[key];
  if (rangeMs > 0) out.sinceMs = Date.now() - rangeMs;
  return out;
}

function describe(filter: DeadLetterQuery, rangeMs: number): string {
  const parts = FIELDS.filter(({ key }) => filter[key] !== '').map(({ key, label }) => `${label.toLowerCase()} "${filter[key]}"`);
  const range = rangeMs > 0 ? ` from the ${RANGES.find((r) => r.ms === rangeMs)?.label ?? 'chosen time range'}` : '';
  return parts.length === 0 ? `every dead letter${range}` : `dead letters with ${parts.join(', ')}${range}`;
}

/** The choices of one filter field: the known values, plus the current one if it is not among them. */
function choices(known: readonly string[] | undefined, current: string): string[] {
  const values = [...(known ?? [])];
  if (current !== '' && !values.includes(current)) values.push(current);
  return values;
}

/** Counts of the matching dead letters per reason, most first. */
function ReasonCounts({ summary }: { summary: SummarizeDeadLettersResponse }) {
  const rows = Object.entries(summary.byReason ?? {}).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return (
    <TableWrap>
      <table class="compact">
        <caption>Counts by reason</caption>
        <thead>
          <tr>
            <th scope="col">Reason</th>
            <th scope="col">Count</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={2} class="empty">
                None match.
              </td>
            </tr>
          ) : (
            rows.map(([reason, n]) => (
              <tr key={reason}>
                <th scope="row">{reason || '(none)'}</th>
                <td class="num">{formatCount(n)}</td>
              </tr>
            ))
          )}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">All</th>
            <td class="num">
              {formatCount(summary.total)}
              {summary.truncated && <div class="sub">of the newest 20 000</div>}
            </td>
          </tr>
        </tfoot>
      </table>
    </TableWrap>
  );
}

export function DeadLettersPage({ filter, role }: { filter: DeadLetterQuery; role: Role | undefined }) {
  const filterKey = JSON.stringify(filter);
  const [form, setForm] = useState<DeadLetterQuery>(filter);
  const [rangeMs, setRangeMs] = useState(0);
  // Page tokens of the pages before the current one (for "Newer").
  const [pages, setPages] = useState<string[]>([]);
  const [pageToken, setPageToken] = useState('');
  const [message, setMessage] = useState('');
  const [confirming, setConfirming] = useState<'replay' | 'purge' | undefined>(undefined);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const batchButton = useRef<HTMLButtonElement>(null);
  const purgeButton = useRef<HTMLButtonElement>(null);

  // A new filter (from the URL) resets the form and the paging (as a new time range does, below).
  useEffect(() => {
    setForm(JSON.parse(filterKey) as DeadLetterQuery);
    setPages([]);
    setPageToken('');
    setConfirming(undefined);
  }, [filterKey]);

  const list = usePoll(
    () =>
      rpc<ListDeadLettersResponse>('ListDeadLetters', {
        filter: apiFilter(filter, rangeMs),
        pageSize: PAGE_SIZE,
        pageToken,
        newestFirst: true,
      }),
    15_000,
    `${filterKey}:${rangeMs}:${pageToken}`,
  );
  const summary = usePoll(
    () => rpc<SummarizeDeadLettersResponse>('SummarizeDeadLetters', { filter: apiFilter(filter, rangeMs) }),
    15_000,
    `summary:${filterKey}:${rangeMs}`,
  );
  const replayOne = useAction((sequence: number) => rpc<ReplayDeadLettersResponse>('ReplayDeadLetters', { sequence, purge: true }));
  const replayAll = useAction(() =>
    rpc<ReplayDeadLettersResponse>('ReplayDeadLetters', { filter: apiFilter(filter, rangeMs), limit: BATCH_LIMIT, purge: true }),
  );
  const purgeAll = useAction(() => {
    const f = apiFilter(filter, rangeMs);
    // An empty filter purges the whole DLQ: the API wants that said explicitly.
    return rpc<{ purged?: number }>('PurgeDeadLetters', Object.keys(f).length === 0 ? { all: true } : { filter: f });
  });

  useEffect(() => {
    if (confirming !== undefined) confirmButton.current?.focus();
  }, [confirming]);

  const apply = (e: Event): void => {
    e.preventDefault();
    const href = deadLettersHref(form);
    if (location.hash !== href) location.hash = href;
    else list.reload();
  };

  const refresh = (): void => {
    setPages([]);
    setPageToken('');
    list.reload();
    summary.reload();
  };

  const onReplay = async (sequence: number): Promise<void> => {
    setMessage('');
    const r = await replayOne.run(sequence);
    if (r !== undefined) {
      setMessage(deadLetterReplaySummary(r.replayed));
      list.reload();
      summary.reload();
    }
  };

  const onConfirm = async (): Promise<void> => {
    const what = confirming;
    setConfirming(undefined);
    setMessage('');
    if (what === 'replay') {
      const r = await replayAll.run();
      batchButton.current?.focus();
      if (r !== undefined) setMessage(deadLetterReplaySummary(r.replayed));
    } else {
      const r = await purgeAll.run();
      purgeButton.current?.focus();
      if (r !== undefined) setMessage(deadLetterPurgeSummary(r.purged));
    }
    refresh();
  };

  const cancel = (): void => {
    const what = confirming;
    setConfirming(undefined);
    (what === 'purge' ? purgeButton : batchButton).current?.focus();
  };

  const letters = list.data?.deadLetters ?? [];
  const next = list.data?.nextPageToken ?? '';
  const mayReplay = can(role, 'replayDeadLetters');
  const mayPurge = can(role, 'purgeDeadLetters');
  const known = summary.data;
  const busy = replayAll.busy || purgeAll.busy;

  return (
    <>
      <h1>Dead letters</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter dead letters">
        {FIELDS.map(({ key, label, values }) => (
          <div class="field" key={key}>
            <label for={`dl-${key}`}>{label}</label>
            <select
              id={`dl-${key}`}
              name={key}
              value={form[key]}
              onChange={(e) => {
                const value = e.currentTarget.value;
                setForm((f) => ({ ...f, [key]: value }));
              }}
            >
              <option value="">any</option>
              {choices(known?.[values], form[key]).map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </div>
        ))}
        <div class="field">
          <label for="dl-range">Time range</label>
          <select
            id="dl-range"
            value={String(rangeMs)}
            onChange={(e) => {
              setRangeMs(Number(e.currentTarget.value));
              setPages([]);
              setPageToken('');
              setConfirming(undefined);
            }}
          >
            {RANGES.map((r) => (
              <option key={r.ms} value={String(r.ms)}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-button">
          <button type="submit">Apply filters</button>
        </div>
      </form>

      <ErrorAlert error={summary.error} />
      {known !== undefined && <ReasonCounts summary={known} />}

      {(mayReplay || mayPurge) && (
        <div class="batch button-row">
          {mayReplay && (
            <button
              ref={batchButton}
              type="button"
              class="secondary"
              disabled={busy || confirming !== undefined}
              onClick={() => setConfirming('replay')}
            >
              Replay all matching
            </button>
          )}
          {mayPurge && (
            <button
              ref={purgeButton}
              type="button"
              class="danger"
              disabled={busy || confirming !== undefined || (known?.total ?? 0) === 0}
              onClick={() => setConfirming('purge')}
            >
              Purge all matching
            </button>
          )}
        </div>
      )}
      {confirming !== undefined && (
        <fieldset
          class="confirm"
          onKeyDown={(e) => {
            if (e.key === 'Escape') cancel();
          }}
        >
          {confirming === 'replay' ? (
            <>
              <legend>Confirm the batch replay</legend>
              <p>
                Replay up to {BATCH_LIMIT} {describe(filter, rangeMs)}? Each one is published again to the subject it failed on and removed
                from the dead-letter queue once stored.
              </p>
            </>
          ) : (
            <>
              <legend>Confirm the purge</legend>
              <p>
                Delete {known?.truncated ? 'at least ' : ''}
                {formatCount(known?.total)} {describe(filter, rangeMs)}? They are removed from the dead-letter queue for good and cannot be
                replayed afterwards.
              </p>
            </>
          )}
          <div class="button-row">
            <button ref={confirmButton} type="button" class="danger" onClick={() => void onConfirm()}>
              {confirming === 'replay' ? 'Confirm replay' : 'Confirm purge'}
            </button>
            <button type="button" class="secondary" onClick={cancel}>
              Cancel
            </button>
          </div>
        </fieldset>
      )}

      <ErrorAlert error={list.error} />
      <ErrorAlert error={replayOne.error} />
      <ErrorAlert error={replayAll.error} />
      <ErrorAlert error={purgeAll.error} />
      <StatusMessage message={replayAll.busy ? 'Replaying…' : purgeAll.busy ? 'Purging…' : message} />

      {list.loading && list.data === undefined ? (
        <Loading what="dead letters" />
      ) : (
        <DeadLetterTable
          letters={letters}
          caption="Dead letters"
          canReplay={mayReplay}
          replaying={replayOne.busy || busy}
          onReplay={(s) => void onReplay(s)}
        />
      )}

      <Pager pages={pages} pageToken={pageToken} next={next} setPages={setPages} setPageToken={setPageToken} />
    </>
  );
}
