import { useEffect, useState } from 'preact/hooks';
import { type EndpointDelivery, type FindEventsResponse, type FoundEvent, rpc } from '../api.ts';
import { ErrorAlert, Loading, TableWrap, Time } from '../components/common.tsx';
import { eventStateSummary } from '../format.ts';
import { useNow } from '../hooks.ts';
import { endpointHref, eventHref, searchHref } from '../router.ts';

const MATCHED_BY: Readonly<Record<string, string>> = {
  event_id: 'hookstream event id',
  idempotency_key: 'provider id / idempotency key',
  dead_letter_sequence: 'dead-letter sequence',
};

const STATE_LABEL: Readonly<Record<string, string>> = {
  delivered: 'Delivered',
  retrying: 'Retrying',
  dead_lettered: 'Dead-lettered',
  failed: 'Failed',
};

/** The search page (`#/search?q=…`): FindEvents' answer as one status panel per webhook found. */
export function SearchPage({ text }: { text: string }) {
  const [state, setState] = useState<{ data?: FindEventsResponse; error?: unknown; loading: boolean }>({ loading: text !== '' });
  const [form, setForm] = useState(text);
  const now = useNow(5000);

  useEffect(() => {
    setForm(text);
    if (text === '') {
      setState({ loading: false });
      return;
    }
    let cancelled = false;
    setState({ loading: true });
    rpc<FindEventsResponse>('FindEvents', { text }).then(
      (data) => !cancelled && setState({ data, loading: false }),
      (error: unknown) => !cancelled && setState({ error, loading: false }),
    );
    return () => {
      cancelled = true;
    };
  }, [text]);

  const found = state.data?.found ?? [];
  return (
    <>
      <h1>Find an event</h1>
      <form
        class="filters"
        aria-label="Find an event"
        onSubmit={(e) => {
          e.preventDefault();
          if (form.trim() !== '') location.hash = searchHref(form);
        }}
      >
        <div class="field">
          <label for="search-page-text">Event id, provider id or dead-letter sequence</label>
          <input
            id="search-page-text"
            type="search"
            value={form}
            autoComplete="off"
            spellcheck={false}
            onInput={(e) => setForm(e.currentTarget.value)}
          />
        </div>
        <div class="field field-button">
          <button type="submit">Find</button>
        </div>
      </form>
      {text === '' && <p class="muted">Type a hookstream event id, a provider's id (such as Stripe's evt_…) or a dead-letter sequence.</p>}
      <ErrorAlert error={state.error} />
      {state.loading && <Loading what="matches" />}
      {state.data !== undefined && (
        <p role="status">
          {found.length} {found.length === 1 ? 'webhook' : 'webhooks'} found for <code>{text}</code>.
        </p>
      )}
      {found.map((f) => (
        <FoundPanel key={f.event?.eventId ?? ''} found={f} now={now} />
      ))}
    </>
  );
}

function FoundPanel({ found, now }: { found: FoundEvent; now: number }) {
  const e = found.event ?? {};
  const id = e.eventId ?? '';
  const endpoints = found.endpoints ?? [];
  return (
    <section class="card found" aria-labelledby={`found-${id}`}>
      <h2 id={`found-${id}`}>
        <a href={eventHref(id)}>{id}</a>
      </h2>
      <p class="summary">{found.summary}</p>
      <ol class="timeline">
        <li>
          Received from <strong>{e.source || '?'}</strong> <Time ms={e.receivedAtMs} now={now} /> (matched by{' '}
          {MATCHED_BY[found.matchedBy ?? ''] ?? found.matchedBy})
        </li>
        {e.idempotencyKey && (
          <li>
            Idempotency key <code>{e.idempotencyKey}</code>
          </li>
        )}
        {e.duplicateOf ? (
          <li>
            Dropped by dedup as a duplicate of <a href={searchHref(e.duplicateOf)}>{e.duplicateOf}</a>, which {eventStateSummary(e.state)}
          </li>
        ) : (
          <li>
            {e.state?.state === 'dead_lettered'
              ? `Dead-lettered at ${e.state.stage}: ${e.state.reason}${e.state.detail ? ` (${e.state.detail})` : ''}`
              : eventStateSummary(e.state)}
          </li>
        )}
      </ol>
      {endpoints.length > 0 && <EndpointTable endpoints={endpoints} now={now} id={id} />}
    </section>
  );
}

function EndpointTable({ endpoints, now, id }: { endpoints: readonly EndpointDelivery[]; now: number; id: string }) {
  return (
    <TableWrap>
      <table>
        <caption>Delivery of {id} per endpoint</caption>
        <thead>
          <tr>
            <th scope="col">Endpoint</th>
            <th scope="col">State</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last attempt</th>
            <th scope="col">Next attempt</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {endpoints.map((d) => (
            <tr key={d.endpointId}>
              <td>
                <a href={endpointHref(d.endpointId ?? '')}>{d.endpointId}</a>
              </td>
              <td class={`state-${d.state ?? ''}`}>
                {STATE_LABEL[d.state ?? ''] ?? d.state}
                {d.reason ? ` (${d.reason})` : ''}
                {d.replay ? ` · replay ${d.replay}` : ''}
              </td>
              <td class="num">{d.attempts ?? 0}</td>
              <td class="nowrap">{d.lastAttemptAtMs ? <Time ms={d.lastAttemptAtMs} now={now} /> : '—'}</td>
              <td class="nowrap">{d.nextAttemptAtMs ? <Time ms={d.nextAttemptAtMs} now={now} /> : '—'}</td>
              <td class="break">{d.lastError || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
