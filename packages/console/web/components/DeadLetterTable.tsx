// Rows of dead letters with Replay and Show payload per row; used by the
// dead-letter page and an endpoint's "Failed deliveries".
import { useEffect, useState } from 'preact/hooks';
import { type DeadLetter, rpc } from '../api.ts';
import { decodePayload, formatBytes, formatCount } from '../format.ts';
import { useAction, useNow } from '../hooks.ts';
import { eventHref } from '../router.ts';
import { ErrorAlert, HeadersTable, TableWrap, Time } from './common.tsx';

const COLUMNS = 8;

function PayloadRow({ sequence }: { sequence: number }) {
  const [letter, setLetter] = useState<DeadLetter | undefined>(undefined);
  const load = useAction(async () => setLetter(await rpc<DeadLetter>('GetDeadLetter', { sequence })));
  const run = load.run;
  useEffect(() => {
    void run();
  }, [run]);
  const payload = decodePayload(letter?.payload);
  return (
    <tr class="expanded">
      <td colSpan={COLUMNS} id={`dl-payload-${sequence}`}>
        {load.busy && <p class="muted">Loading payload…</p>}
        <ErrorAlert error={load.error} />
        {letter !== undefined && (
          <div class="letter-detail">
            <p>
              <strong>Subject:</strong> <code>{letter.subject || '—'}</code> · <strong>original subject:</strong>{' '}
              <code>{letter.originalSubject || '—'}</code>
            </p>
            <h4>Headers</h4>
            {(letter.headers ?? []).length === 0 ? (
              <p class="muted">No headers.</p>
            ) : (
              <HeadersTable headers={letter.headers ?? []} caption={`Headers of dead letter ${sequence}`} hideCaption />
            )}
            <h4>
              Payload <span class="muted">({formatBytes(letter.payloadSize ?? 0)})</span>
            </h4>
            {payload.kind === 'empty' ? (
              <p class="muted">Empty body.</p>
            ) : (
              <>
                {payload.kind === 'base64' && <p class="muted">Not UTF-8 text; shown as base64.</p>}
                <pre class="payload">{payload.text}</pre>
              </>
            )}
          </div>
        )}
      </td>
    </tr>
  );
}

function Row({
  letter,
  canReplay,
  replaying,
  onReplay,
  now,
}: {
  letter: DeadLetter;
  canReplay: boolean;
  replaying: boolean;
  onReplay: (sequence: number) => void;
  now: number;
}) {
  const [open, setOpen] = useState(false);
  const seq = letter.sequence ?? 0;
  return (
    <>
      <tr>
        <td class="nowrap">
          <Time ms={letter.deadLetteredAtMs} now={now} />
        </td>
        <td>{letter.stage || '—'}</td>
        <td class="reason">
          {letter.detail ? (
            <details>
              <summary>{letter.reason || 'detail'}</summary>
              <p class="break">{letter.detail}</p>
            </details>
          ) : (
            letter.reason || '—'
          )}
        </td>
        <td>{letter.source || '—'}</td>
        <td>{letter.endpoint || '—'}</td>
        <td class="break">{letter.eventId ? <a href={eventHref(letter.eventId)}>{letter.eventId}</a> : '—'}</td>
        <td class="num">{formatCount(letter.deliveries ?? 0)}</td>
        <td class="actions">
          {canReplay && (
            <button type="button" aria-label={`Replay dead letter ${seq}`} disabled={replaying} onClick={() => onReplay(seq)}>
              Replay
            </button>
          )}
          <button
            type="button"
            class="secondary"
            aria-label={`${open ? 'Hide' : 'Show'} payload of dead letter ${seq}`}
            aria-expanded={open}
            aria-controls={open ? `dl-payload-${seq}` : undefined}
            onClick={() => setOpen(!open)}
          >
            {open ? 'Hide payload' : 'Show payload'}
          </button>
        </td>
      </tr>
      {open && <PayloadRow sequence={seq} />}
    </>
  );
}

export function DeadLetterTable({
  letters,
  caption,
  canReplay,
  replaying,
  onReplay,
}: {
  letters: readonly DeadLetter[];
  caption: string;
  canReplay: boolean;
  replaying: boolean;
  onReplay: (sequence: number) => void;
}) {
  const now = useNow(5000);
  return (
    <TableWrap>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Dead-lettered</th>
            <th scope="col">Stage</th>
            <th scope="col">Reason</th>
            <th scope="col">Source</th>
            <th scope="col">Endpoint</th>
            <th scope="col">Event</th>
            <th scope="col">Deliveries</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {letters.length === 0 ? (
            <tr>
              <td colSpan={COLUMNS} class="empty">
                No dead letters.
              </td>
            </tr>
          ) : (
            letters.map((l) => (
              <Row key={l.sequence ?? 0} letter={l} canReplay={canReplay} replaying={replaying} onReplay={onReplay} now={now} />
            ))
          )}
        </tbody>
      </table>
    </TableWrap>
  );
}
