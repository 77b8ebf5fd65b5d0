import { Header } from '@hookstream/contracts';
import type { DeadLetter, DeadLetterFilter } from '@hookstream/proto';
import { headerValue } from '@hookstream/runtime';
import type { StoredMsg } from '@nats-io/jetstream';
import { type DeadLetterMatch, isEmptyMatch } from '../dead-letters.ts';
import { invalid } from '../errors.ts';
import type { Handlers, ResolvedDeps } from '../handlers.ts';
import { pageSize } from '../records.ts';
import { timeRange } from './request.ts';

/** The dead-letter RPCs. */
type DeadLetterRpc = 'listDeadLetters' | 'getDeadLetter' | 'replayDeadLetters' | 'purgeDeadLetters' | 'summarizeDeadLetters';

const MAX_REPLAY = 10_000;
/** The stages that dead-letter (`hs.dlq.{stage}.…`), offered as filter values even before one did. */
const DLQ_STAGES = ['verify', 'dedup', 'validate', 'route', 'deliver'];

function matchOf(filter: DeadLetterFilter | undefined): DeadLetterMatch {
  const sinceMs = filter?.sinceMs ?? 0;
  const untilMs = filter?.untilMs ?? 0;
  timeRange(sinceMs, untilMs);
  return {
    stage: filter?.stage ?? '',
    source: filter?.source ?? '',
    endpoint: filter?.endpoint ?? '',
    reason: filter?.reason ?? '',
    sinceMs,
    untilMs,
  };
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].filter((v) => v !== '').sort();

/** The API view of a dead letter; headers and payload only when `full`. Pure. */
export function deadLetterOut(msg: StoredMsg, full: boolean): DeadLetter {
  const h = (name: string): string => headerValue(msg.header, name) ?? '';
  const headers: { name: string; value: string }[] = [];
  if (full) for (const [name, values] of msg.header) for (const value of values) headers.push({ name, value });
  return {
    sequence: msg.seq,
    subject: msg.subject,
    stage: h(Header.dlqStage),
    reason: h(Header.dlqReason),
    detail: h(Header.dlqDetail),
    originalSubject: h(Header.dlqSubject),
    eventId: h(Header.eventId),
    source: h(Header.source),
    endpoint: h(Header.endpointId),
    deadLetteredAtMs: Number(h(Header.dlqAt)) || msg.time.getTime(),
    deliveries: Number(h(Header.dlqDeliveries)) || 0,
    headers,
    payload: full ? Buffer.from(msg.data) : Buffer.alloc(0),
    payloadSize: msg.data.length,
  };
}

/** The dead-letter RPCs over the DLQ stream: list, read, replay (rate-limited) and purge. */
export function deadLetterHandlers(deps: ResolvedDeps): Pick<Handlers, DeadLetterRpc> {
  return {
    listDeadLetters: async (req) => {
      const page = await deps.deadLetters.list(matchOf(req.filter), pageSize(req.pageSize, 50), req.pageToken, req.newestFirst);
      return { deadLetters: page.items.map((m) => deadLetterOut(m, false)), nextPageToken: page.next };
    },
    getDeadLetter: async (req) => deadLetterOut(await deps.deadLetters.get(req.sequence), true),
    replayDeadLetters: async (req) => {
      if (req.sequence !== 0) {
        const one = await deps.deadLetters.replay(req.sequence, req.purge);
        return { replayed: 1, results: [one] };
      }
      const limit = req.limit === 0 ? MAX_REPLAY : Math.min(req.limit, MAX_REPLAY);
      const rate = req.maxPerSecond === 0 ? deps.replayPerSecond : req.maxPerSecond;
      const results = await deps.deadLetters.replayMatching(matchOf(req.filter), limit, rate, req.purge);
      return { replayed: results.length, results };
    },
    purgeDeadLetters: async (req) => {
      if (req.sequence !== 0) return { purged: await deps.deadLetters.purge(req.sequence) };
      const match = matchOf(req.filter);
      if (!req.all && isEmptyMatch(match)) {
        throw invalid('filter', 'is empty: set all=true to purge every dead letter');
      }
      return { purged: await deps.deadLetters.purgeMatching(match) };
    },
    summarizeDeadLetters: async (req) => {
      const match = matchOf(req.filter);
      // Filter values: the DLQ's subjects (stage, and the key: an endpoint for deliver, else a source) and the records.
      const [summary, counts, sources, endpoints] = await Promise.all([
        deps.deadLetters.summarize(match),
        deps.deadLetters.counts(),
        deps.health.sources(''),
        deps.health.endpoints(''),
      ]);
      return {
        total: summary.total,
        byReason: { ...summary.byReason },
        stages: sorted([...DLQ_STAGES, ...counts.map((c) => c.stage)]),
        sources: sorted([...sources.map((s) => s.id), ...counts.filter((c) => c.stage !== 'deliver').map((c) => c.key)]),
        endpoints: sorted([...endpoints.map((e) => e.id), ...counts.filter((c) => c.stage === 'deliver').map((c) => c.key)]),
        reasons: [...summary.reasons],
        truncated: summary.truncated,
      };
    },
  };
}
