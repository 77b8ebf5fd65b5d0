import { useState } from 'preact/hooks';
import { ApiError, type HsEvent, rpc } from '../api.ts';
import { formatDuration, formatStatusOutcome } from '../format.ts';
import { useAction, usePoll } from '../hooks.ts';
import { eventHref } from '../router.ts';
import { ErrorAlert, StatusMessage, TableWrap } from './common.tsx';

interface SendTestEventResponse {
  eventId?: string;
  subject?: string;
}

/** GetEvent for the sample, or undefined while nothing knows it yet (deliver has not recorded an attempt). */
async function sampleEvent(eventId: string): Promise<HsEvent | undefined> {
  try {
    return await rpc<HsEvent>('GetEvent', { eventId });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * "Send test event": SendTestEvent publishes a signed sample through the
 * deliver path; the section then polls GetEvent for the sample's attempts
 * (recorded by analytics) and shows each one. For roles that may call it.
 */
export function TestEventSection({ id }: { id: string }) {
  const [eventId, setEventId] = useState('');
  const send = useAction(() => rpc<SendTestEventResponse>('SendTestEvent', { endpointId: id }));
  const sample = usePoll(() => sampleEvent(eventId), 2_000, `test:${eventId}`, eventId !== '');
  const attempts = (sample.data?.attempts ?? []).filter((a) => a.endpointId === id);
  const onSend = async (): Promise<void> => {
    setEventId('');
    const r = await send.run();
    if (r?.eventId !== undefined) setEventId(r.eventId);
  };
  return (
    <section aria-labelledby="test-event-heading">
      <h2 id="test-event-heading">Test event</h2>
      <p class="muted">
        Sends a sample <code>hookstream.test</code> event to this endpoint only, signed, retried and recorded like any delivery.
      </p>
      <button type="button" disabled={send.busy} onClick={() => void onSend()}>
        Send test event
      </button>
      <ErrorAlert error={send.error} />
      <ErrorAlert error={sample.error} />
      {eventId !== '' && (
        <StatusMessage
          message={
            attempts.length === 0
              ? `Test event ${eventId} sent; waiting for its first attempt…`
              : `Test event ${eventId}: ${attempts.length} attempt(s).`
          }
        />
      )}
      {eventId !== '' && (
        <p>
          <a href={eventHref(eventId)}>Open test event {eventId}</a>
        </p>
      )}
      {attempts.length > 0 && (
        <TableWrap>
          <table class="compact">
            <caption>Attempts of the test event</caption>
            <thead>
              <tr>
                <th scope="col">Attempt</th>
                <th scope="col">Result</th>
                <th scope="col">Latency</th>
                <th scope="col">Response</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={`${a.attempt ?? 0}:${a.atMs ?? 0}`}>
                  <td>{a.attempt ?? 0}</td>
                  <td>{formatStatusOutcome(a.status, a.outcome)}</td>
                  <td>{formatDuration(a.latencyMs)}</td>
                  <td class="break">{a.responseExcerpt ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}
