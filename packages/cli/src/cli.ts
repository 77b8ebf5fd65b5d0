import { parseArgs } from 'node:util';
import { type ServiceError, status } from '@grpc/grpc-js';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { apply } from './commands/apply.ts';
import { type Command, fileReader, OPTIONS, type Output, UsageError, type Values } from './commands/command.ts';
import { dlq } from './commands/dlq.ts';
import { endpoints } from './commands/endpoints.ts';
import { events } from './commands/events.ts';
import { replay } from './commands/replay.ts';
import { schemas } from './commands/schemas.ts';
import { sources } from './commands/sources.ts';
import { health, stats } from './commands/stats.ts';
import { tail } from './commands/tail.ts';

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
  hs events    get <event id> | list [--source s] [--type t] [--status delivered|failing|pending] [--since T] [--until T] [--newest] [--limit n]
               find <event id | provider id | DLQ sequence>      where that webhook is now, per endpoint
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

/** Every resource's command (a group dispatches on the second positional). */
const COMMANDS = new Map<string, Command>(Object.entries({ sources, endpoints, schemas, stats, health, dlq, events, replay, tail, apply }));

async function execute(api: ControlApi, resource: string, command: string, pos: readonly string[], v: Values, io: CliIo): Promise<Output> {
  const run = COMMANDS.get(resource);
  if (run === undefined) throw new UsageError(`unknown command: ${resource} ${command}`);
  return run({ api, resource, command, pos, v, io, readFile: fileReader(v, io) });
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
