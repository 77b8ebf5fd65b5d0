import { type Command, positiveInt, timeOption, UsageError } from './command.ts';

/** `hs replay --endpoint e (--since T | --event id) …`: replays stored events to one endpoint. */
export const replay: Command = async ({ api, v }) => {
  if (v.endpoint === undefined) throw new UsageError('--endpoint is required');
  if (v.since === undefined && v.event === undefined) throw new UsageError('--since (or --event) is required');
  const r = await api.replayToEndpoint(
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
  );
  const text =
    `replayed ${r.replayed} events to endpoint ${v.endpoint} (request ${r.requestId})` +
    `${r.duplicates > 0 ? `, ${r.duplicates} already replayed by this request` : ''}` +
    `${r.skipped > 0 ? `, ${r.skipped} skipped (not subscribed)` : ''}${r.truncated ? ', stopped at --limit' : ''}\n`;
  return { json: r, text };
};
