import { useEffect, useState } from 'preact/hooks';
import { type Endpoint, type Role, rpc } from '../api.ts';
import { formatDuration } from '../format.ts';
import { useAction, usePoll } from '../hooks.ts';
import { can } from '../roles.ts';
import { ErrorAlert, Figure, Loading, StatusMessage } from './common.tsx';

/** CheckFilter's answer (proto3 JSON: defaults omitted). */
interface CheckFilterResponse {
  ok?: boolean;
  error?: string;
  line?: number;
  column?: number;
}

interface RotateSecretResponse {
  secretId?: string;
  secretValue?: string;
}

/** The parts of an endpoint record this page shows and edits; the rest is kept as read. */
interface EndpointRecord {
  id?: string;
  url?: string;
  enabled?: boolean;
  eventTypes?: string[];
  sources?: string[];
  filter?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  maxConcurrency?: number;
  rateLimitPerSecond?: number;
  retry?: { initialDelayMs?: number; maxDelayMs?: number; maxAgeMs?: number };
  [key: string]: unknown;
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** `Name: value` lines → a header map; a value of `***` keeps the stored one (UpdateEndpoint restores it). */
function headersOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (line.trim() === '' || colon < 0) continue;
    out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return out;
}

/** A retry-policy span: whole hours as "72 h", else as formatDuration ("5.00 s"). */
const span = (ms: number | undefined): string =>
  ms !== undefined && ms >= 3_600_000 && ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : formatDuration(ms);

const numberOr = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

