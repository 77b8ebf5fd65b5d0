import { useState } from 'preact/hooks';
import {
  ApiError,
  type Endpoint,
  type EndpointHealthResponse,
  type ListDeadLettersResponse,
  type ReplayDeadLettersResponse,
  type ReplayToEndpointResponse,
  type Role,
  rpc,
} from '../api.ts';
import { ErrorAlert, Figure, Loading, StatusMessage, Time } from '../components/common.tsx';
import { DeadLetterTable } from '../components/DeadLetterTable.tsx';
import { CreateEndpointForm, EndpointConfigSection } from '../components/EndpointConfig.tsx';
import { StatsCharts } from '../components/StatsCharts.tsx';
import { TestEventSection } from '../components/TestEvent.tsx';
import {
  circuitSummary,
  deadLetterReplaySummary,
  endpointReplaySummary,
  formatCount,
  formatDuration,
  formatPercent,
  formatStatusOutcome,
  fromDatetimeLocal,
  toDatetimeLocal,
} from '../format.ts';
import { useAction, useNow, usePoll } from '../hooks.ts';
import { can } from '../roles.ts';
import { deadLettersHref, eventHref } from '../router.ts';

const HOUR = 3_600_000;

function ReplayRangeForm({ id, status, announce }: { id: string; status: string; announce: (text: string) => void }) {
  const [from, setFrom] = useState(() => toDatetimeLocal(Date.now() - HOUR));
  const [to, setTo] = useState(() => toDatetimeLocal(Date.now()));
  const [invalid, setInvalid] = useState('');
  const replay = useAction((sinceMs: number, untilMs: number) =>
    rpc<ReplayToEndpointResponse>('ReplayToEndpoint', { endpointId: id, sinceMs, untilMs }),
  );
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const sinceMs = fromDatetimeLocal(from);
    const untilMs = fromDatetimeLocal(to);
    if (sinceMs === undefined || untilMs === undefined) {
      setInvalid('Enter both times.');
      return;
    }
    if (sinceMs >= untilMs) {
      setInvalid('"From" must be before "To".');
      return;
    }
    setInvalid('');
    announce('Replaying…');
    // A whole minute: include the last one the "To" field names.
    const r = await replay.run(sinceMs, untilMs + 59_999);
    announce(r === undefined ? '' : endpointReplaySummary(r));
  };
  return (
    <section aria-labelledby="replay-range-heading">
      <h2 id="replay-range-heading">Replay a time range</h2>
      <p class="muted">
        Delivers again every stored event of the window that this endpoint subscribes to. The endpoint sees them as duplicates of what it
        may already have; its idempotency handles them.
      </p>
      <form class="inline-form" onSubmit={(e) => void submit(e)}>
        <div class="field">
          <label for="replay-from">From</label>
          <input id="replay-from" type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="replay-to">To</label>
          <input id="replay-to" type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div class="field field-button">
          <button type="submit" disabled={replay.busy}>
            Replay time range
          </button>
        </div>
      </form>
      {invalid !== '' && (
        <div role="alert" class="alert">
          {invalid}
        </div>
      )}
      <ErrorAlert error={replay.error} />
      <StatusMessage message={status} />
    </section>
  );
}

function FailedDeliveries({
  id,
  role,
  status,
  announce,
}: {
  id: string;
  role: Role | undefined;
  status: string;
  announce: (text: string) => void;
}) {
  const filter = { endpoint: id, stage: 'deliver' };
  const list = usePoll(() => rpc<ListDeadLettersResponse>('ListDeadLetters', { filter, pageSize: 20 }), 10_000, `dl:${id}`);
  const replay = useAction((sequence: number) => rpc<ReplayDeadLettersResponse>('ReplayDeadLetters', { sequence, purge: true }));
  const onReplay = async (sequence: number): Promise<void> => {
    announce('');
    const r = await replay.run(sequence);
    if (r !== undefined) {
      announce(deadLetterReplaySummary(r.replayed));
      list.reload();
    }
  };
  const letters = list.data?.deadLetters ?? [];
  return (
    <section aria-labelledby="failed-heading">
      <h2 id="failed-heading">Failed deliveries</h2>
      <p>
        Dead letters of the deliver stage for this endpoint, newest page first.{' '}
        <a href={deadLettersHref({ endpoint: id })}>All dead letters of this endpoint</a>
      </p>
      <ErrorAlert error={list.error} />
      <ErrorAlert error={replay.error} />
      <StatusMessage message={status} />
      {list.loading && list.data === undefined ? (
        <Loading what="dead letters" />
      ) : (
        list.data !== undefined && (
          <DeadLetterTable
            letters={letters}
            caption={`Failed deliveries of ${id}`}
            canReplay={can(role, 'replayDeadLetters')}
            replaying={replay.busy}
            onReplay={(s) => void onReplay(s)}
          />
        )
      )}
      {list.data?.nextPageToken && (
        <p class="muted">
          More on the <a href={deadLettersHref({ endpoint: id, stage: 'deliver' })}>dead-letter page</a>.
        </p>
      )}
    </section>
  );
}

