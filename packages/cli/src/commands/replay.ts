import { type CommandSpec, positiveInt, timeOption, UsageError } from './command.ts';

/** `hs replay --endpoint e (--since T | --event id) …`: replays stored events to one endpoint. */
export const replay: CommandSpec = {
  path: ['replay'],
  summary: 'deliver stored events again to one endpoint (a time window, or one event by --event)',
  flags: [
    { name: 'endpoint', required: true, description: 'the endpoint to deliver to' },
    { name: 'since', description: 'from this time (required without --event): ISO or a duration ago' },
    'until',
    'source',
    'type',
    'event',
    { name: 'rate', description: 'tasks per second (default HS_CONTROL_REPLAY_PER_SECOND)' },
    { name: 'limit', default: '100000' },
    'request-id',
  ],
  examples: [
    'hs replay --endpoint billing --since 2h --source stripe --request-id incident-42',
    'hs replay --endpoint billing --event 01JD6Y8Q3V4W5X6Y7Z8A9B0C1D',
  ],
  run: async ({ api, v, progress }) => {
    if (v.endpoint === undefined) throw new UsageError('--endpoint is required');
    if (v.since === undefined && v.event === undefined) throw new UsageError('--since (or --event) is required');
    const r = await progress(
      v.event === undefined ? `replaying to endpoint ${v.endpoint}` : `replaying ${v.event} to endpoint ${v.endpoint}`,
      api.replayToEndpoint(
        {
          endpointId: v.endpoint,
          eventId: v.event ?? '',
          source: v.source ?? '',
          typePattern: v.type ?? '',
          sinceMs: v.since === undefined ? 0 : timeOption(v.since, 'since'),
          untilMs: timeOption(v.until, 'until'),
          maxPerSecond: positiveInt(v.rate, 'rate'),
          limit: positiveInt(v.limit, 'limit'),
          requestId: v['request-id'] ?? '',
        },
        { deadlineMs: 24 * 3_600_000 },
      ),
    );
    const text =
      `replayed ${r.replayed} events to endpoint ${v.endpoint} (request ${r.requestId})` +
      `${r.duplicates > 0 ? `, ${r.duplicates} already replayed by this request` : ''}` +
      `${r.skipped > 0 ? `, ${r.skipped} skipped (not subscribed)` : ''}${r.truncated ? ', stopped at --limit' : ''}\n`;
    return { json: r, text };
  },
};