/** The filter box's check through CheckFilter, a moment after the last keystroke (the same compile route and the writes use). */
function useFilterCheck(expression: string): CheckFilterResponse | undefined {
  const [answer, setAnswer] = useState<CheckFilterResponse | undefined>(undefined);
  useEffect(() => {
    if (expression.trim() === '') {
      setAnswer(undefined);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      rpc<CheckFilterResponse>('CheckFilter', { expression }).then(
        (a) => current && setAnswer(a),
        () => current && setAnswer(undefined),
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [expression]);
  return answer;
}

function EditForm({ stored, revision, onSaved }: { stored: EndpointRecord; revision: number; onSaved: (text: string) => void }) {
  const [url, setUrl] = useState(stored.url ?? '');
  const [eventTypes, setEventTypes] = useState((stored.eventTypes ?? ['*']).join(', '));
  const [sources, setSources] = useState((stored.sources ?? []).join(', '));
  const [filter, setFilter] = useState(stored.filter ?? '');
  const [timeoutMs, setTimeoutMs] = useState(String(stored.timeoutMs ?? ''));
  const [concurrency, setConcurrency] = useState(String(stored.maxConcurrency ?? ''));
  const [rate, setRate] = useState(stored.rateLimitPerSecond === undefined ? '' : String(stored.rateLimitPerSecond));
  const [retry, setRetry] = useState(JSON.stringify(stored.retry ?? {}));
  const [headers, setHeaders] = useState(
    Object.entries(stored.headers ?? {})
      .map(([n, v]) => `${n}: ${v}`)
      .join('\n'),
  );
  const [invalid, setInvalid] = useState('');
  const check = useFilterCheck(filter);
  const save = useAction((record: EndpointRecord) => rpc<Endpoint>('UpdateEndpoint', { configJson: JSON.stringify(record), revision }));
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    let retryPolicy: unknown;
    try {
      retryPolicy = JSON.parse(retry);
    } catch {
      setInvalid('Retry policy must be JSON, e.g. {"initialDelayMs":5000,"maxDelayMs":3600000,"maxAgeMs":259200000}.');
      return;
    }
    setInvalid('');
    const record: EndpointRecord = { ...stored, url, eventTypes: list(eventTypes), retry: retryPolicy as EndpointRecord['retry'] };
    const srcs = list(sources);
    if (srcs.length > 0) record.sources = srcs;
    else delete record.sources;
    if (filter.trim() !== '') record.filter = filter;
    else delete record.filter;
    const h = headersOf(headers);
    if (Object.keys(h).length > 0) record.headers = h;
    else delete record.headers;
    for (const [key, text] of [
      ['timeoutMs', timeoutMs],
      ['maxConcurrency', concurrency],
      ['rateLimitPerSecond', rate],
    ] as const) {
      const n = numberOr(text);
      if (n === undefined) delete record[key];
      else record[key] = n;
    }
    const r = await save.run(record);
    if (r !== undefined) onSaved(`Endpoint ${stored.id ?? ''} saved (revision ${r.revision ?? 0}).`);
  };
  const filterBad = check !== undefined && check.ok !== true;
  return (
    <form class="stacked-form edit-form" aria-labelledby="edit-heading" onSubmit={(e) => void submit(e)}>
      <h3 id="edit-heading">Edit configuration</h3>
      <div class="field">
        <label for="ep-url">URL</label>
        <input id="ep-url" type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ep-types">Event types (comma-separated patterns)</label>
        <input id="ep-types" value={eventTypes} onInput={(e) => setEventTypes(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ep-sources">Sources (comma-separated; empty: every source)</label>
        <input id="ep-sources" value={sources} onInput={(e) => setSources(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ep-filter">CEL filter</label>
        <textarea
          id="ep-filter"
          rows={2}
          value={filter}
          aria-invalid={filterBad}
          aria-describedby="ep-filter-check"
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <p id="ep-filter-check" class={filterBad ? 'alert' : 'muted'} aria-live="polite">
          {check === undefined ? '' : check.ok === true ? 'Filter compiles.' : check.error}
        </p>
      </div>
      <div class="field">
        <label for="ep-retry">Retry policy (JSON)</label>
        <input id="ep-retry" value={retry} onInput={(e) => setRetry(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ep-timeout">Timeout (ms)</label>
        <input id="ep-timeout" inputMode="numeric" value={timeoutMs} onInput={(e) => setTimeoutMs(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ep-concurrency">Concurrency</label>
        <input id="ep-concurrency" inputMode="numeric" value={concurrency} onInput={(e) => setConcurrency(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ep-rate">Rate limit (requests per second; empty: none)</label>
        <input id="ep-rate" inputMode="numeric" value={rate} onInput={(e) => setRate(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ep-headers">Headers (one "Name: value" a line; "***" keeps the stored value)</label>
        <textarea id="ep-headers" rows={3} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} />
      </div>
      {invalid !== '' && (
        <div role="alert" class="alert">
          {invalid}
        </div>
      )}
      <ErrorAlert error={save.error} prefix="Not saved" />
      <div class="field field-button">
        <button type="submit" disabled={save.busy || filterBad}>
          Save endpoint
        </button>
      </div>
    </form>
  );
}

/**
 * An endpoint's whole configuration as GetEndpoint answers it (secret and
 * header values read "***"), and for a role that may call UpdateEndpoint an
 * edit form (with the CEL filter checked through CheckFilter as you type),
 * secret rotation (the new secret shown once) and a confirmed delete.
 */
export function EndpointConfigSection({ id, role }: { id: string; role: Role | undefined }) {
  const got = usePoll(() => rpc<Endpoint>('GetEndpoint', { id }), 30_000, `ep:${id}`);
  const [status, setStatus] = useState('');
  const [secret, setSecret] = useState('');
  const [editing, setEditing] = useState(false);
  const rotate = useAction(() => rpc<RotateSecretResponse>('RotateEndpointSecret', { id }));
  const remove = useAction((revision: number) => rpc<object>('DeleteEndpoint', { id, revision }));
  let record: EndpointRecord | undefined;
  try {
    record = got.data?.configJson === undefined ? undefined : (JSON.parse(got.data.configJson) as EndpointRecord);
  } catch {
    record = undefined;
  }
  const onRotate = async (): Promise<void> => {
    setStatus('');
    const r = await rotate.run();
    if (r !== undefined) {
      setSecret(r.secretValue ?? '');
      setStatus('Secret rotated; the old one keeps signing alongside it until its window ends.');
      got.reload();
    }
  };
  const onDelete = async (): Promise<void> => {
    if (!window.confirm(`Delete endpoint ${id}? Events are no longer delivered to it.`)) return;
    const r = await remove.run(got.data?.revision ?? 0);
    if (r !== undefined) location.hash = '#/';
  };
  return (
    <section aria-labelledby="config-heading" class="card">
      <div class="card-head">
        <h2 id="config-heading">Configuration</h2>
        {can(role, 'updateEndpoint') && record !== undefined && (
          <div class="card-actions">
            <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>
              {editing ? 'Close editor' : 'Edit'}
            </button>{' '}
            {can(role, 'rotateEndpointSecret') && (
              <button type="button" disabled={rotate.busy} onClick={() => void onRotate()}>
                Rotate secret
              </button>
            )}{' '}
            {can(role, 'deleteEndpoint') && (
              <button type="button" class="danger" disabled={remove.busy} onClick={() => void onDelete()}>
                Delete endpoint
              </button>
            )}
          </div>
        )}
      </div>
      <ErrorAlert error={got.error} />
      <ErrorAlert error={rotate.error} />
      <ErrorAlert error={remove.error} />
      <StatusMessage message={status} />
      {secret !== '' && (
        <p class="note">
          New secret (shown once): <code class="break">{secret}</code>
        </p>
      )}
      {got.loading && got.data === undefined && <Loading what="endpoint configuration" />}
      {record !== undefined && (
        <dl class="figures">
          <Figure label="Event types">{(record.eventTypes ?? ['*']).join(', ')}</Figure>
          <Figure label="Sources">{record.sources === undefined ? 'every source' : record.sources.join(', ')}</Figure>
          <Figure label="CEL filter">{record.filter === undefined ? 'none' : <code class="break">{record.filter}</code>}</Figure>
          <Figure label="Retry policy">
            {record.retry === undefined
              ? 'default'
              : `first within ${span(record.retry.initialDelayMs)}, at most ${span(record.retry.maxDelayMs)} apart, for ${span(record.retry.maxAgeMs)}`}
          </Figure>
          <Figure label="Rate limit">{record.rateLimitPerSecond === undefined ? 'none' : `${record.rateLimitPerSecond}/s`}</Figure>
          <Figure label="Concurrency">{String(record.maxConcurrency ?? '—')}</Figure>
          <Figure label="Timeout">{record.timeoutMs === undefined ? '—' : `${record.timeoutMs} ms`}</Figure>
          <Figure label="Enabled">{record.enabled === false ? 'no' : 'yes'}</Figure>
          <Figure label="Headers">
            {Object.keys(record.headers ?? {}).length === 0
              ? 'none'
              : Object.entries(record.headers ?? {}).map(([n, v]) => (
                  <div key={n}>
                    <code>{n}</code>: {v}
                  </div>
                ))}
          </Figure>
        </dl>
      )}
      {editing && record !== undefined && (
        <EditForm
          key={got.data?.revision ?? 0}
          stored={record}
          revision={got.data?.revision ?? 0}
          onSaved={(text) => {
            setStatus(text);
            setEditing(false);
            got.reload();
          }}
        />
      )}
    </section>
  );
}

/** A new Standard Webhooks secret, `whsec_` + base64 of 32 random bytes, made in the browser (sent once, over the API). */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * Creates endpoint `id` (the page of an id nothing is configured under) with
 * a URL, event types, sources and a CEL filter checked as you type, and a
 * signing secret made here; `onCreated` gets the secret to show once.
 */
export function CreateEndpointForm({ id, onCreated }: { id: string; onCreated: (secret: string) => void }) {
  const [url, setUrl] = useState('https://');
  const [eventTypes, setEventTypes] = useState('*');
  const [sources, setSources] = useState('');
  const [filter, setFilter] = useState('');
  const check = useFilterCheck(filter);
  const create = useAction((record: EndpointRecord) => rpc<Endpoint>('CreateEndpoint', { configJson: JSON.stringify(record) }));
  const filterBad = check !== undefined && check.ok !== true;
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const secret = newSecret();
    const record: EndpointRecord = { id, url, eventTypes: list(eventTypes), secrets: [{ id: 'k1', value: secret }] };
    if (list(sources).length > 0) record.sources = list(sources);
    if (filter.trim() !== '') record.filter = filter;
    if ((await create.run(record)) !== undefined) onCreated(secret);
  };
  return (
    <form class="stacked-form edit-form card" aria-labelledby="create-heading" onSubmit={(e) => void submit(e)}>
      <h2 id="create-heading">Create endpoint {id}</h2>
      <div class="field">
        <label for="new-url">URL</label>
        <input id="new-url" type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="new-types">Event types (comma-separated patterns)</label>
        <input id="new-types" value={eventTypes} onInput={(e) => setEventTypes(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="new-sources">Sources (comma-separated; empty: every source)</label>
        <input id="new-sources" value={sources} onInput={(e) => setSources(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="new-filter">CEL filter (optional)</label>
        <textarea
          id="new-filter"
          rows={2}
          value={filter}
          aria-invalid={filterBad}
          aria-describedby="new-filter-check"
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
        <p id="new-filter-check" class={filterBad ? 'alert' : 'muted'} aria-live="polite">
          {check === undefined ? '' : check.ok === true ? 'Filter compiles.' : check.error}
        </p>
      </div>
      <ErrorAlert error={create.error} prefix="Not created" />
      <div class="field field-button">
        <button type="submit" disabled={create.busy || filterBad}>
          Create endpoint
        </button>
      </div>
    </form>
  );
}
