// One source: its stored configuration (secrets redacted), its figures over a chosen window, recent
// rejections and the drift validate saw (fields no schema declares).
import { useState } from 'preact/hooks';
import {
  ApiError,
  type DriftField,
  type LastRejection,
  type ListDriftResponse,
  rpc,
  type Source,
  type SourceHealthResponse,
} from '../api.ts';
import { ErrorAlert, Figure, isUnimplemented, Loading, TableWrap, Time } from '../components/common.tsx';
import { WindowSelect, windowLabel } from '../components/WindowSelect.tsx';
import { formatBytes, formatCount, formatPercent, secretWindowState, truncate } from '../format.ts';
import { useNow, usePoll } from '../hooks.ts';
import { deadLettersHref, searchHref } from '../router.ts';

const HOUR = 3_600_000;
/** What ListDrift answers by default: the week before now. */
const DRIFT_WINDOW = '7 days';

/** The stored record as the API shows it (secret values read "***"). */
interface SourceRecord {
  id?: string;
  enabled?: boolean;
  provider?: string;
  description?: string;
  scheme?: { kind?: string };
  secrets?: { id?: string; value?: string; notBeforeMs?: number; notAfterMs?: number }[];
  schemaMode?: string;
  requireSchema?: boolean;
  dedupWindowHours?: number;
  verifyInline?: boolean;
  maxBodyBytes?: number;
  rateLimit?: { perSecond?: number; burst?: number };
  contentTypes?: string[];
}

function parseRecord(json: string | undefined): SourceRecord | undefined {
  try {
    const value: unknown = JSON.parse(json ?? '');
    return typeof value === 'object' && value !== null ? (value as SourceRecord) : undefined;
  } catch {
    return undefined;
  }
}

