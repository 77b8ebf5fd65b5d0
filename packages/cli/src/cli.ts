import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type ServiceError, status } from '@grpc/grpc-js';
import { type ControlApi, connectControl, type DeadLetter, type DeadLetterFilter, type Event, type EventState } from '@hookstream/proto';
import { ApplyFileError, applyChange, describeChange, parseDesired, plan, readCurrent } from './apply.ts';
import { tail } from './tail.ts';
import { parseTime } from './time.ts';

/** Exit codes of `hs`. */
export const EXIT = Object.freeze({
  ok: 0,
  /** The API refused the call (the gRPC status is printed). */
  apiError: 1,
  /** Bad command line; nothing was sent. */
  usage: 2,
  /** The control plane could not be reached. */
  unavailable: 3,
});

/** Where `hs` reads its settings and writes its output. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Reads `-f -`; stdin by default. */
  readonly readStdin?: () => string;
  /** Aborts a long-running command (`hs tail`); main.ts wires SIGINT and SIGTERM to it. */
  readonly signal?: AbortSignal;
}

export const USAGE = `usage: hs <resource> <command> [args] [--json] [--url host:port] [--token t]

  hs sources   list | get <id> | create -f <file.json|-> | update -f <file.json|-> | delete <id>
               rotate-secret <id> [--secret value] [--secret-id id]
  hs endpoints list | get <id> | create -f <file.json|-> | update -f <file.json|-> | delete <id>
               rotate-secret <id> [--secret value] [--secret-id id]
  hs schemas   list [--source s] | get <source> <type> | create <source> <type> -f <schema.json|-> | delete <source> <type>
  hs stats     [--endpoint e] [--since T] [--until T]      delivery success rate, latency percentiles, failures (from ClickHouse)
  hs health    [--since T] [--until T]                     endpoints (circuits, dead letters, last failure) and sources (rejections)
  hs dlq       list [--stage s] [--source s] [--endpoint e] [--reason r] [--limit n]
               show <seq>
               replay <seq> | replay [--stage s] [--source s] [--endpoint e] [--reason r] [--rate n] [--limit n] [--purge]
  hs events    get <event id> | list [--source s] [--type t] [--since T] [--until T] [--limit n]
  hs replay    --endpoint e --since T [--until T] [--source s] [--type t] [--rate n] [--limit n] [--request-id id]
               --endpoint e --event <event id> [--request-id id]      one event
  hs tail      [subject]            print what is published on events.> (or subject); needs HS_NATS_URL
  hs apply     -f hookstream.yaml [--prune] [--dry-run]

  T        an ISO time (2026-05-01T12:00:00Z) or a duration ago (90s, 15m, 2h, 7d)

  --json   print the API's answer as JSON
  env      HS_CONTROL_URL (default 127.0.0.1:50051; https://host:port for TLS), HS_CONTROL_TOKEN,
           HS_NATS_URL and HS_NAMESPACE (hs tail)
  exit     0 ok, 1 the API refused (gRPC status printed), 2 usage, 3 control plane unreachable
`;

class UsageError extends Error {
  override name = 'UsageError';
}

