import type { ComponentChildren } from 'preact';
import { ApiError, errorMessage, type HeaderEntry } from '../api.ts';
import { formatRelative, formatTime } from '../format.ts';

/** A failure in a role="alert" element; nothing when there is none. */
export function ErrorAlert({ error, prefix }: { error: unknown; prefix?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <div role="alert" class="alert">
      {prefix !== undefined && <strong>{prefix} </strong>}
      {errorMessage(error)}
    </div>
  );
}

/** True for the "this needs ClickHouse" answer: shown as a note, not an alert. */
export function isUnimplemented(error: unknown): boolean {
  return error instanceof ApiError && (error.code === 'UNIMPLEMENTED' || error.status === 501);
}

export function Loading({ what }: { what: string }) {
  return <p class="muted loading">Loading {what}…</p>;
}

/** A local time, with "12 s ago" after it when `now` is given. */
export function Time({ ms, now }: { ms: number | undefined; now?: number }) {
  if (ms === undefined || ms === 0) return <span class="muted">—</span>;
  const rel = now === undefined ? '' : formatRelative(ms, now);
  return (
    <time dateTime={new Date(ms).toISOString()}>
      {formatTime(ms)}
      {rel !== '' && <span class="rel"> ({rel})</span>}
    </time>
  );
}

/** A table that scrolls sideways inside its box on narrow screens. */
export function TableWrap({ children }: { children: ComponentChildren }) {
  return <div class="table-wrap">{children}</div>;
}

/**
 * A role="status" message; rendered only while there is one, so a page has
 * at most one status element at a time.
 */
export function StatusMessage({ message }: { message: string }) {
  if (message === '') return null;
  return (
    <p role="status" class="status">
      {message}
    </p>
  );
}

/** A labelled value in a figures list. */
export function Figure({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="figure">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** Name/value rows of message headers (an event's, a dead letter's); a "No headers." row when there are none. */
export function HeadersTable({
  headers,
  caption,
  hideCaption = false,
}: {
  headers: readonly HeaderEntry[];
  caption: string;
  hideCaption?: boolean;
}) {
  return (
    <TableWrap>
      <table class="compact">
        <caption class={hideCaption ? 'visually-hidden' : undefined}>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {headers.length === 0 ? (
            <tr>
              <td colSpan={2} class="empty">
                No headers.
              </td>
            </tr>
          ) : (
            headers.map((h, i) => (
              <tr key={i}>
                <td>
                  <code>{h.name ?? ''}</code>
                </td>
                <td class="break">{h.value ?? ''}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </TableWrap>
  );
}

/**
 * Newer / Older buttons over a stack of page tokens: `pages` holds the tokens
 * of the pages before the current one (`pageToken`; '' is the newest page),
 * `next` the token of the next older page ('' when there is none).
 */
export function Pager({
  pages,
  pageToken,
  next,
  setPages,
  setPageToken,
}: {
  pages: string[];
  pageToken: string;
  next: string;
  setPages: (pages: string[]) => void;
  setPageToken: (token: string) => void;
}) {
  return (
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
        Newer
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
        Older
      </button>
    </div>
  );
}
