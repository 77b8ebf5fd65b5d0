import { OutboundHeader } from '@hookstream/contracts/headers';
import { ApiError, type DeliveryAttempt, type Endpoint, type EndpointDelivery, type FindEventsResponse, rpc } from '../api.ts';
import { attemptErrorText, endpointDeliverySummary, formatDuration, formatStatusOutcome } from '../format.ts';
import { usePoll } from '../hooks.ts';
import { endpointHref } from '../router.ts';
import { HeadersTable, TableWrap, Time } from './common.tsx';

/** FindEvents' per-endpoint states of one event (delivered / retrying / dead-lettered / failed), or [] when it knows none. */
async function deliveriesOf(eventId: string): Promise<EndpointDelivery[]> {
  try {
    const r = await rpc<FindEventsResponse>('FindEvents', { text: eventId });
    return r.found?.find((f) => f.event?.eventId === eventId)?.endpoints ?? [];
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) return [];
    throw err;
  }
}

/** The names of an endpoint's configured headers (their values are write-only), or [] when it cannot be read. */
async function configuredHeaderNames(endpointId: string): Promise<string[]> {
  try {
    const e = await rpc<Endpoint>('GetEndpoint', { id: endpointId });
    const record = JSON.parse(e.configJson ?? '{}') as { headers?: Record<string, string> };
    return Object.keys(record.headers ?? {});
  } catch {
    return [];
  }
}

/**
 * The request headers of an attempt as deliver sends them: the attempt
 * records do not carry the headers, so this is the standard set (content
 * type, user agent, the Standard Webhooks trio, the request id) plus the
 * endpoint's configured header names; the signature and configured values
 * are redacted.
 */
function SentHeaders({ eventId, endpointId }: { eventId: string; endpointId: string }) {
  const names = usePoll(() => configuredHeaderNames(endpointId), 60_000, `hdr:${endpointId}`);
  const rows = [
    { name: 'content-type', value: "the sender's content type (application/json by default)" },
    { name: 'user-agent', value: 'hookstream deliver' },
    { name: OutboundHeader.id, value: eventId },
    { name: OutboundHeader.timestamp, value: 'the attempt time, epoch seconds' },
    { name: OutboundHeader.signature, value: 'v1,*** (redacted)' },
    { name: OutboundHeader.requestId, value: "this attempt's request id" },
    ...(names.data ?? []).map((name) => ({ name, value: '*** (configured on the endpoint; value write-only)' })),
  ];
  return (
    <details>
      <summary>Request headers sent</summary>
      <p class="muted">
        Attempt records do not store the request headers: these are the ones deliver sets on every request to this endpoint, signature and
        configured values redacted.
      </p>
      <HeadersTable headers={rows} caption={`Request headers sent to ${endpointId}`} hideCaption />
    </details>
  );
}

function EndpointGroup({
  eventId,
  endpointId,
  attempts,
  delivery,
  now,
}: {
  eventId: string;
  endpointId: string;
  attempts: readonly DeliveryAttempt[];
  delivery: EndpointDelivery | undefined;
  now: number;
}) {
  const headingId = `attempts-${endpointId}`;
  const ok = delivery?.state === 'delivered' || (delivery === undefined && attempts.at(-1)?.outcome === 'success');
  return (
    <section aria-labelledby={headingId} class="card endpoint-attempts">
      <h3 id={headingId}>
        <a href={endpointHref(endpointId)}>{endpointId}</a>{' '}
        <span class={ok ? 'pill ok' : 'pill bad'}>
          {delivery === undefined ? (ok ? 'delivered' : 'failed') : endpointDeliverySummary(delivery)}
        </span>
      </h3>
      {delivery?.state === 'dead_lettered' && delivery.lastError && <p class="alert">{delivery.lastError}</p>}
      <TableWrap>
        <table>
          <caption class="visually-hidden">Delivery attempts to {endpointId}</caption>
          <thead>
            <tr>
              <th scope="col">Attempt</th>
              <th scope="col">Result</th>
              <th scope="col">Error</th>
              <th scope="col">Latency</th>
              <th scope="col">At</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={`${a.replay ?? ''}:${a.attempt ?? 0}:${a.atMs ?? 0}`}>
                <td class="num">
                  {a.attempt ?? 0}
                  {a.replay && <span class="muted block">replay {a.replay}</span>}
                </td>
                <td>
                  <span class={a.outcome === 'success' ? 'pill ok' : 'pill bad'}>{formatStatusOutcome(a.status, a.outcome)}</span>
                </td>
                <td class="excerpt">{a.outcome === 'success' ? <span class="muted">none</span> : attemptErrorText(a)}</td>
                <td class="num">{formatDuration(a.latencyMs ?? 0)}</td>
                <td class="nowrap">
                  <Time ms={a.atMs} now={now} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      {delivery?.state === 'retrying' && (delivery.nextAttemptAtMs ?? 0) > 0 && (
        <p>
          Next retry: <Time ms={delivery.nextAttemptAtMs} now={now} />
        </p>
      )}
      <SentHeaders eventId={eventId} endpointId={endpointId} />
    </section>
  );
}

/**
 * An event's delivery attempts grouped by endpoint, oldest first within
 * each, under the endpoint's final state from FindEvents (so a task that was
 * dead-lettered shows that, and "Next retry" appears only while one is
 * scheduled); every failed attempt with its error text.
 */
export function EndpointAttempts({ eventId, attempts, now }: { eventId: string; attempts: readonly DeliveryAttempt[]; now: number }) {
  const deliveries = usePoll(() => deliveriesOf(eventId), 5000, `deliveries:${eventId}`);
  const byEndpoint = new Map<string, DeliveryAttempt[]>();
  for (const a of [...attempts].sort((x, y) => (x.atMs ?? 0) - (y.atMs ?? 0))) {
    const id = a.endpointId ?? '';
    byEndpoint.set(id, [...(byEndpoint.get(id) ?? []), a]);
  }
  // Endpoints dead-lettered without an attempt (skipped) have a state and no rows.
  for (const d of deliveries.data ?? []) if (d.endpointId && !byEndpoint.has(d.endpointId)) byEndpoint.set(d.endpointId, []);
  if (byEndpoint.size === 0) return <p class="empty">No delivery attempts recorded.</p>;
  return (
    <>
      {[...byEndpoint].map(([endpointId, list]) => (
        <EndpointGroup
          key={endpointId}
          eventId={eventId}
          endpointId={endpointId}
          attempts={list}
          delivery={deliveries.data?.find((d) => d.endpointId === endpointId)}
          now={now}
        />
      ))}
    </>
  );
}
