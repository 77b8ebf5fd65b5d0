import { useRef, useState } from 'preact/hooks';
import { type ListEventsResponse, rpc } from '../api.ts';
import { ErrorAlert, Loading, TableWrap, Time } from '../components/common.tsx';
import { formatBytes } from '../format.ts';
import { useNow, usePoll } from '../hooks.ts';
import { eventHref } from '../router.ts';

export function EventsPage() {
  const [paused, setPaused] = useState(false);
  const feed = usePoll(() => rpc<ListEventsResponse>('ListEvents', { newestFirst: true, pageSize: 50 }), 3000, 'events', !paused);
  const now = useNow(1000);
  const events = feed.data?.events ?? [];

  // Rows not in the previous answer are new (none on the first answer).
  const seen = useRef<{ data: unknown; ids: Set<string>; fresh: Set<string> }>({ data: undefined, ids: new Set(), fresh: new Set() });
  if (feed.data !== undefined && seen.current.data !== feed.data) {
    const ids = new Set(events.map((e) => e.eventId ?? ''));
    const first = seen.current.data === undefined;
    const fresh = new Set(first ? [] : [...ids].filter((id) => !seen.current.ids.has(id)));
    seen.current = { data: feed.data, ids, fresh };
  }
  const fresh = seen.current.fresh;

  return (
    <>
      <h1>Live events</h1>
      <div class="toolbar">
        <p class="muted">The 50 newest stored events, newest first. {paused ? 'Paused.' : 'Refreshes every 3 seconds.'}</p>
        <button type="button" class="secondary" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          Pause
        </button>
      </div>
      <ErrorAlert error={feed.error} />
      {feed.loading && feed.data === undefined && !paused ? (
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
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {events.length === 0 ? (
                <tr>
                  <td colSpan={5} class="empty">
                    No events in the stream yet.
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
                      <td class="num">{formatBytes(e.payloadSize ?? 0)}</td>
                    </tr>
                  );
                })
              )}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