const OPTIONS = {
  json: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  url: { type: 'string' },
  token: { type: 'string' },
  source: { type: 'string' },
  stage: { type: 'string' },
  endpoint: { type: 'string' },
  reason: { type: 'string' },
  limit: { type: 'string' },
  rate: { type: 'string' },
  purge: { type: 'boolean' },
  type: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  'request-id': { type: 'string' },
  event: { type: 'string' },
  secret: { type: 'string' },
  'secret-id': { type: 'string' },
  count: { type: 'string' },
  prune: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function positiveInt(value: string | undefined, name: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

function arg(positionals: readonly string[], index: number, what: string): string {
  const value = positionals[index];
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`);
  return value;
}

function timeOption(value: string | undefined, name: string): number {
  if (value === undefined) return 0;
  const ms = parseTime(value, Date.now());
  if (ms === undefined) throw new UsageError(`--${name} must be an ISO time or a duration like 2h`);
  return ms;
}

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

function iso(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '';
}

function filterOf(v: Values): DeadLetterFilter {
  return { stage: v.stage ?? '', source: v.source ?? '', endpoint: v.endpoint ?? '', reason: v.reason ?? '' };
}

function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, String(cell).length);
  }
  return `${rows
    .map((row) =>
      row
        .map((cell, i) => String(cell).padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function pretty(json: string): string {
  return `${JSON.stringify(JSON.parse(json), null, 2)}\n`;
}

/** What one command prints: the API answer (for --json) and its human form. */
interface Output {
  readonly json: unknown;
  readonly text: string;
}

async function collect<T>(
  fetchPage: (token: string) => Promise<{ items: T[]; next: string }>,
  max = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const all: T[] = [];
  let token = '';
  do {
    const page = await fetchPage(token);
    all.push(...page.items);
    token = page.next;
  } while (token !== '' && all.length < max);
  return all.slice(0, max);
}

function deadLetterJson(d: DeadLetter): unknown {
  return { ...d, payload: Buffer.from(d.payload).toString('utf8') };
}

async function execute(api: ControlApi, resource: string, command: string, pos: readonly string[], v: Values, io: CliIo): Promise<Output> {
  const readFile = (): string => {
    if (v.file === undefined) throw new UsageError('-f <file> is required');
    if (v.file === '-') return (io.readStdin ?? (() => readFileSync(0, 'utf8')))();
    return readFileSync(v.file, 'utf8');
  };
  switch (resource) {
    case 'stats': {
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
      return { json: r, text: table([['ENDPOINT', 'ATTEMPTS', 'SUCCESS', 'P50 MS', 'P95 MS', 'P99 MS', 'FAILURES'], ...rows]) };
    }
    case 'health': {
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
        e.lastFailure === undefined
          ? '-'
          : `${e.lastFailure.status || e.lastFailure.outcome} ${new Date(e.lastFailure.atMs).toISOString()}`,
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
      ]);
      const notes = [...new Set([endpoints.statsNote, sources.statsNote].filter((n) => n !== ''))].map((n) => `note: ${n}\n`);
      const text =
        table([['ENDPOINT', 'STATUS', 'SUCCESS', 'P95 MS', 'CIRCUIT', 'DLQ', 'LAST FAILURE'], ...endpointRows]) +
        '\n' +
        table([['SOURCE', 'PROVIDER', 'EVENTS', 'REJECTED', 'REASONS', 'DUPLICATES', 'DLQ'], ...sourceRows]) +
        notes.join('');
      return { json: { endpoints, sources }, text };
    }
    case 'replay': {
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
    }
    case 'apply': {
      if (v.file === undefined) throw new UsageError('-f <hookstream.yaml> is required');
      let desired: ReturnType<typeof parseDesired>;
      try {
        desired = parseDesired(readFile());
      } catch (err) {
        if (err instanceof ApplyFileError) throw new UsageError(`${v.file}: ${err.message}`);
        throw err;
      }
      const changes = plan(desired, await readCurrent(api), v.prune === true);
      const lines = changes.map((c) => `${describeChange(c)}\n`);
      const write = (text: string) => {
        if (v.json !== true) io.stdout.write(text);
      };
      if (changes.length === 0) return { json: { changes: [], applied: 0 }, text: 'no changes\n' };
      write(lines.join(''));
      if (v['dry-run'] === true) return { json: { changes: lines.map((l) => l.trim()), applied: 0 }, text: 'dry run: nothing applied\n' };
      let applied = 0;
      for (const change of changes) {
        await applyChange(api, change);
        applied++;
      }
      return { json: { changes: lines.map((l) => l.trim()), applied }, text: `applied ${applied} change${applied === 1 ? '' : 's'}\n` };
    }
    case 'tail': {
      const natsUrl = io.env.HS_NATS_URL;
      if (natsUrl === undefined || natsUrl === '') throw new UsageError('hs tail needs HS_NATS_URL');
      const ns = io.env.HS_NAMESPACE ?? '';
      const subject = command !== '' ? command : `${ns === '' ? '' : `${ns}.`}events.>`;
      const seen = await tail({
        natsUrl,
        subject,
        count: v.count === undefined ? 0 : positiveInt(v.count, 'count'),
        signal: io.signal ?? new AbortController().signal,
        out: io.stdout,
        onReady: () => io.stderr.write(`hs: tailing ${subject} on ${natsUrl} (Ctrl-C stops)\n`),
      });
      return { json: { messages: seen }, text: '' };
    }
  }
  switch (`${resource} ${command}`) {
    case 'sources list': {
      const items = await collect(async (t) => {
        const p = await api.listSources({ pageToken: t });
        return { items: p.sources, next: p.nextPageToken };
      });
      const rows = items.map((s) => {
        const c = JSON.parse(s.configJson) as { enabled?: boolean; provider?: string; scheme?: { kind?: string } };
        return [s.id, c.enabled === false ? 'no' : 'yes', c.provider ?? c.scheme?.kind ?? '', s.revision];
      });
      return { json: items, text: table([['ID', 'ENABLED', 'SCHEME', 'REVISION'], ...rows]) };
    }
    case 'sources get': {
      const s = await api.getSource({ id: arg(pos, 2, 'source id') });
      return { json: s, text: pretty(s.configJson) };
    }
    case 'sources create': {
      const s = await api.createSource({ configJson: readFile() });
      return { json: s, text: `created source ${s.id} (revision ${s.revision})\n` };
    }
    case 'sources update': {
      const s = await api.updateSource({ configJson: readFile() });
      return { json: s, text: `updated source ${s.id} (revision ${s.revision})\n` };
    }
    case 'sources rotate-secret':
    case 'endpoints rotate-secret': {
      const id = arg(pos, 2, `${resource === 'sources' ? 'source' : 'endpoint'} id`);
      const req = { id, newSecret: v.secret ?? '', newSecretId: v['secret-id'] ?? '' };
      const r = await (resource === 'sources' ? api.rotateSourceSecret(req) : api.rotateEndpointSecret(req));
      return {
        json: r,
        text: `rotated ${id}: new secret ${r.secretId} (revision ${r.revision}); the others stay valid for the grace period\nsecret: ${r.secretValue}\n`,
      };
    }
    case 'sources delete': {
      const id = arg(pos, 2, 'source id');
      await api.deleteSource({ id });
      return { json: {}, text: `deleted source ${id}\n` };
    }
    case 'endpoints list': {
      const items = await collect(async (t) => {
        const p = await api.listEndpoints({ pageToken: t });
        return { items: p.endpoints, next: p.nextPageToken };
      });
      const rows = items.map((e) => {
        const c = JSON.parse(e.configJson) as { enabled?: boolean; url?: string; eventTypes?: string[] };
        return [e.id, c.enabled === false ? 'no' : 'yes', c.url ?? '', (c.eventTypes ?? []).join(','), e.revision];
      });
      return { json: items, text: table([['ID', 'ENABLED', 'URL', 'TYPES', 'REVISION'], ...rows]) };
    }
    case 'endpoints get': {
      const e = await api.getEndpoint({ id: arg(pos, 2, 'endpoint id') });
      return { json: e, text: pretty(e.configJson) };
    }
    case 'endpoints create': {
      const e = await api.createEndpoint({ configJson: readFile() });
      return { json: e, text: `created endpoint ${e.id} (revision ${e.revision})\n` };
    }
    case 'endpoints update': {
      const e = await api.updateEndpoint({ configJson: readFile() });
      return { json: e, text: `updated endpoint ${e.id} (revision ${e.revision})\n` };
    }
    case 'endpoints delete': {
      const id = arg(pos, 2, 'endpoint id');
      await api.deleteEndpoint({ id });
      return { json: {}, text: `deleted endpoint ${id}\n` };
    }
    case 'schemas list': {
      const items = await collect(async (t) => {
        const p = await api.listSchemas({ source: v.source ?? '', pageToken: t });
        return { items: p.schemas, next: p.nextPageToken };
      });
      const rows = items.map((s) => [s.source, s.eventType, s.version, s.revision]);
      return { json: items, text: table([['SOURCE', 'TYPE', 'VERSION', 'REVISION'], ...rows]) };
    }
    case 'schemas get': {
      const s = await api.getSchema({ source: arg(pos, 2, 'source'), eventType: arg(pos, 3, 'event type') });
      return { json: s, text: pretty(s.schemaJson) };
    }
    case 'schemas create': {
      const s = await api.createSchema({ source: arg(pos, 2, 'source'), eventType: arg(pos, 3, 'event type'), schemaJson: readFile() });
      return { json: s, text: `created schema ${s.source}/${s.eventType} version ${s.version}\n` };
    }
    case 'schemas delete': {
      const source = arg(pos, 2, 'source');
      const eventType = arg(pos, 3, 'event type');
      await api.deleteSchema({ source, eventType });
      return { json: {}, text: `deleted schema ${source}/${eventType}\n` };
    }
    case 'dlq list': {
      const limit = positiveInt(v.limit, 'limit') || 100;
      const items = await collect(async (t) => {
        const p = await api.listDeadLetters({ filter: filterOf(v), pageToken: t, pageSize: Math.min(limit, 500) });
        return { items: p.deadLetters, next: p.nextPageToken };
      }, limit);
      const rows = items.map((d) => [d.sequence, d.stage, d.source, d.reason, d.eventId, new Date(d.deadLetteredAtMs).toISOString()]);
      return { json: items.map(deadLetterJson), text: table([['SEQ', 'STAGE', 'SOURCE', 'REASON', 'EVENT', 'AT'], ...rows]) };
    }
    case 'dlq show': {
      const d = await api.getDeadLetter({ sequence: positiveInt(arg(pos, 2, 'sequence'), 'sequence') });
      const text =
        table([
          ['sequence', d.sequence],
          ['subject', d.subject],
          ['stage', d.stage],
          ['reason', d.reason],
          ['detail', d.detail],
          ['replays to', d.originalSubject],
          ['event id', d.eventId],
        ]) +
        `headers:\n${d.headers.map((h) => `  ${h.name}: ${h.value}\n`).join('')}payload:\n${Buffer.from(d.payload).toString('utf8')}\n`;
      return { json: deadLetterJson(d), text };
    }
    case 'dlq replay': {
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
    }
    case 'events get': {
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
    }
    case 'events list': {
      const limit = positiveInt(v.limit, 'limit') || 100;
      const sinceMs = timeOption(v.since, 'since');
      const untilMs = timeOption(v.until, 'until');
      const items = await collect(async (t) => {
        const p = await api.listEvents({
          source: v.source ?? '',
          eventType: v.type ?? '',
          sinceMs,
          untilMs,
          pageToken: t,
          pageSize: Math.min(limit, 500),
        });
        return { items: p.events, next: p.nextPageToken };
      }, limit);
      const rows = items.map((e) => [iso(e.storedAtMs), e.eventId, e.source, e.eventType, e.payloadSize]);
      return { json: items.map(eventJson), text: table([['AT', 'EVENT', 'SOURCE', 'TYPE', 'BYTES'], ...rows]) };
    }
    default:
      throw new UsageError(`unknown command: ${resource} ${command}`);
  }
}

/**
 * Runs `hs` with `argv` (without node and the script) and resolves to the
 * exit code. Never throws: every failure is printed to stderr with its code.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.stderr.write(`hs: ${(err as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals.length === 0) {
    (values.help === true ? io.stdout : io.stderr).write(USAGE);
    return values.help === true ? EXIT.ok : EXIT.usage;
  }
  const [resource = '', command = ''] = positionals;
  const api = connectControl({
    url: values.url ?? io.env.HS_CONTROL_URL ?? '127.0.0.1:50051',
    token: values.token ?? io.env.HS_CONTROL_TOKEN,
  });
  try {
    const out = await execute(api, resource, command, positionals, values, io);
    io.stdout.write(values.json === true ? `${JSON.stringify(out.json, null, 2)}\n` : out.text);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`hs: ${err.message}\n${USAGE}`);
      return EXIT.usage;
    }
    const code = (err as Partial<ServiceError>).code;
    if (typeof code === 'number') {
      io.stderr.write(`hs: ${status[code] ?? code}: ${(err as ServiceError).details}\n`);
      return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED ? EXIT.unavailable : EXIT.apiError;
    }
    io.stderr.write(`hs: ${(err as Error).message}\n`);
    return EXIT.apiError;
  } finally {
    api.close();
  }
}
