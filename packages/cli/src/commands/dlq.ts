import type { ControlApi, DeadLetter, DeadLetterFilter, DeliveryAttempt } from '@hookstream/proto';
import { arg, type CommandSpec, collect, type FlagName, iso, positiveInt, table, UsageError, type Values } from './command.ts';

const FILTER: readonly FlagName[] = ['stage', 'source', 'endpoint', 'reason'];

function filterOf(v: Values): DeadLetterFilter {
  return { stage: v.stage ?? '', source: v.source ?? '', endpoint: v.endpoint ?? '', reason: v.reason ?? '', sinceMs: 0, untilMs: 0 };
}

function deadLetterJson(d: DeadLetter, extra: Record<string, unknown> = {}): unknown {
  return { ...d, payload: Buffer.from(d.payload).toString('utf8'), ...extra };
}

/** How an attempt without a response failed, by its outcome (docs/delivery.md); other outcomes print as they are. */
const NO_RESPONSE: Readonly<Record<string, string>> = {
  timeout: 'timeout',
  connect: 'connection failed',
  dns: 'DNS lookup failed',
  tls: 'TLS failed',
  blocked: 'blocked (destination not allowed)',
};

/** A failed attempt as one line: "timeout after 5000ms (attempt 2, …)", "HTTP 503 after 12ms (…): upstream down". Pure. */
export function describeAttempt(a: DeliveryAttempt): string {
  const what = a.status > 0 ? `HTTP ${a.status}` : (NO_RESPONSE[a.outcome] ?? a.outcome);
  const excerpt = a.responseExcerpt.trim();
  return `${what} after ${a.latencyMs}ms (attempt ${a.attempt}, ${iso(a.atMs)})${excerpt === '' ? '' : `: ${excerpt.slice(0, 200)}`}`;
}

/**
 * The last error of a deliver dead letter: its endpoint's newest failed
 * attempt of the event (from GetEvent, which reads ClickHouse). The dead
 * letter's own detail does not always carry it (`retries_exhausted` past
 * `retry.maxAgeMs` says only how many attempts were made). '' for other stages.
 */
async function lastError(api: ControlApi, d: DeadLetter): Promise<string> {
  if (d.stage !== 'deliver' || d.eventId === '') return '';
  try {
    const e = await api.getEvent({ eventId: d.eventId });
    const failed = e.attempts.filter((a) => a.endpointId === d.endpoint && a.outcome !== 'success').at(-1);
    if (failed !== undefined) return describeAttempt(failed);
    return `not known (${e.attemptsNote === '' ? 'no failed attempt recorded for this endpoint' : e.attemptsNote})`;
  } catch (err) {
    return `not known (GetEvent ${d.eventId}: ${(err as { details?: string }).details ?? (err as Error).message})`;
  }
}

/** `--stage s --reason r` as "stage=s reason=r"; "every dead letter" for none. */
function describeFilter(v: Values): string {
  const parts = FILTER.flatMap((name) => (v[name] === undefined ? [] : [`${name}=${String(v[name])}`]));
  return parts.length === 0 ? 'every dead letter' : `dead letters with ${parts.join(' ')}`;
}

