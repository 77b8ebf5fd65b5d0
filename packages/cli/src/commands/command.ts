import { readFileSync } from 'node:fs';
import type { parseArgs } from 'node:util';
import type { ControlApi } from '@hookstream/proto';
import type { CliIo } from '../cli.ts';
import { parseTime } from '../time.ts';

// What every command shares: the parsed command line, the output shape, the
// table dispatch and the argument and formatting helpers.

/** The options `hs` accepts (node:util parseArgs). */
export const OPTIONS = {
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
  status: { type: 'string' },
  newest: { type: 'boolean' },
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

/** The parsed option values. */
export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** A bad command line: printed with the usage, exit 2, nothing sent. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What one command prints: the API answer (for --json) and its human form. */
export interface Output {
  readonly json: unknown;
  readonly text: string;
}

/** What a command runs with. */
interface CommandContext {
  readonly api: ControlApi;
  /** The first positional (`sources`). */
  readonly resource: string;
  /** The second positional (`list`), or `''`. */
  readonly command: string;
  /** Every positional, resource and command included. */
  readonly pos: readonly string[];
  readonly v: Values;
  readonly io: CliIo;
  /** The text of `-f` (`-`: stdin). Throws UsageError without `-f`. */
  readonly readFile: () => string;
}

/** One command: resolves with what it prints; throws UsageError or the API's error. */
export type Command = (ctx: CommandContext) => Promise<Output>;

/** A resource's commands by name as one command dispatching on `ctx.command`; an unknown one is a UsageError. */
export function group(commands: Readonly<Record<string, Command>>): Command {
  const table = new Map(Object.entries(commands));
  return async (ctx) => {
    const run = table.get(ctx.command);
    if (run === undefined) throw new UsageError(`unknown command: ${ctx.resource} ${ctx.command}`);
    return run(ctx);
  };
}

/** The `-f` reader of a command line: the file, or stdin for `-`. */
export function fileReader(v: Values, io: CliIo): () => string {
  return (): string => {
    if (v.file === undefined) throw new UsageError('-f <file> is required');
    if (v.file === '-') return (io.readStdin ?? (() => readFileSync(0, 'utf8')))();
    return readFileSync(v.file, 'utf8');
  };
}

/** `--name`'s value as a positive integer; 0 when absent. Throws UsageError otherwise. */
export function positiveInt(value: string | undefined, name: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

/** The positional at `index`. Throws UsageError naming `what` when missing. */
export function arg(positionals: readonly string[], index: number, what: string): string {
  const value = positionals[index];
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`);
  return value;
}

/** `--name` as epoch ms (an ISO time or a duration ago); 0 when absent. Throws UsageError otherwise. */
export function timeOption(value: string | undefined, name: string): number {
  if (value === undefined) return 0;
  const ms = parseTime(value, Date.now());
  if (ms === undefined) throw new UsageError(`--${name} must be an ISO time or a duration like 2h`);
  return ms;
}

/** Epoch ms as ISO text; `''` for 0. */
export function iso(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '';
}

/** Rows as left-aligned columns, two spaces apart. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
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

/** JSON text indented. */
export function pretty(json: string): string {
  return `${JSON.stringify(JSON.parse(json), null, 2)}\n`;
}

/** Every item of a paged listing (at most `max`), following page tokens. */
export async function collect<T>(
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
