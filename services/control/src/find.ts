import { Header } from '@hookstream/contracts';
import type { DeliveryAttempt, EndpointDelivery, Event } from '@hookstream/proto';
import { headerValue } from '@hookstream/runtime';
import type { StoredMsg } from '@nats-io/jetstream';
import { invalid } from './errors.ts';
import { describeState } from './event-state.ts';

/** Longest text FindEvents takes (UTF-8 bytes): dedup's longest provider key. */
export const MAX_SEARCH_BYTES = 1024;

/**
 * The text of a FindEvents request, trimmed. Throws INVALID_ARGUMENT when it
 * is empty, longer than {@link MAX_SEARCH_BYTES}, or holds a NATS wildcard
 * (`*`, `>`) or a control character: the text is looked up by its hash,
 * never matched as a pattern, so anything pattern-like is refused rather
 * than silently answered NOT_FOUND. Pure.
 */
export function searchText(raw: string): string {
  const text = raw.trim();
  if (text === '') throw invalid('text', 'is required: an event id, a provider id / idempotency key, or a dead-letter sequence');
  if (Buffer.byteLength(text, 'utf8') > MAX_SEARCH_BYTES) throw invalid('text', `is longer than ${MAX_SEARCH_BYTES} bytes`);
  if (/[*>]/.test(text)) throw invalid('text', 'must not hold the wildcards "*" or ">": the search matches whole ids only');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw invalid('text', 'must not hold control characters');
  }
  return text;
}

/** The text as an HS_DLQ sequence (1 to 15 digits), or undefined. Pure. */
export function dlqSequenceOf(text: string): number | undefined {
  return /^[1-9][0-9]{0,14}$/.test(text) ? Number(text) : undefined;
}

function attemptError(a: DeliveryAttempt): string {
  const parts = [a.outcome];
  if (a.status !== 0) parts.push(`HTTP ${a.status}`);
  if (a.responseExcerpt !== '') parts.push(a.responseExcerpt);
  // Without a response: deliver's own words (`timeout after 3000 ms`, `connect ECONNREFUSED …`).
  if (a.error !== '') parts.push(a.error);
  return parts.join(': ');
}

/**
 * Per endpoint, where an event's delivery stands, from its attempts (oldest
 * first, as GetEvent answers them) and its dead letters (any stage; those of
 * deliver name the endpoint): the newest deliver dead letter makes it
 * `dead_lettered` (unless an attempt after it succeeded, e.g. a replay);
 * else the newest attempt says `delivered`, `retrying` (a next attempt is
 * planned) or `failed`. Sorted by endpoint id. Pure.
 */
export function endpointDeliveries(attempts: readonly DeliveryAttempt[], deadLetters: readonly StoredMsg[]): EndpointDelivery[] {
  const byEndpoint = new Map<string, EndpointDelivery>();
  const entry = (endpointId: string): EndpointDelivery => {
    let e = byEndpoint.get(endpointId);
    if (e === undefined) {
      e = { endpointId, state: '', attempts: 0, lastAttemptAtMs: 0, nextAttemptAtMs: 0, lastError: '', reason: '', replay: '' };
      byEndpoint.set(endpointId, e);
    }
    return e;
  };
  for (const a of attempts) {
    const e = entry(a.endpointId);
    e.attempts++;
    if (a.atMs < e.lastAttemptAtMs) continue;
    e.lastAttemptAtMs = a.atMs;
    e.replay = a.replay;
    if (a.outcome === 'success') {
      Object.assign(e, { state: 'delivered', nextAttemptAtMs: 0, lastError: '', reason: '' });
    } else {
      e.lastError = attemptError(a);
      e.state = a.nextRetryAtMs > 0 ? 'retrying' : 'failed';
      e.nextAttemptAtMs = a.nextRetryAtMs;
    }
  }
  for (const dl of deadLetters) {
    const h = (name: string): string => headerValue(dl.header, name) ?? '';
    if (h(Header.dlqStage) !== 'deliver') continue;
    const endpointId = h(Header.endpointId) || dl.subject.split('.').pop() || '';
    const e = entry(endpointId);
    const at = Number(h(Header.dlqAt)) || dl.time.getTime();
    if (e.state === 'delivered' && e.lastAttemptAtMs > at) continue;
    e.state = 'dead_lettered';
    e.nextAttemptAtMs = 0;
    e.reason = h(Header.dlqReason);
    const detail = h(Header.dlqDetail);
    if (detail !== '') e.lastError = detail;
  }
  return [...byEndpoint.values()].sort((a, b) => a.endpointId.localeCompare(b.endpointId));
}

/** One line saying where a found webhook is now, for the console's panel and `hs events find`. Pure. */
export function findSummary(event: Event, endpoints: readonly EndpointDelivery[]): string {
  if (event.duplicateOf !== '')
    return `duplicate of ${event.duplicateOf} (idempotency key ${event.idempotencyKey}), which ${describeState(event.state ?? emptyState())}`;
  const state = event.state;
  if (state?.state === 'dead_lettered' && event.subject === '') {
    const raw = state.stage === 'verify' || state.stage === 'validate' || state.stage === 'dedup' || state.stage === 'ingest';
    return `${raw ? 'raw only: rejected' : 'dead-lettered'} at ${state.stage} (${state.reason}${state.detail === '' ? '' : `: ${state.detail}`}), DLQ sequence ${state.deadLetterSequence}`;
  }
  const where = state === undefined ? 'found' : describeState(state);
  if (endpoints.length === 0) return `${where}; no delivery attempt recorded`;
  const counts = new Map<string, number>();
  for (const e of endpoints) counts.set(e.state, (counts.get(e.state) ?? 0) + 1);
  return `${where}; endpoints: ${[...counts].map(([s, n]) => `${n} ${s.replace('_', '-')}`).join(', ')}`;
}

function emptyState() {
  return {
    eventId: '',
    state: 'unknown',
    subject: '',
    replay: '',
    stage: '',
    reason: '',
    detail: '',
    deadLetterSequence: 0,
    deadLetteredAtMs: 0,
  };
}
