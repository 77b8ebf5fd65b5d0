import type { Event, EventState } from '@hookstream/proto';
import { arg, type CommandSpec, collect, iso, positiveInt, table, timeOption } from './command.ts';

function eventJson(e: Event): unknown {
  return { ...e, payload: Buffer.from(e.payload).toString('utf8') };
}

/** Where an event is, as GetEvent's `state` says: "reached events.…", "dead-lettered at validate/missing_event_type …", …. */
function stateText(state: EventState | undefined): string {
  switch (state?.state) {
    case 'events':
      return `reached ${state.subject}${state.replay === '' ? '' : ` (replayed: ${state.replay})`}`;
    case 'dead_lettered':
      return `dead-lettered at ${state.stage}/${state.reason} (DLQ sequence ${state.deadLetterSequence}${state.detail === '' ? '' : `: ${state.detail}`})`;
    case 'unknown':
      return 'in neither HS_EVENTS nor HS_DLQ (still in the pipeline, aged out, or its dead letter was purged)';
    default:
      return '';
  }
}

/** `hs events find|get|list`. */
export const events: readonly CommandSpec[] = [
  {
    path: ['events', 'find'],
    summary: 'where a webhook is now, found by hookstream event id, provider id / idempotency key, or DLQ sequence',
    args: [{ name: 'text', description: 'an hs-event-id, a provider id (evt_…) or a dead-letter sequence' }],
    examples: ['hs events find evt_1QZ8fXAbCdEf', 'hs events find 42'],
    run: async ({ api, pos, style }) => {
      const { found } = await api.findEvents({ text: arg(pos, 2, 'event id, provider id or DLQ sequence') });
      const text = found
        .map((f) => {
          const e = f.event;
          const head = table([
            ['event id', e?.eventId ?? ''],
            ['matched by', f.matchedBy],
            ['status', f.summary],
            ['source', e?.source ?? ''],
            ['type', e?.eventType ?? ''],
            ['received', iso(e?.receivedAtMs ?? 0)],
          ]);
          const rows = f.endpoints.map((d) => [
            `  ${d.endpointId}`,
            d.state,
            d.attempts,
            d.nextAttemptAtMs === 0 ? '' : iso(d.nextAttemptAtMs),
            [d.reason, d.lastError].filter((x) => x !== '').join(': '),
          ]);
          return rows.length === 0
            ? head
            : `${head}endpoints:\n${table([['  ENDPOINT', 'STATE', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'], ...rows], style)}`;
        })
        .join('\n');
      return { json: found.map((f) => ({ ...f, event: f.event === undefined ? undefined : eventJson(f.event) })), text };
    },
  },
  {
    path: ['events', 'get'],
    summary: 'print one event: where it is now, headers, body and delivery attempts',
    args: [{ name: 'event-id', description: 'its hs-event-id' }],
    examples: ['hs events get 01JD6Y8Q3V4W5X6Y7Z8A9B0C1D'],
    run: async ({ api, pos }) => {
      const e = await api.getEvent({ eventId: arg(pos, 2, 'event id') });
      if (e.duplicateOf !== '') {
        const text = table([
          ['event id', e.eventId],
          ['status', `duplicate of ${e.duplicateOf}`],
          ['first event', `${e.duplicateOf} ${stateText(e.state)}`],
          ['idempotency key', e.idempotencyKey],
          ['source', e.source],
          ['received', iso(e.receivedAtMs)],
        ]);
        return { json: eventJson(e), text };
      }
      const attempts =
        e.attempts.length === 0
          ? `attempts: none${e.attemptsNote === '' ? '' : ` (${e.attemptsNote})`}\n`
          : `attempts:\n${table([
              ['  ENDPOINT', 'ATTEMPT', 'OUTCOME', 'STATUS', 'LATENCY', 'AT'],
              ...e.attempts.map((a) => [`  ${a.endpointId}`, a.attempt, a.outcome, a.status || '', `${a.latencyMs}ms`, iso(a.atMs)]),
            ])}`;
      const text =
        table([
          ['event id', e.eventId],
          ['status', stateText(e.state)],
          ['subject', e.subject],
          ['source', e.source],
          ['type', e.eventType],
          ['received', iso(e.receivedAtMs)],
          ['sequence', e.sequence],
        ]) +
        `headers:\n${e.headers.map((h) => `  ${h.name}: ${h.value}\n`).join('')}body:\n${Buffer.from(e.payload).toString('utf8')}\n${attempts}`;
      return { json: eventJson(e), text };
    },
  },
  {
    path: ['events', 'list'],
    summary: 'list stored events, oldest first unless --newest (default: the last hour)',
    flags: ['source', 'type', 'status', { name: 'since', default: '1h' }, 'until', 'newest', { name: 'limit', default: '100' }],
    examples: ["hs events list --source stripe --type 'charge.*' --since 2h"],
    run: async ({ api, v, style }) => {
      const limit = positiveInt(v.limit, 'limit') || 100;
      const sinceMs = timeOption(v.since, 'since');
      const untilMs = timeOption(v.until, 'until');
      const items = await collect(async (t) => {
        const p = await api.listEvents({
          source: v.source ?? '',
          eventType: v.type ?? '',
          sinceMs,
          untilMs,
          status: v.status ?? '',
          newestFirst: v.newest === true,
          pageToken: t,
          pageSize: Math.min(limit, 500),
        });
        return { items: p.events, next: p.nextPageToken };
      }, limit);
      // A STATUS column only when the control plane knows it (ClickHouse).
      if (items.some((e) => e.deliveryStatus !== '')) {
        const rows = items.map((e) => [iso(e.storedAtMs), e.eventId, e.source, e.eventType, e.deliveryStatus || '-', e.payloadSize]);
        return { json: items.map(eventJson), text: table([['AT', 'EVENT', 'SOURCE', 'TYPE', 'STATUS', 'BYTES'], ...rows], style) };
      }
      const rows = items.map((e) => [iso(e.storedAtMs), e.eventId, e.source, e.eventType, e.payloadSize]);
      return { json: items.map(eventJson), text: table([['AT', 'EVENT', 'SOURCE', 'TYPE', 'BYTES'], ...rows], style) };
    },
  },
];