function Secrets({ secrets, now }: { secrets: NonNullable<SourceRecord['secrets']>; now: number }) {
  return (
    <TableWrap>
      <table class="compact">
        <caption>Secrets</caption>
        <thead>
          <tr>
            <th scope="col">ID</th>
            <th scope="col">Value</th>
            <th scope="col">Valid from</th>
            <th scope="col">Valid until</th>
            <th scope="col">Now</th>
          </tr>
        </thead>
        <tbody>
          {secrets.length === 0 ? (
            <tr>
              <td colSpan={5} class="empty">
                No secrets (an unsigned source, or one that is not verified).
              </td>
            </tr>
          ) : (
            secrets.map((s, i) => {
              const state = secretWindowState(s, now);
              return (
                <tr key={s.id ?? i}>
                  <th scope="row">
                    <code>{s.id ?? ''}</code>
                  </th>
                  <td>
                    <code>{s.value ?? '***'}</code>
                  </td>
                  <td>{s.notBeforeMs === undefined ? <span class="muted">always</span> : <Time ms={s.notBeforeMs} now={now} />}</td>
                  <td>{s.notAfterMs === undefined ? <span class="muted">no end</span> : <Time ms={s.notAfterMs} now={now} />}</td>
                  <td>
                    <span class={state === 'active' ? 'pill ok' : state === 'expired' ? 'pill bad' : 'pill warn'}>{state}</span>
                  </td>
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </TableWrap>
  );
}

function Configuration({ source, now }: { source: Source; now: number }) {
  const r = parseRecord(source.configJson);
  if (r === undefined) return <p class="alert">The stored record is not JSON.</p>;
  const rate = r.rateLimit;
  return (
    <section aria-labelledby="config-heading" class="card">
      <h2 id="config-heading">Configuration</h2>
      {r.description && <p>{r.description}</p>}
      <dl class="figures">
        <Figure label="Status">
          <span class={r.enabled === false ? 'pill bad' : 'pill ok'}>{r.enabled === false ? 'Disabled' : 'Enabled'}</span>
        </Figure>
        <Figure label="Provider">{r.provider ?? '—'}</Figure>
        <Figure label="Signature scheme">{r.scheme?.kind ?? (r.provider !== undefined ? `${r.provider} preset` : '—')}</Figure>
        <Figure label="Schema mode">{r.schemaMode ?? 'additive'}</Figure>
        <Figure label="Events without a schema">{r.requireSchema === true ? 'rejected' : 'pass'}</Figure>
        <Figure label="Dedup window">{r.dedupWindowHours === undefined ? 'service default' : `${r.dedupWindowHours} h`}</Figure>
        <Figure label="Verified at ingest">{r.verifyInline === true ? 'yes (answers 401)' : 'no (verify stage)'}</Figure>
        <Figure label="Rate limit">{rate === undefined ? 'none' : `${rate.perSecond ?? 0}/s, burst ${rate.burst ?? 0}`}</Figure>
        <Figure label="Body limit">{r.maxBodyBytes === undefined ? 'service default' : formatBytes(r.maxBodyBytes)}</Figure>
        <Figure label="Content types">{r.contentTypes === undefined ? 'JSON and form' : r.contentTypes.join(', ')}</Figure>
        <Figure label="Revision">
          {formatCount(source.revision)}
          <div class="sub">
            <Time ms={source.updatedAtMs} now={now} />
          </div>
        </Figure>
      </dl>
      <Secrets secrets={r.secrets ?? []} now={now} />
      <details>
        <summary>Stored record (secrets redacted)</summary>
        <pre class="excerpt-block">{JSON.stringify(r, null, 2)}</pre>
      </details>
    </section>
  );
}

function RejectionsTable({ rows, now }: { rows: readonly LastRejection[]; now: number }) {
  return (
    <TableWrap>
      <table>
        <caption>Recent rejections</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Stage / reason</th>
            <th scope="col">Event</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={4} class="empty">
                No rejections in this window.
              </td>
            </tr>
          ) : (
            rows.map((r, i) => (
              <tr key={`${r.eventId ?? ''}:${i}`}>
                <td>
                  <Time ms={r.atMs} now={now} />
                </td>
                <td>
                  {r.stage}/{r.reason}
                </td>
                <td class="break">{r.eventId ? <a href={searchHref(r.eventId)}>{r.eventId}</a> : '—'}</td>
                <td class="excerpt">{truncate(r.detail, 160)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </TableWrap>
  );
}

function Health({ id, now }: { id: string; now: number }) {
  const [windowMs, setWindowMs] = useState(HOUR);
  const health = usePoll(
    () => {
      const untilMs = Date.now();
      return rpc<SourceHealthResponse>('SourceHealth', { source: id, sinceMs: untilMs - windowMs, untilMs });
    },
    10_000,
    `source-health:${id}:${windowMs}`,
  );
  const s = health.data?.sources?.find((x) => x.sourceId === id);
  const reasons = Object.entries(s?.rejections ?? {}).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const dead = s?.deadLetters ?? 0;
  return (
    <section aria-labelledby="figures-heading" class="card">
      <div class="card-head">
        <h2 id="figures-heading">Figures, {windowLabel(windowMs)}</h2>
        <WindowSelect id="source-window" value={windowMs} onChange={setWindowMs} />
      </div>
      {/* A missing source is said once, by the configuration's answer. */}
      {!(health.error instanceof ApiError && health.error.code === 'NOT_FOUND') && <ErrorAlert error={health.error} />}
      {health.data?.statsNote && <p class="note">{health.data.statsNote}</p>}
      {health.loading && health.data === undefined && <Loading what="source figures" />}
      {s !== undefined && (
        <>
          <dl class="figures">
            <Figure label="Accepted (stored in HS_EVENTS)">{formatCount(s.eventsStored)}</Figure>
            <Figure label="Received">{formatCount(s.received)}</Figure>
            <Figure label="Acceptance rate">
              {(s.received ?? 0) === 0 ? '—' : formatPercent((s.acceptedRequests ?? 0) / (s.received ?? 0))}
            </Figure>
            <Figure label="Rejected">{formatCount(s.rejected)}</Figure>
            <Figure label="Duplicates dropped">{formatCount(s.duplicates)}</Figure>
            <Figure label="Dead letters waiting">
              {dead === 0 ? '0' : <a href={deadLettersHref({ source: id })}>{formatCount(dead)}</a>}
            </Figure>
          </dl>
          <TableWrap>
            <table class="compact">
              <caption>Rejections by reason</caption>
              <thead>
                <tr>
                  <th scope="col">Stage / reason</th>
                  <th scope="col">Count</th>
                </tr>
              </thead>
              <tbody>
                {reasons.length === 0 ? (
                  <tr>
                    <td colSpan={2} class="empty">
                      None in this window.
                    </td>
                  </tr>
                ) : (
                  reasons.map(([reason, n]) => (
                    <tr key={reason}>
                      <th scope="row">{reason}</th>
                      <td class="num">{formatCount(n)}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </TableWrap>
          <RejectionsTable rows={s.recentRejections ?? []} now={now} />
        </>
      )}
    </section>
  );
}

function DriftTable({ fields, now }: { fields: readonly DriftField[]; now: number }) {
  return (
    <TableWrap>
      <table>
        <caption>Undeclared fields, last {DRIFT_WINDOW}</caption>
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">JSON type</th>
            <th scope="col">Event type</th>
            <th scope="col">Records</th>
            <th scope="col">First seen</th>
            <th scope="col">Last seen</th>
            <th scope="col">Example</th>
          </tr>
        </thead>
        <tbody>
          {fields.length === 0 ? (
            <tr>
              <td colSpan={7} class="empty">
                No drift: every field seen is declared by its schema.
              </td>
            </tr>
          ) : (
            fields.map((f) => (
              <tr key={`${f.eventType}:${f.path}:${f.jsonType}`}>
                <th scope="row" class="break">
                  <code>{f.path}</code>
                </th>
                <td>{f.jsonType}</td>
                <td class="break">{f.eventType}</td>
                <td class="num">{formatCount(f.count)}</td>
                <td>
                  <Time ms={f.firstSeenMs} now={now} />
                </td>
                <td>
                  <Time ms={f.lastSeenMs} now={now} />
                </td>
                <td class="break">{f.exampleEventId ? <a href={searchHref(f.exampleEventId)}>{f.exampleEventId}</a> : '—'}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </TableWrap>
  );
}

function Drift({ id, now }: { id: string; now: number }) {
  const drift = usePoll(() => rpc<ListDriftResponse>('ListDrift', { source: id }), 30_000, `drift:${id}`);
  return (
    <section aria-labelledby="drift-heading">
      <h2 id="drift-heading">Schema drift</h2>
      <p class="muted">
        Fields seen in this source's events that their schema does not declare (validate records them in additive mode, at most once an hour
        per field and replica: "Records" counts those, not every event).
      </p>
      {drift.data === undefined && isUnimplemented(drift.error) ? (
        <p class="note">Drift needs ClickHouse: the control service has no HS_CLICKHOUSE_URL.</p>
      ) : (
        <ErrorAlert error={drift.error} />
      )}
      {drift.loading && drift.data === undefined && <Loading what="drift" />}
      {drift.data !== undefined && <DriftTable fields={drift.data.fields ?? []} now={now} />}
    </section>
  );
}

/** `#/sources/{id}`: configuration, figures, recent rejections and drift of one source. */
export function SourcePage({ id }: { id: string }) {
  const source = usePoll(() => rpc<Source>('GetSource', { id }), 30_000, `source:${id}`);
  const now = useNow(5000);
  const missing = source.error instanceof ApiError && source.error.code === 'NOT_FOUND';
  return (
    <>
      <p class="breadcrumb">
        <a href="#/">Overview</a> / source
      </p>
      <h1>Source {id}</h1>
      {missing ? (
        <p role="alert" class="alert">
          No source {id} is configured.
        </p>
      ) : (
        <>
          <ErrorAlert error={source.error} />
          {source.loading && source.data === undefined && <Loading what="source" />}
          {source.data !== undefined && <Configuration source={source.data} now={now} />}
          <Health id={id} now={now} />
          <Drift id={id} now={now} />
        </>
      )}
    </>
  );
}
