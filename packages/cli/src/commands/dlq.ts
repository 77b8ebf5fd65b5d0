import type { DeadLetter, DeadLetterFilter } from '@hookstream/proto';
import { arg, type Command, collect, group, positiveInt, table, type Values } from './command.ts';

function filterOf(v: Values): DeadLetterFilter {
  return { stage: v.stage ?? '', source: v.source ?? '', endpoint: v.endpoint ?? '', reason: v.reason ?? '' };
}

function deadLetterJson(d: DeadLetter): unknown {
  return { ...d, payload: Buffer.from(d.payload).toString('utf8') };
}

/** `hs dlq list|show|replay`. */
export const dlq: Command = group({
  list: async ({ api, v }) => {
    const limit = positiveInt(v.limit, 'limit') || 100;
    const items = await collect(async (t) => {
      const p = await api.listDeadLetters({ filter: filterOf(v), pageToken: t, pageSize: Math.min(limit, 500) });
      return { items: p.deadLetters, next: p.nextPageToken };
    }, limit);
    const rows = items.map((d) => [d.sequence, d.stage, d.source, d.reason, d.eventId, new Date(d.deadLetteredAtMs).toISOString()]);
    return { json: items.map(deadLetterJson), text: table([['SEQ', 'STAGE', 'SOURCE', 'REASON', 'EVENT', 'AT'], ...rows]) };
  },
  show: async ({ api, pos }) => {
    const d = await api.getDeadLetter({ sequence: positiveInt(arg(pos, 2, 'sequence'), 'sequence') });
    const text = `${table([
      ['sequence', d.sequence],
      ['subject', d.subject],
      ['stage', d.stage],
      ['reason', d.reason],
      ['detail', d.detail],
      ['replays to', d.originalSubject],
      ['event id', d.eventId],
    ])}headers:\n${d.headers.map((h) => `  ${h.name}: ${h.value}\n`).join('')}payload:\n${Buffer.from(d.payload).toString('utf8')}\n`;
    return { json: deadLetterJson(d), text };
  },
  replay: async ({ api, pos, v }) => {
    const sequence = pos[2] === undefined ? 0 : positiveInt(pos[2], 'sequence');
    const r = await api.replayDeadLetters(
      {
        sequence,
        filter: filterOf(v),
        maxPerSecond: positiveInt(v.rate, 'rate'),
        limit: positiveInt(v.limit, 'limit'),
        purge: v.purge === true,
      },
      { deadlineMs: 3_600_000 },
    );
    const lines = r.results.map((x) => `replayed ${x.sequence} -> ${x.subject} as ${x.msgId}${x.duplicate ? ' (duplicate)' : ''}\n`);
    return { json: r, text: `${lines.join('')}${r.replayed} replayed\n` };
  },
});