/** `hs dlq list|show|replay|purge`. */
export const dlq: readonly CommandSpec[] = [
  {
    path: ['dlq', 'list'],
    summary: 'list dead letters, oldest first (sequence, stage, source, endpoint, reason, event)',
    flags: [...FILTER, { name: 'limit', default: '100' }],
    examples: ['hs dlq list --stage deliver --endpoint billing'],
    run: async ({ api, v, style }) => {
      const limit = positiveInt(v.limit, 'limit') || 100;
      const items = await collect(async (t) => {
        const p = await api.listDeadLetters({ filter: filterOf(v), pageToken: t, pageSize: Math.min(limit, 500) });
        return { items: p.deadLetters, next: p.nextPageToken };
      }, limit);
      const rows = items.map((d) => [
        d.sequence,
        d.stage,
        d.source || '-',
        d.endpoint || '-',
        d.reason,
        d.eventId,
        iso(d.deadLetteredAtMs),
      ]);
      return {
        json: items.map((d) => deadLetterJson(d)),
        text: table([['SEQ', 'STAGE', 'SOURCE', 'ENDPOINT', 'REASON', 'EVENT', 'AT'], ...rows], style),
      };
    },
  },
  {
    path: ['dlq', 'show'],
    summary: "print one dead letter: why, where it replays to, headers and body; a deliver dead letter's last error",
    args: [{ name: 'seq', description: 'its HS_DLQ sequence (hs dlq list)' }],
    examples: ['hs dlq show 42'],
    run: async ({ api, pos }) => {
      const d = await api.getDeadLetter({ sequence: positiveInt(arg(pos, 2, 'sequence'), 'sequence') });
      const last = await lastError(api, d);
      const text = `${table([
        ['sequence', d.sequence],
        ['subject', d.subject],
        ['stage', d.stage],
        ['reason', d.reason],
        ['detail', d.detail],
        ...(d.stage === 'deliver'
          ? [
              ['endpoint', d.endpoint],
              ['last error', last],
            ]
          : []),
        ['replays to', d.originalSubject],
        ['event id', d.eventId],
      ])}headers:\n${d.headers.map((h) => `  ${h.name}: ${h.value}\n`).join('')}payload:\n${Buffer.from(d.payload).toString('utf8')}\n`;
      return { json: deadLetterJson(d, d.stage === 'deliver' ? { lastError: last } : {}), text };
    },
  },
  {
    path: ['dlq', 'replay'],
    summary: 'publish dead letters again to the subject they came from (one by sequence, or every one the filters match)',
    args: [{ name: 'seq', optional: true, description: 'one dead letter by HS_DLQ sequence' }],
    flags: [...FILTER, { name: 'rate', default: '100' }, { name: 'limit', default: '10000' }, 'purge'],
    examples: ['hs dlq replay 42', 'hs dlq replay --stage deliver --endpoint billing --rate 20 --purge'],
    run: async ({ api, pos, v, progress }) => {
      const sequence = pos[2] === undefined ? 0 : positiveInt(pos[2], 'sequence');
      const r = await progress(
        sequence === 0 ? `replaying ${describeFilter(v)}` : `replaying dead letter ${sequence}`,
        api.replayDeadLetters(
          {
            sequence,
            filter: filterOf(v),
            maxPerSecond: positiveInt(v.rate, 'rate'),
            limit: positiveInt(v.limit, 'limit'),
            purge: v.purge === true,
          },
          { deadlineMs: 3_600_000 },
        ),
      );
      const lines = r.results.map((x) => `replayed ${x.sequence} -> ${x.subject} as ${x.msgId}${x.duplicate ? ' (duplicate)' : ''}\n`);
      return { json: r, text: `${lines.join('')}${r.replayed} replayed\n` };
    },
  },
  {
    path: ['dlq', 'purge'],
    summary: 'delete dead letters: one by sequence, or every one the filters match (--all for an empty filter)',
    args: [{ name: 'seq', optional: true, description: 'one dead letter by HS_DLQ sequence' }],
    flags: [...FILTER, 'all'],
    confirm: ({ pos, v }) => (pos[2] === undefined ? `purge ${describeFilter(v)}?` : `purge dead letter ${pos[2]}?`),
    examples: ['hs dlq purge 42 --yes', 'hs dlq purge --stage verify --reason bad_signature --yes'],
    run: async ({ api, pos, v }) => {
      const sequence = pos[2] === undefined ? 0 : positiveInt(pos[2], 'sequence');
      const filter = filterOf(v);
      const empty = FILTER.every((name) => (v[name] ?? '') === '');
      if (sequence === 0 && empty && v.all !== true)
        throw new UsageError('give a sequence, a filter (--stage, --source, --endpoint, --reason) or --all');
      if (sequence !== 0 && (!empty || v.all === true))
        throw new UsageError('a sequence purges one dead letter; drop the filters or the sequence');
      const r = await api.purgeDeadLetters({ sequence, filter, all: v.all === true });
      return { json: r, text: `purged ${r.purged} dead letter${r.purged === 1 ? '' : 's'}\n` };
    },
  },
];
