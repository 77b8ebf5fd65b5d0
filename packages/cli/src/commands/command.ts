import { readFileSync } from 'node:fs';
import type { ControlApi } from '@hookstream/proto';
import type { CliIo } from '../cli.ts';
import { parseTime } from '../time.ts';

// What every command shares: the parsed command line, the output shape, the
// table dispatch and the argument and formatting helpers.

/** One option of `hs`: its parseArgs type, the placeholder of its value in help, and what it does. */
export interface FlagDef {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's placeholder in usage lines (`--limit n`); string options only. */
  readonly value?: string;
  readonly description: string;
}

/** Every option `hs` knows; a command accepts the ones its definition lists (commands/spec.ts). */
export const FLAGS = {
  json: { type: 'boolean', description: 'print the answer as plain JSON (records and schemas as objects)' },
  file: { type: 'string', short: 'f', value: 'file', description: 'read the JSON (or YAML for apply) from this file; - reads stdin' },
  url: {
    type: 'string',
    value: 'host:port',
    description: 'control plane address (default $HS_CONTROL_URL or 127.0.0.1:50051; https://host:port for TLS)',
  },
  token: { type: 'string', value: 't', description: 'bearer token (default $HS_CONTROL_TOKEN)' },
  source: { type: 'string', value: 's', description: 'only this source' },
  stage: { type: 'string', value: 's', description: 'only this stage (verify, validate, route, deliver, ...)' },
  endpoint: { type: 'string', value: 'e', description: 'only this endpoint' },
  reason: { type: 'string', value: 'r', description: 'only this dead-letter reason (bad_signature, retries_exhausted, ...)' },
  limit: { type: 'string', value: 'n', description: 'at most n' },
  rate: { type: 'string', value: 'n', description: 'at most n per second' },
  status: { type: 'string', value: 'delivered|failing|pending', description: 'only events in this delivery status (needs ClickHouse)' },
  newest: { type: 'boolean', description: 'newest first (pages go back in time)' },
  purge: { type: 'boolean', description: 'delete each dead letter once its replay is stored' },
  all: { type: 'boolean', description: 'allow an empty filter: every dead letter' },
  type: { type: 'string', value: 't', description: 'only this event type (* matches any run of characters)' },
  since: { type: 'string', value: 'T', description: 'from this time: ISO (2026-05-01T12:00:00Z) or a duration ago (90s, 15m, 2h, 7d)' },
  until: { type: 'string', value: 'T', description: 'up to this time (as --since); default now' },
  'request-id': { type: 'string', value: 'id', description: 'makes a repeated replay a no-op (same id, same events)' },
  event: { type: 'string', value: 'id', description: 'one event by its hs-event-id' },
  secret: { type: 'string', value: 'value', description: 'the new secret (generated when absent)' },
  'secret-id': { type: 'string', value: 'id', description: "the new secret's id (k{epoch ms} when absent)" },
  description: { type: 'string', value: 'text', description: "the schema's description (update keeps the stored one when absent)" },
  count: { type: 'string', value: 'n', description: 'stop after n messages' },
  prune: { type: 'boolean', description: 'delete what the file does not list' },
  'dry-run': { type: 'boolean', description: 'print the changes, apply nothing' },
  yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (required when stdin is not a terminal)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Readonly<Record<string, FlagDef>>;

/** The name of an option (`--name`). */
export type FlagName = keyof typeof FLAGS;

/** The parsed option values: a string for string options, true for boolean ones; absent when not given. */
export type Values = { readonly [K in FlagName]?: (typeof FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

/** A bad command line: printed with the command's short usage, exit 2, nothing sent. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What one command prints: the API answer (for --json) and its human form. */
export interface Output {
  readonly json: unknown;
  readonly text: string;
}

/** What a command runs with: the API client, the parsed command line, the process's streams and how to print. */
export interface CommandContext {
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
  /** Colours for stdout (identity when stdout is not a terminal or NO_COLOR is set). */
  readonly style: Style;
  /** Resolves as `work` does; meanwhile, on a terminal, shows `label` and the time elapsed on stderr. */
  readonly progress: <T>(label: string, work: Promise<T>) => Promise<T>;
}

/** Text colours; every function is the identity when colour is off. */
export interface Style {
  readonly bold: (text: string) => string;
  readonly red: (text: string) => string;
}

/** No colour. */
export const PLAIN: Style = Object.freeze({ bold: (t: string) => t, red: (t: string) => t });

/** One command: resolves with what it prints; throws UsageError or the API's error. */
export type Command = (ctx: CommandContext) => Promise<Output>;

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

/** Rows as left-aligned columns, two spaces apart; the first row (the header) in bold when `style` colours. */
export function table(rows: readonly (readonly (string | number)[])[], style: Style = PLAIN): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, String(cell).length);
  }
  return `${rows
    .map((row, r) => {
      const line = row
        .map((cell, i) => String(cell).padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
      return r === 0 ? style.bold(line) : line;
    })
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

/** A record answer (source, endpoint, rotation) for --json: `configJson` parsed into `config`. */
export function withConfig<T extends { readonly configJson: string }>(record: T): Omit<T, 'configJson'> & { config: unknown } {
  const { configJson, ...rest } = record;
  return { ...rest, config: JSON.parse(configJson) as unknown };
}

/** A positional argument of a command. */
export interface ArgSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
}

/** An option a command takes, with what is particular to it (a default, a required option, its own description). */
export interface FlagUse {
  readonly name: FlagName;
  readonly required?: boolean;
  /** Shown in help ("default 100"); the command applies it. */
  readonly default?: string;
  readonly description?: string;
}

/**
 * One command's definition: help, usage lines, option checking, completion
 * and the docs are all derived from it (src/command-table.ts).
 */
export interface CommandSpec {
  /** `['sources', 'list']`, or `['stats']` for a command without subcommands. */
  readonly path: readonly [string] | readonly [string, string];
  /** One line, lower case, no full stop. */
  readonly summary: string;
  readonly args?: readonly ArgSpec[];
  /** The command's own options; --help (and --url, --token, --json unless turned off below) come with every command. */
  readonly flags?: readonly (FlagName | FlagUse)[];
  /** False: no --json (the command streams text). */
  readonly json?: boolean;
  /** False: does not talk to the control plane (no --url, --token). */
  readonly remote?: boolean;
  /** The question asked before it runs (it deletes); makes --yes an option. */
  readonly confirm?: (ctx: CommandContext) => string;
  /** At least one, each a whole command line. */
  readonly examples: readonly [string, ...string[]];
  readonly run: Command;
}
