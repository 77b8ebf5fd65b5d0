import { useEffect, useRef, useState } from 'preact/hooks';
import { type ListDeadLettersResponse, type ReplayDeadLettersResponse, type Role, rpc } from '../api.ts';
import { ErrorAlert, Loading, StatusMessage } from '../components/common.tsx';
import { DeadLetterTable } from '../components/DeadLetterTable.tsx';
import { deadLetterReplaySummary } from '../format.ts';
import { useAction, usePoll } from '../hooks.ts';
import { can } from '../roles.ts';
import { type DeadLetterQuery, deadLettersHref } from '../router.ts';

const PAGE_SIZE = 50;
const BATCH_LIMIT = 1000;
const FIELDS = [
  { key: 'stage', label: 'Stage', hint: 'verify, validate, route, deliver…' },
  { key: 'source', label: 'Source', hint: '' },
  { key: 'endpoint', label: 'Endpoint', hint: '' },
  { key: 'reason', label: 'Reason', hint: '' },
] as const;

/** The filter as the API wants it: only non-empty fields. */
function apiFilter(filter: DeadLetterQuery): Partial<DeadLetterQuery> {
  const out: Partial<DeadLetterQuery> = {};
  for (const { key } of FIELDS) if (filter[key] !== '') out[key] = filter[key];
  return out;
}

function describe(filter: DeadLetterQuery): string {
  const parts = FIELDS.filter(({ key }) => filter[key] !== '').map(({ key, label }) => `${label.toLowerCase()} "${filter[key]}"`);
  return parts.length === 0 ? 'every dead letter' : `dead letters with ${parts.join(', ')}`;
}

export function DeadLettersPage({ filter, role }: { filter: DeadLetterQuery; role: Role | undefined }) {
  const filterKey = JSON.stringify(filter);
  const [form, setForm] = useState<DeadLetterQuery>(filter);
  // Page tokens of the pages before the current one (for "Previous page").
  const [pages, setPages] = useState<string[]>([]);
  const [pageToken, setPageToken] = useState('');
  const [message, setMessage] = useState('');
  const [confirming, setConfirming] = useState(false);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const batchButton = useRef<HTMLButtonElement>(null);

  // A new filter (from the URL) resets the form and the paging.
  useEffect(() => {
    setForm(JSON.parse(filterKey) as DeadLetterQuery);
    setPages([]);
    setPageToken('');
    setConfirming(false);
  }, [filterKey]);

  const list = usePoll(
    () => rpc<ListDeadLettersResponse>('ListDeadLetters', { filter: apiFilter(filter), pageSize: PAGE_SIZE, pageToken }),
    15_000,
    `${filterKey}:${pageToken}`,
  );
  const replayOne = useAction((sequence: number) => rpc<ReplayDeadLettersResponse>('ReplayDeadLetters', { sequence, purge: true }));
  const replayAll = useAction(() =>
    rpc<ReplayDeadLettersResponse>('ReplayDeadLetters', { filter: apiFilter(filter), limit: BATCH_LIMIT, purge: true }),
  );

  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);

  const apply = (e: Event): void => {
    e.preventDefault();
    const href = deadLettersHref(form);
    if (location.hash !== href) location.hash = href;
    else list.reload();
  };

  const onReplay = async (sequence: number): Promise<void> => {
    setMessage('');
    const r = await replayOne.run(sequence);
    if (r !== undefined) {
      setMessage(deadLetterReplaySummary(r.replayed));
      list.reload();
    }
  };

  const onConfirmAll = async (): Promise<void> => {
    setConfirming(false);
    setMessage('');
    const r = await replayAll.run();
    batchButton.current?.focus();
    if (r !== undefined) {
      setMessage(deadLetterReplaySummary(r.replayed));
      setPages([]);
      setPageToken('');
      list.reload();
    }
  };

  const cancel = (): void => {
    setConfirming(false);
    batchButton.current?.focus();
  };

  const letters = list.data?.deadLetters ?? [];
  const next = list.data?.nextPageToken ?? '';
  const mayReplay = can(role, 'replayDeadLetters');

  return (
    <>
      <h1>Dead letters</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter dead letters">
        {FIELDS.map(({ key, label, hint }) => (
          <div class="field" key={key}>
            <label for={`dl-${key}`}>{label}</label>
            <input
              id={`dl-${key}`}
              name={key}
              type="text"
              value={form[key]}
              placeholder={hint}
              autoComplete="off"
              spellcheck={false}
              onInput={(e) => {
                const value = e.currentTarget.value;
                setForm((f) => ({ ...f, [key]: value }));
              }}
            />
          </div>
        ))}
        <div class="field field-button">
          <button type="submit">Apply filters</button>
        </div>
      </form>

      {mayReplay && (
        <div class="batch">
          <button
            ref={batchButton}
            type="button"
            class="secondary"
            disabled={replayAll.busy || confirming}
            onClick={() => setConfirming(true)}
          >
            Replay all matching
          </button>
          {confirming && (
            <fieldset
              class="confirm"
              onKeyDown={(e) => {
                if (e.key === 'Escape') cancel();
              }}
            >
              <legend>Confirm the batch replay</legend>
              <p>
                Replay up to {BATCH_LIMIT} {describe(filter)}? Each one is published again to the subject it failed on and removed from the
                dead-letter queue once stored.
              </p>
              <div class="button-row">
                <button ref={confirmButton} type="button" class="danger" onClick={() => void onConfirmAll()}>
                  Confirm replay
                </button>
                <button type="button" class="secondary" onClick={cancel}>
                  Cancel
                </button>
              </div>
            </fieldset>
          )}
        </div>
      )}

      <ErrorAlert error={list.error} />
      <ErrorAlert error={replayOne.error} />
      <ErrorAlert error={replayAll.error} />
      <StatusMessage message={replayAll.busy ? 'Replaying…' : message} />

      {list.loading && list.data === undefined ? (
        <Loading what="dead letters" />
      ) : (
        <DeadLetterTable
          letters={letters}
          caption="Dead letters"
          canReplay={mayReplay}
          replaying={replayOne.busy || replayAll.busy}
          onReplay={(s) => void onReplay(s)}
        />
      )}

      <div class="pager">
        <button
          type="button"
          class="secondary"
          disabled={pages.length === 0}
          onClick={() => {
            setPageToken(pages.at(-1) ?? '');
            setPages(pages.slice(0, -1));
          }}
        >
          Previous page
        </button>
        <button
          type="button"
          class="secondary"
          disabled={next === ''}
          onClick={() => {
            setPages([...pages, pageToken]);
            setPageToken(next);
          }}
        >
          Next page
        </button>
      </div>
    </>
  );
}
