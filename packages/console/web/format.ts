// Pure formatting helpers: times, durations, sizes, rates, payloads.

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Local time `YYYY-MM-DD HH:MM:SS`; '—' for 0 / missing. */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined || ms === 0 || !Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local `HH:MM` (chart axes). */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "12 s ago", "3 min ago", "in 5 s", "just now". */
export function formatRelative(ms: number | undefined, now: number): string {
  if (ms === undefined || ms === 0 || !Number.isFinite(ms)) return '';
  const diff = now - ms;
  const abs = Math.abs(diff);
  if (abs < 1000) return 'just now';
  let text: string;
  if (abs < 60_000) text = `${Math.floor(abs / 1000)} s`;
  else if (abs < 3_600_000) text = `${Math.floor(abs / 60_000)} min`;
  else if (abs < 86_400_000) text = `${Math.floor(abs / 3_600_000)} h`;
  else text = `${Math.floor(abs / 86_400_000)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** Latency: "0 ms", "123 ms", "1.25 s", "2 min 5 s". */
export function formatDuration(ms: number | undefined): string {
  const v = ms ?? 0;
  if (!Number.isFinite(v) || v < 0) return '—';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(v / 60_000);
  const seconds = Math.round((v % 60_000) / 1000);
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

/** "512 B", "1.5 KiB", "3.2 MiB". */
export function formatBytes(bytes: number | undefined): string {
  const v = bytes ?? 0;
  if (!Number.isFinite(v) || v < 0) return '—';
  if (v < 1024) return `${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let n = v / 1024;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** A 0..1 rate as "99.5 %"; whole numbers without decimals. */
export function formatPercent(rate: number | undefined): string {
  const v = rate ?? 0;
  if (!Number.isFinite(v)) return '—';
  const pct = v * 100;
  const rounded = Math.round(pct * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)} %`;
}

/** Thousands separated by a thin space-free comma: 12,345. */
export function formatCount(n: number | undefined): string {
  return (n ?? 0).toLocaleString('en-US');
}

/** An `<input type="datetime-local">` value (local, minutes) for an epoch ms. */
export function toDatetimeLocal(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Epoch ms of a `datetime-local` value (local time); undefined when it is not one. */
export function fromDatetimeLocal(value: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  return Number.isNaN(date.getTime()) ? undefined : date.getTime();
}

export function base64ToBytes(b64: string): Uint8Array {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export interface DecodedPayload {
  /** json: pretty-printed JSON; text: UTF-8 text; base64: not UTF-8, shown as sent. */
  readonly kind: 'json' | 'text' | 'base64' | 'empty';
  readonly text: string;
}

/** A base64 body for display: pretty JSON, else UTF-8 text, else the base64 itself. */
export function decodePayload(b64: string | undefined): DecodedPayload {
  if (b64 === undefined || b64 === '') return { kind: 'empty', text: '' };
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(b64);
  } catch {
    return { kind: 'base64', text: b64 };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { kind: 'base64', text: b64 };
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(trimmed), null, 2) };
    } catch {
      // not JSON after all
    }
  }
  return { kind: 'text', text };
}

/** "503 http_5xx", "timeout" (status 0 means no response). */
export function formatStatusOutcome(status: number | undefined, outcome: string | undefined): string {
  const parts: string[] = [];
  if ((status ?? 0) !== 0) parts.push(String(status));
  if (outcome !== undefined && outcome !== '') parts.push(outcome);
  return parts.length === 0 ? '—' : parts.join(' ');
}

/** Shortens a text to `max` characters with an ellipsis. */
export function truncate(text: string | undefined, max: number): string {
  const t = text ?? '';
  return t.length <= max ? t : `${t.slice(0, Math.max(0, max - 1))}…`;
}

/** "Replayed 1 dead letter" / "Replayed N dead letters". */
export function deadLetterReplaySummary(replayed: number | undefined): string {
  const n = replayed ?? 0;
  return `Replayed ${formatCount(n)} dead letter${n === 1 ? '' : 's'}`;
}

/** "Replayed N events (M skipped, K already replayed)", plus a note when `limit` cut it short. */
export function endpointReplaySummary(r: { replayed?: number; skipped?: number; duplicates?: number; truncated?: boolean }): string {
  const n = r.replayed ?? 0;
  const text = `Replayed ${formatCount(n)} event${n === 1 ? '' : 's'} (${formatCount(r.skipped ?? 0)} skipped, ${formatCount(r.duplicates ?? 0)} already replayed)`;
  return r.truncated === true ? `${text}; stopped at the limit, replay the rest separately` : text;
}

/** "open on deliver-a, half-open on deliver-b"; "closed" when no replica reports otherwise. */
export function circuitSummary(circuits: readonly { replica?: string; state?: string }[] | undefined): string {
  const list = circuits ?? [];
  if (list.length === 0) return 'closed';
  return list.map((c) => `${c.state || 'unknown'} on ${c.replica || 'unknown replica'}`).join(', ');
}

/** "Purged 1 dead letter" / "Purged 3 dead letters", as {@link deadLetterReplaySummary} words a replay. */
export function deadLetterPurgeSummary(purged: number | undefined): string {
  const n = purged ?? 0;
  return `Purged ${formatCount(n)} dead letter${n === 1 ? '' : 's'}`;
}

/** Rejection reasons of a source, most frequent first: `verify/bad_signature 3, verify/stale_timestamp 1`. */
export function rejectionSummary(rejections: Readonly<Record<string, number>> | undefined): string {
  return Object.entries(rejections ?? {})
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([reason, n]) => `${reason} ${formatCount(n)}`)
    .join(', ');
}

/** Where an event is, from GetEvent's `state`: "reached events.a.b", "dead-lettered at validate/missing_event_type", …. */
export function eventStateSummary(
  state: { state?: string; subject?: string; replay?: string; stage?: string; reason?: string } | undefined,
): string {
  switch (state?.state) {
    case 'events':
      return `reached ${state.subject || 'HS_EVENTS'}${state.replay ? ` (replayed: ${state.replay})` : ''}`;
    case 'dead_lettered':
      return `dead-lettered at ${state.stage || '?'}/${state.reason || '?'}`;
    case 'unknown':
      return 'in neither HS_EVENTS nor the DLQ (still in the pipeline, or aged out)';
    default:
      return '—';
  }
}

/**
 * A source secret's rotation window at `now`, by the contracts' rule (valid
 * from `notBeforeMs` inclusive while `now < notAfterMs`): `active`,
 * `scheduled` (not yet valid) or `expired`. Pure.
 */
export function secretWindowState(secret: { notBeforeMs?: number; notAfterMs?: number }, now: number): 'active' | 'scheduled' | 'expired' {
  if (secret.notBeforeMs !== undefined && now < secret.notBeforeMs) return 'scheduled';
  if (secret.notAfterMs !== undefined && now >= secret.notAfterMs) return 'expired';
  return 'active';
}

/**
 * The error text of one delivery attempt, never "—" for a failure: the
 * status and response excerpt when a response came back, else what the
 * outcome class means (deliver's attempt records carry no error message, only
 * the class and the time it took, so a timeout reads "timeout after N ms").
 * Empty for a success. Pure.
 */
export function attemptErrorText(a: {
  outcome?: string;
  status?: number;
  latencyMs?: number;
  responseExcerpt?: string;
  error?: string;
}): string {
  const recorded = (a.error ?? '').trim();
  if (a.outcome !== 'success' && (a.status ?? 0) === 0 && recorded !== '') {
    const outcome = a.outcome ?? 'failed';
    return recorded.startsWith(outcome) ? recorded : `${outcome}: ${recorded}`;
  }
  const excerpt = truncate((a.responseExcerpt ?? '').trim(), 300);
  const status = a.status ?? 0;
  const withBody = (head: string): string => (excerpt === '' ? `${head} (empty body)` : `${head}: ${excerpt}`);
  switch (a.outcome) {
    case 'success':
      return '';
    case 'timeout':
      return `timeout after ${Math.round(a.latencyMs ?? 0)} ms: no complete response in the endpoint's timeout`;
    case 'connect':
      return 'connection failed: refused or reset before a response (nothing listening, or a firewall)';
    case 'dns':
      return 'DNS lookup failed: the host name does not resolve';
    case 'tls':
      return 'TLS handshake failed: certificate not trusted, expired or for another host';
    case 'blocked':
      return "blocked: the address is private or not allowed (deliver's SSRF guard)";
    case 'rate_limited':
      return withBody(`HTTP ${status === 0 ? 429 : status} rate limited`);
    default:
      return status === 0 ? (a.outcome ?? 'failed') : withBody(`HTTP ${status}`);
  }
}

/** "delivered", "retrying, next attempt 15:01:59", "dead-lettered (retries_exhausted)", "failed": one endpoint's final state. Pure. */
export function endpointDeliverySummary(d: { state?: string; nextAttemptAtMs?: number; reason?: string }): string {
  switch (d.state) {
    case 'delivered':
      return 'delivered';
    case 'retrying':
      return (d.nextAttemptAtMs ?? 0) > 0 ? `retrying, next attempt ${formatTime(d.nextAttemptAtMs)}` : 'retrying';
    case 'dead_lettered':
      return d.reason ? `dead-lettered (${d.reason})` : 'dead-lettered';
    case 'failed':
      return 'failed, no retry scheduled';
    default:
      return d.state || 'unknown';
  }
}
