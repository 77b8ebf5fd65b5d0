import { type CommandSpec, table, timeOption } from './command.ts';

/** `hs stats`: delivery success rate, latency percentiles and failures per endpoint (from ClickHouse). */
export const stats: CommandSpec = {
  path: ['stats'],
  summary: 'delivery success rate, latency percentiles and failures per endpoint (from ClickHouse)',
  flags: ['endpoint', { name: 'since', default: '1h' }, 'until'],
  examples: ['hs stats --endpoint billing --since 24h'],
  run: async ({ api, v, style }) => {
    const r = await api.stats({
      source: '',
      endpoint: v.endpoint ?? '',
      sinceMs: v.since === undefined ? 0 : timeOption(v.since, 'since'),
      untilMs: v.until === undefined ? 0 : timeOption(v.until, 'until'),
    });
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const rows = r.endpoints.map((e) => [
      e.endpointId,
      e.attempts,
      pct(e.successRate),
      e.latencyP50Ms.toFixed(0),
      e.latencyP95Ms.toFixed(0),
      e.latencyP99Ms.toFixed(0),
      Object.entries(e.outcomes)
        .filter(([k]) => k !== 'success')
        .map(([k, n]) => `${k}=${n}`)
        .join(' '),
    ]);
    return { json: r, text: table([['ENDPOINT', 'ATTEMPTS', 'SUCCESS', 'P50 MS', 'P95 MS', 'P99 MS', 'FAILURES'], ...rows], style) };
  },
};

/** `hs health`: endpoints (circuits, dead letters, last failure) and sources (rejections, duplicates, requests received and their acceptance rate). */
export const health: CommandSpec = {
  path: ['health'],
  summary: 'endpoints (circuits, dead letters, last failure) and sources (rejections, duplicates)',
  flags: ['endpoint', 'source', { name: 'since', default: '1h' }, 'until'],
  examples: ['hs health --since 24h'],
  run: async ({ api, v, style }) => {
    const window = {
      sinceMs: v.since === undefined ? 0 : timeOption(v.since, 'since'),
      untilMs: v.until === undefined ? 0 : timeOption(v.until, 'until'),
    };
    const [endpoints, sources] = await Promise.all([
      api.endpointHealth({ endpoint: v.endpoint ?? '', ...window }),
      api.sourceHealth({ source: v.source ?? '', ...window }),
    ]);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const endpointRows = endpoints.endpoints.map((e) => [
      e.endpointId,
      e.enabled ? (e.disabledReason === '' ? 'enabled' : `disabled: ${e.disabledReason}`) : 'disabled',
      e.stats === undefined ? '-' : pct(e.stats.successRate),
      e.stats === undefined ? '-' : e.stats.latencyP95Ms.toFixed(0),
      e.circuits.length === 0 ? 'closed' : e.circuits.map((c) => `${c.state}@${c.replica}`).join(' '),
      e.deadLetters,
      e.lastFailure === undefined ? '-' : `${e.lastFailure.status || e.lastFailure.outcome} ${new Date(e.lastFailure.atMs).toISOString()}`,
    ]);
    const sourceRows = sources.sources.map((s) => [
      s.sourceId,
      s.provider,
      s.eventsStored,
      s.rejected,
      Object.entries(s.rejections)
        .map(([k, n]) => `${k}=${n}`)
        .join(' ') || '-',
      s.duplicates,
      s.deadLetters,
      s.received,
      s.received === 0 ? '-' : pct(s.acceptedRequests / s.received),
    ]);
    const notes = [...new Set([endpoints.statsNote, sources.statsNote].filter((n) => n !== ''))].map((n) => `note: ${n}\n`);
    const text =
      table([['ENDPOINT', 'STATUS', 'SUCCESS', 'P95 MS', 'CIRCUIT', 'DLQ', 'LAST FAILURE'], ...endpointRows], style) +
      '\n' +
      table(
        [['SOURCE', 'PROVIDER', 'EVENTS', 'REJECTED', 'REASONS', 'DUPLICATES', 'DLQ', 'RECEIVED', 'ACCEPT RATE'], ...sourceRows],
        style,
      ) +
      notes.join('');
    return { json: { endpoints, sources }, text };
  },
};
