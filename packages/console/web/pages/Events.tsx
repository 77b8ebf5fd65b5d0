import { useEffect, useRef, useState } from 'preact/hooks';
import { type ListEventsResponse, rpc } from '../api.ts';
import { ErrorAlert, Loading, Pager, TableWrap, Time } from '../components/common.tsx';
import { formatBytes, fromDatetimeLocal, toDatetimeLocal } from '../format.ts';
import { useNow, usePoll } from '../hooks.ts';
import { EMPTY_EVENTS_QUERY, type EventsQuery, eventHref, eventsHref } from '../router.ts';

const PAGE_SIZE = 50;
const STATUSES = [
  { value: '', label: 'Any' },
  { value: 'delivered', label: 'Delivered' },
  { value: 'failing', label: 'Failing' },
  { value: 'pending', label: 'No attempt yet' },
] as const;

/** ListEvents' request for the filters (newest first, cursor paging). */
function listRequest(query: EventsQuery, pageToken: string): object {
  return {
    newestFirst: true,
    pageSize: PAGE_SIZE,
    pageToken,
    source: query.source,
    eventType: query.type,
    status: query.status,
    sinceMs: Number(query.since) || 0,
    untilMs: Number(query.until) || 0,
  };
}

/** The form's datetime-local value of a query's epoch-ms time, '' when unset. */
function localOf(ms: string): string {
  const n = Number(ms);
  return n > 0 ? toDatetimeLocal(n) : '';
}

export function EventsPage({ query = EMPTY_EVENTS_QUERY }: { query?: EventsQuery }) {
  const queryKey = JSON.stringify(query);
  const filtered = queryKey !== JSON.stringify(EMPTY_EVENTS_QUERY);
  const [form, setForm] = useState<EventsQuery>(query);
  // Tokens of the pages before the current one (for "Newer"); '' is the newest page.
  const [pages, setPages] = useState<string[]>([]);
  const [pageToken, setPageToken] = useState('');
  const [paused, setPaused] = useState(false);

  // A new filter (from the URL) resets the form and the paging.
  useEffect(() => {
    setForm(JSON.parse(queryKey) as EventsQuery);
    setPages([]);
    setPageToken('');
  }, [queryKey]);

  // Only the newest page of the feed refreshes itself; an older page is loaded once and stays put.
  const older = pageToken !== '';
  const live = !paused && !older;
  const feed = usePoll(
    () => rpc<ListEventsResponse>('ListEvents', listRequest(query, pageToken)),
    older ? 0 : 3000,
    `events:${queryKey}:${pageToken}`,
    live || older,
  );
  const now = useNow(1000);
  const events = feed.data?.events ?? [];
  const next = feed.data?.nextPageToken ?? '';

  // Rows not in the previous answer for the same filters and page are new (none on the first answer).
  const pollKey = `${queryKey}:${pageToken}`;
  const seen = useRef<{ key: string; data: unknown; ids: Set<string>; fresh: Set<string> }>({
    key: '',
    data: undefined,
    ids: new Set(),
    fresh: new Set(),
  });
  if (feed.data !== undefined && seen.current.data !== feed.data) {
    const ids = new Set(events.map((e) => e.eventId ?? ''));
    const first = seen.current.data === undefined || seen.current.key !== pollKey;
    const fresh = new Set(first ? [] : [...ids].filter((id) => !seen.current.ids.has(id)));
    seen.current = { key: pollKey, data: feed.data, ids, fresh };
  }
  const fresh = seen.current.fresh;

  const apply = (e: Event): void => {
    e.preventDefault();
    const href = eventsHref(form);
    if (location.hash !== href) location.hash = href;
    else feed.reload();
  };
  const setField = (key: keyof EventsQuery, value: string): void => setForm((f) => ({ ...f, [key]: value }));
  const setTime = (key: 'since' | 'until', value: string): void => setField(key, String(fromDatetimeLocal(value) ?? ''));

  return (
    <>
      <h1>Live events</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter events">
        <div class="field">
          <label for="ev-source">Source</label>
          <input
            id="ev-source"
            name="source"
            type="text"
            value={form.source}
            autoComplete="off"
            spellcheck={false}
            onInput={(e) => setField('source', e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="ev-type">Type</label>
          <input
            id="ev-type"
            name="type"
            type="text"
            value={form.type}
            placeholder="charge.* or charge.succeeded"
            autoComplete="off"
            spellcheck={false}
            onInput={(e) => setField('type', e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="ev-status">Status</label>
          <select id="ev-status" name="status" value={form.status} onChange={(e) => setField('status', e.currentTarget.value)}>
            {STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="ev-since">From</label>
          <input
            id="ev-since"
            name="since"
            type="datetime-local"
            value={localOf(form.since)}
            onChange={(e) => setTime('since', e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="ev-until">To</label>
          <input
            id="ev-until"
            name="until"
            type="datetime-local"
            value={localOf(form.until)}
            onChange={(e) => setTime('until', e.currentTarget.value)}
          />
        </div>
        <div class="field field-button">
          <button type="submit">Apply filters</button>
        </div>
        {filtered && (
          <div class="field field-button">
            <button
              type="button"
              class="secondary"
              onClick={() => {
                location.hash = '#/events';
              }}
            >
              Clear filters
            </button>
          </div>
        )}
      </form>
      <div class="toolbar">
        <p class="muted">
          {filtered ? 'Matching events' : 'Stored events'}, newest first, {PAGE_SIZE} a page.{' '}
          {pageToken !== '' ? 'An older page: it does not refresh.' : paused ? 'Paused.' : 'Refreshes every 3 seconds.'}
        </p>
        <button type="button" class="secondary" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          Pause
        </button>
      </div>
      <ErrorAlert error={feed.error} />
      {feed.loading && feed.data === undefined && (live || older) ? (
        <Loading what="events" />
      ) : (
        <TableWrap>
          <table>
            <caption>Live events</caption>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Event</th>
                <th scope="col">Source</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {events.length === 0 ? (
                <tr>
                  <td colSpan={6} class="empty">
                    {filtered ? 'No events match these filters.' : 'No events in the stream yet.'}
                  </td>
                </tr>
              ) : (
                events.map((e) => {
                  const id = e.eventId ?? '';
                  return (
                    <tr key={id || String(e.sequence ?? 0)} class={fresh.has(id) ? 'fresh' : undefined}>
                      <td class="nowrap">
                        <Time ms={e.receivedAtMs || e.storedAtMs} now={now} />
                      </td>
                      <td class="break">{id === '' ? '—' : <a href={eventHref(id)}>{id}</a>}</td>
                      <td>{e.source || '—'}</td>
                      <td class="break">{e.eventType || '—'}</td>
                      <td>{e.deliveryStatus || '—'}</td>
                      <td class="num">{formatBytes(e.payloadSize ?? 0)}</td>
                    </tr>
                  );
                })
              )}
            </tbody>
          </table>
        </TableWrap>
      )}
      <Pager pages={pages} pageToken={pageToken} next={next} setPages={setPages} setPageToken={setPageToken} />
    </>
  );
}
