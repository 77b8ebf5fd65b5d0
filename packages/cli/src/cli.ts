import { readFileSync } from 'node:fs';
import { type ServiceError, status } from '@grpc/grpc-js';
import { connectControl } from '@hookstream/proto';
import { COMMANDS } from './command-table.ts';
import { type CommandContext, fileReader, PLAIN, type Style, UsageError } from './commands/command.ts';
import { globalHelp, shortUsage } from './help.ts';
import { parseCommandLine } from './parse.ts';
import { progress } from './progress.ts';

/** Exit codes of `hs`. */
export const EXIT = Object.freeze({
  ok: 0,
  /** The API refused the call (the gRPC status is printed). */
  apiError: 1,
  /** Bad command line, or a confirmation declined or impossible; nothing was sent. */
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
  /** Which streams are terminals (main.ts: `process.*.isTTY`); none when absent. Colour, progress and questions need one. */
  readonly tty?: { readonly stdin?: boolean; readonly stdout?: boolean; readonly stderr?: boolean };
  /** Asks `question` on the terminal and resolves to the answer (main.ts: readline on stdin and stderr). */
  readonly ask?: (question: string) => Promise<string>;
}

/** `hs --help`, generated from the command table. */
export const USAGE = globalHelp(COMMANDS);

/** hs's version, from packages/cli/package.json. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const COLOURS: Style = Object.freeze({
  bold: (t: string) => `\x1b[1m${t}\x1b[22m`,
  red: (t: string) => `\x1b[31m${t}\x1b[39m`,
});

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org: any non-empty value). */
function styleFor(terminal: boolean | undefined, env: CliIo['env']): Style {
  return terminal === true && (env.NO_COLOR ?? '') === '' ? COLOURS : PLAIN;
}

/**
 * Runs `hs` with `argv` (without node and the script) and resolves to the
 * exit code. Never throws: every failure is printed to stderr with its code.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const errStyle = styleFor(io.tty?.stderr, io.env);
  const fail = (message: string, usage = ''): number => {
    io.stderr.write(`${errStyle.red('hs:')} ${message}\n${usage}`);
    return EXIT.usage;
  };
  const parsed = parseCommandLine(COMMANDS, argv, VERSION);
  if (parsed.kind === 'print') {
    io.stdout.write(parsed.text);
    return EXIT.ok;
  }
  if (parsed.kind === 'usage') return fail(parsed.message, parsed.usage);
  const { spec, values, positionals } = parsed;
  const api = connectControl({
    url: values.url ?? io.env.HS_CONTROL_URL ?? '127.0.0.1:50051',
    token: values.token ?? io.env.HS_CONTROL_TOKEN,
  });
  const ctx: CommandContext = {
    api,
    resource: positionals[0] ?? '',
    command: positionals[1] ?? '',
    pos: positionals,
    v: values,
    io,
    readFile: fileReader(values, io),
    style: values.json === true ? PLAIN : styleFor(io.tty?.stdout, io.env),
    progress: (label, work) => progress(label, work, { out: io.stderr, enabled: io.tty?.stderr === true }),
  };
  try {
    if (spec.confirm !== undefined && values.yes !== true) {
      const question = spec.confirm(ctx);
      if (io.tty?.stdin !== true || io.ask === undefined) {
        return fail(`'hs ${spec.path.join(' ')}' would ${question.replace(/\?$/, '')}: pass --yes to confirm (stdin is not a terminal)`);
      }
      const answer = await io.ask(`hs: ${question} [y/N] `);
      if (!/^y(es)?$/i.test(answer.trim())) return fail('not confirmed; nothing was changed');
    }
    const out = await spec.run(ctx);
    io.stdout.write(values.json === true ? `${JSON.stringify(out.json, null, 2)}\n` : out.text);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message, shortUsage(spec));
    const code = (err as Partial<ServiceError>).code;
    if (typeof code === 'number') {
      io.stderr.write(`${errStyle.red('hs:')} ${status[code] ?? code}: ${(err as ServiceError).details}\n`);
      return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED ? EXIT.unavailable : EXIT.apiError;
    }
    io.stderr.write(`${errStyle.red('hs:')} ${(err as Error).message}\n`);
    return EXIT.apiError;
  } finally {
    api.close();
  }
}
