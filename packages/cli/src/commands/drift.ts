import { type CommandSpec, iso, positiveInt, table, timeOption } from './command.ts';

/** `hs drift`: fields seen in events that their schema does not declare (validate's drift records, from ClickHouse). */
export const drift: CommandSpec = {
  path: ['drift'],
  summary: 'fields seen in events that their schema does not declare, per source (from ClickHouse)',
  flags: ['source', { name: 'since', default: '7d' }, 'until', { name: 'limit', default: '500' }],
  examples: ['hs drift --source stripe', 'hs drift --since 24h --json'],
  run: async ({ api, v, style }) => {
    const r = await api.listDrift({
      source: v.source ?? '',
      sinceMs: timeOption(v.since, 'since'),
      untilMs: timeOption(v.until, 'until'),
      limit: positiveInt(v.limit, 'limit'),
    });
    const rows = r.fields.map((f) => [
      f.source,
      f.eventType,
      f.path,
      f.jsonType,
      f.count,
      iso(f.firstSeenMs),
      iso(f.lastSeenMs),
      f.exampleEventId,
    ]);
    const text =
      rows.length === 0
        ? `no drift between ${iso(r.sinceMs)} and ${iso(r.untilMs)}\n`
        : table([['SOURCE', 'TYPE', 'PATH', 'JSON TYPE', 'RECORDS', 'FIRST SEEN', 'LAST SEEN', 'EXAMPLE EVENT'], ...rows], style);
    return { json: r, text };
  },
};
