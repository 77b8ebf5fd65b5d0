import { useEffect, useState } from 'preact/hooks';
import { type HsEvent, type ListEndpointsResponse, type ReplayToEndpointResponse, type Role, rpc } from '../api.ts';
import { ErrorAlert, Figure, HeadersTable, Loading, StatusMessage, Time } from '../components/common.tsx';
import { EndpointAttempts } from '../components/EndpointAttempts.tsx';
import { decodePayload, endpointReplaySummary, eventStateSummary, formatBytes } from '../format.ts';
import { useAction, useNow, usePoll } from '../hooks.ts';
import { can } from '../roles.ts';
import { deadLettersHref, eventHref } from '../router.ts';

function ReplayForm({ eventId, onReplayed }: { eventId: string; onReplayed: () => void }) {
  const [endpoints, setEndpoints] = useState<string[] | undefined>(undefined);
  const [endpointId, setEndpointId] = useState('');
  const [message, setMessage] = useState('');
  const list = useAction(() => rpc<ListEndpointsResponse>('ListEndpoints', { pageSize: 500 }));
  const replay = useAction((endpoint: string) => rpc<ReplayToEndpointResponse>('ReplayToEndpoint', { endpointId: endpoint, eventId }));
  const loadList = list.run;
  useEffect(() => {
    void loadList().then((r) => {
      if (r === undefined) return;
      const ids = (r.endpoints ?? []).map((e) => e.id ?? '').filter((id) => id !== '');
      setEndpoints(ids);
      setEndpointId((current) => (current === '' ? (ids[0] ?? '') : current));
    });
  }, [loadList]);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (endpointId === '') return;
    setMessage('');
    const r = await replay.run(endpointId);
    if (r !== undefined) {
      setMessage(endpointReplaySummary(r));
      onReplayed();
    }
  };
  return (
    <section class="card">
      <h2>Replay to endpoint</h2>
      <ErrorAlert error={list.error} />
      <form class="inline-form" onSubmit={(e) => void submit(e)}>
        <div class="field">
          <label for="replay-endpoint">Endpoint</label>
          <select
            id="replay-endpoint"
            value={endpointId}
            onChange={(e) => setEndpointId(e.currentTarget.value)}
            disabled={endpoints === undefined}
          >
            {endpoints === undefined && <option value="">Loading…</option>}
            {endpoints?.length === 0 && <option value="">No endpoints</option>}
            {endpoints?.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-button">
          <button type="submit" disabled={replay.busy || endpointId === ''}>
            Replay event
          </button>
        </div>
      </form>
      <ErrorAlert error={replay.error} />
      <StatusMessage message={replay.busy ? 'Replaying…' : message} />
    </section>
  );
}

/** Where the event is now; a dead-lettered one links to its dead letters. */
function StateFigure({ e }: { e: HsEvent }) {
  const state = e.state;
  if (state?.state !== 'dead_lettered') return <>{eventStateSummary(state)}</>;
  return (
    <a href={deadLettersHref({ source: e.source ?? '', stage: state.stage ?? '', reason: state.reason ?? '' })}>
      {eventStateSummary(state)}
    </a>
  );
}

/** GetEvent's answer for an id dedup dropped: what it duplicates and where that one is. */
function DuplicateOf({ e, now }: { e: HsEvent; now: number }) {
  const first = e.duplicateOf ?? '';
  return (
    <section class="card" aria-labelledby="duplicate-heading">
      <h2 id="duplicate-heading">Duplicate</h2>
      <p>
        Dropped by dedup as a duplicate of{' '}
        <a href={eventHref(first)}>
          <code class="break">{first}</code>
        </a>
        , which {eventStateSummary(e.state)}. It was not published and has no delivery attempts of its own.
      </p>
      <dl class="figures">
        <Figure label="Source">{e.source || '—'}</Figure>
        <Figure label="Idempotency key">
          <code class="break">{e.idempotencyKey || '—'}</code>
        </Figure>
        <Figure label="Received">
          <Time ms={e.receivedAtMs} now={now} />
        </Figure>
        <Figure label="First event">
          <StateFigure e={e} />
        </Figure>
      </dl>
    </section>
  );
}

export function EventPage({ id, role }: { id: string; role: Role | undefined }) {
  const event = usePoll(() => rpc<HsEvent>('GetEvent', { eventId: id }), 5000, `event:${id}`);
  const now = useNow(5000);
  const e = event.data;
  const payload = decodePayload(e?.payload);
  const headers = e?.headers ?? [];
  const attempts = e?.attempts ?? [];
  return (
    <>
      <p class="breadcrumb">
        <a href="#/events">Live events</a> / event
      </p>
      <h1 class="break">Event {id}</h1>
      <ErrorAlert error={event.error} />
      {event.loading && e === undefined && <Loading what="the event" />}
      {e?.duplicateOf && <DuplicateOf e={e} now={now} />}
      {e !== undefined && !e.duplicateOf && (
        <>
          <dl class="figures card">
            <Figure label="Status">
              <StateFigure e={e} />
            </Figure>
            <Figure label="Source">{e.source || '—'}</Figure>
            <Figure label="Type">{e.eventType || '—'}</Figure>
            <Figure label="Subject">
              <code class="break">{e.subject || '—'}</code>
            </Figure>
            <Figure label="Sequence">{String(e.sequence ?? 0)}</Figure>
            <Figure label="Received">
              <Time ms={e.receivedAtMs} now={now} />
            </Figure>
            <Figure label="Stored">
              <Time ms={e.storedAtMs} now={now} />
            </Figure>
            <Figure label="Size">{formatBytes(e.payloadSize ?? 0)}</Figure>
          </dl>

          {can(role, 'replayToEndpoint') && <ReplayForm eventId={id} onReplayed={event.reload} />}

          <section aria-labelledby="attempts-heading">
            <h2 id="attempts-heading">Delivery attempts</h2>
            {e.attemptsNote && <p class="note">{e.attemptsNote}</p>}
            <EndpointAttempts eventId={id} attempts={attempts} now={now} />
          </section>

          <section aria-labelledby="payload-heading">
            <h2 id="payload-heading">Payload</h2>
            {payload.kind === 'empty' && <p class="muted">Empty body.</p>}
            {payload.kind === 'base64' && <p class="muted">Not UTF-8 text; shown as base64.</p>}
            {payload.kind !== 'empty' && <pre class="payload">{payload.text}</pre>}
          </section>

          <section aria-labelledby="headers-heading">
            <h2 id="headers-heading">Headers</h2>
            <HeadersTable headers={headers} caption="Headers" />
          </section>
        </>
      )}
    </>
  );
}