export function EndpointPage({ id, role }: { id: string; role: Role | undefined }) {
  const health = usePoll(() => rpc<EndpointHealthResponse>('EndpointHealth', { endpoint: id }), 10_000, `health:${id}`);
  const now = useNow(5000);
  // One status message for the page, shown next to the control that caused it.
  const [status, setStatus] = useState<{ where: 'toggle' | 'failed' | 'range'; text: string }>({ where: 'toggle', text: '' });
  const statusOf = (where: 'toggle' | 'failed' | 'range'): string => (status.where === where ? status.text : '');
  const announcer = (where: 'toggle' | 'failed' | 'range') => (text: string) => setStatus({ where, text });
  const toggle = useAction((enabled: boolean) => rpc<Endpoint>('SetEndpointEnabled', { id, enabled }));
  const [createdSecret, setCreatedSecret] = useState('');
  const e = health.data?.endpoints?.find((x) => x.endpointId === id) ?? health.data?.endpoints?.[0];
  const stats = e?.stats;
  const failure = e?.lastFailure;
  // Nothing under this id (EndpointHealth answers NOT_FOUND): an admin may create it here.
  const missing = (health.data !== undefined && e === undefined) || (health.error instanceof ApiError && health.error.status === 404);

  const onToggle = async (): Promise<void> => {
    const enabled = !(e?.enabled ?? false);
    setStatus({ where: 'toggle', text: '' });
    const r = await toggle.run(enabled);
    if (r !== undefined) {
      setStatus({ where: 'toggle', text: enabled ? `Endpoint ${id} enabled.` : `Endpoint ${id} disabled.` });
      health.reload();
    }
  };

  return (
    <>
      <p class="breadcrumb">
        <a href="#/">Overview</a> / endpoint
      </p>
      <h1>Endpoint {id}</h1>
      <ErrorAlert error={health.error} />
      {health.data?.statsNote && <p class="note">{health.data.statsNote}</p>}
      {health.loading && health.data === undefined && <Loading what="endpoint health" />}
      {health.data !== undefined && e === undefined && (
        <p role="alert" class="alert">
          No endpoint {id} is configured.
        </p>
      )}
      {missing && can(role, 'createEndpoint') && createdSecret === '' && (
        <CreateEndpointForm
          id={id}
          onCreated={(secret) => {
            setCreatedSecret(secret);
            health.reload();
          }}
        />
      )}
      {createdSecret !== '' && (
        <p class="note">
          Endpoint {id} created. Its signing secret, shown once: <code class="break">{createdSecret}</code>
        </p>
      )}
      {e !== undefined && (
        <section aria-labelledby="health-heading" class="card">
          <div class="card-head">
            <h2 id="health-heading">Health, last hour</h2>
            {can(role, 'setEndpointEnabled') && (
              <button type="button" class={e.enabled ? 'danger' : ''} disabled={toggle.busy} onClick={() => void onToggle()}>
                {e.enabled ? 'Disable endpoint' : 'Enable endpoint'}
              </button>
            )}
          </div>
          <ErrorAlert error={toggle.error} />
          <StatusMessage message={statusOf('toggle')} />
          <dl class="figures">
            <Figure label="URL">
              <span class="break">{e.url || '—'}</span>
            </Figure>
            <Figure label="Status">
              <span class={e.enabled ? 'pill ok' : 'pill bad'}>{e.enabled ? 'Enabled' : 'Disabled'}</span>
              {e.disabledReason && <div class="sub">{e.disabledReason}</div>}
            </Figure>
            <Figure label="Circuit">{circuitSummary(e.circuits)}</Figure>
            <Figure label="Dead letters">{formatCount(e.deadLetters)}</Figure>
            <Figure label="Success rate">{stats === undefined ? '—' : formatPercent(stats.successRate)}</Figure>
            <Figure label="Attempts">
              {stats === undefined ? '—' : `${formatCount(stats.attempts)} (${formatCount(stats.successes)} succeeded)`}
            </Figure>
            <Figure label="Latency p50 / p95 / p99">
              {stats === undefined
                ? '—'
                : `${formatDuration(stats.latencyP50Ms)} / ${formatDuration(stats.latencyP95Ms)} / ${formatDuration(stats.latencyP99Ms)}`}
            </Figure>
            <Figure label="Last failure">
              {failure === undefined ? (
                'none'
              ) : (
                <>
                  {formatStatusOutcome(failure.status, failure.outcome)} on attempt {failure.attempt ?? 0} of event{' '}
                  {failure.eventId ? <a href={eventHref(failure.eventId)}>{failure.eventId}</a> : '—'}
                  <div class="sub">
                    <Time ms={failure.atMs} now={now} />
                  </div>
                  {failure.responseExcerpt && <pre class="excerpt-block">{failure.responseExcerpt}</pre>}
                </>
              )}
            </Figure>
          </dl>
        </section>
      )}
      {e !== undefined && <EndpointConfigSection id={id} role={role} />}
      {e !== undefined && can(role, 'sendTestEvent') && <TestEventSection id={id} />}
      <StatsCharts endpoint={id} />
      <FailedDeliveries id={id} role={role} status={statusOf('failed')} announce={announcer('failed')} />
      {can(role, 'replayToEndpoint') && <ReplayRangeForm id={id} status={statusOf('range')} announce={announcer('range')} />}
    </>
  );
}
