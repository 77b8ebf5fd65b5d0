import { parseArgs } from 'node:util';
import { type CommandSpec, FLAGS, type FlagName, type Values } from './commands/command.ts';
import { GROUPS } from './groups.ts';
import {
  acceptedFlags,
  commandHelp,
  commandName,
  globalHelp,
  globalShortUsage,
  groupCommands,
  groupHelp,
  groupShortUsage,
  shortUsage,
  topNames,
} from './help.ts';

/** What a command line asks for: text to print (help, version), a usage error, or a command to run. */
export type Parsed =
  | { readonly kind: 'print'; readonly text: string }
  | { readonly kind: 'usage'; readonly message: string; readonly usage: string }
  | { readonly kind: 'run'; readonly spec: CommandSpec; readonly values: Values; readonly positionals: readonly string[] };

/** Edit distance (insertions, deletions, substitutions) between `a` and `b`. Pure. */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The candidate closest to `word` within an edit distance of 2 (the first on a tie), or undefined. Pure. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function suggestion(word: string, candidates: readonly string[], quote: (c: string) => string): string {
  const best = didYouMean(word, candidates);
  return best === undefined ? '' : `; did you mean ${quote(best)}?`;
}

type ParseConfig = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function optionsOf(names: readonly FlagName[]): ParseConfig {
  const config: ParseConfig = {};
  for (const name of names) {
    const def = FLAGS[name];
    config[name] = 'short' in def ? { type: def.type, short: def.short } : { type: def.type };
  }
  return config;
}

/** Finds the command `words` name: a command, or help or a usage error for a group or an unknown name. */
function findCommand(
  commands: readonly CommandSpec[],
  words: readonly string[],
  help: boolean,
): { spec: CommandSpec } | Exclude<Parsed, { kind: 'run' }> {
  const [top = '', sub] = words;
  const leaf = commands.find((c) => c.path.length === 1 && c.path[0] === top);
  if (leaf !== undefined) return { spec: leaf };
  if (GROUPS[top] === undefined || groupCommands(commands, top).length === 0) {
    return {
      kind: 'usage',
      message: `unknown command '${top}'${suggestion(top, topNames(commands), (c) => `'${c}'`)}`,
      usage: globalShortUsage(commands),
    };
  }
  if (sub === undefined) {
    return help
      ? { kind: 'print', text: groupHelp(commands, top) }
      : { kind: 'usage', message: `'hs ${top}' needs a command`, usage: groupShortUsage(commands, top) };
  }
  const spec = groupCommands(commands, top).find((c) => c.path[1] === sub);
  if (spec !== undefined) return { spec };
  const subs = groupCommands(commands, top).map((c) => c.path[1] ?? '');
  return {
    kind: 'usage',
    message: `unknown command '${sub}' for 'hs ${top}'${suggestion(sub, subs, (c) => `'${c}'`)}`,
    usage: groupShortUsage(commands, top),
  };
}

/**
 * Parses `argv` (without node and the script) against the command table:
 * finds the command, rejects options it does not take (suggesting the
 * closest one it does), missing or extra arguments and missing required
 * options, and answers --help, `hs help …` and --version. Pure.
 */
export function parseCommandLine(commands: readonly CommandSpec[], argv: readonly string[], version: string): Parsed {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) return { kind: 'print', text: `hs ${version}\n` };
  // First pass with every option hs knows, to find which words are the command.
  const first = parseArgs({ args: [...argv], options: optionsOf(Object.keys(FLAGS) as FlagName[]), strict: false, allowPositionals: true });
  const helpWord = first.positionals[0] === 'help';
  const words = helpWord ? first.positionals.slice(1) : first.positionals;
  const help = helpWord || first.values.help === true;
  if (words.length === 0)
    return help
      ? { kind: 'print', text: globalHelp(commands) }
      : { kind: 'usage', message: 'no command given', usage: globalShortUsage(commands) };
  const found = findCommand(commands, words, help);
  if (!('spec' in found)) return found;
  const { spec } = found;
  if (help) return { kind: 'print', text: commandHelp(spec) };

  // Second pass with only the options this command takes.
  const accepted = acceptedFlags(spec);
  const names = accepted.map((f) => f.name);
  const usage = shortUsage(spec);
  const second = parseArgs({ args: [...argv], options: optionsOf(names), strict: false, allowPositionals: true, tokens: true });
  for (const token of second.tokens) {
    if (token.kind !== 'option') continue;
    const flag = accepted.find((f) => f.name === token.name);
    if (flag === undefined) {
      const typed = token.rawName.replace(/^-+/, '');
      const hint = suggestion(typed, names, (c) => `--${c}`);
      return { kind: 'usage', message: `unknown option ${token.rawName} for '${commandName(spec)}'${hint}`, usage };
    }
    if (flag.def.type === 'string' && token.value === undefined)
      return { kind: 'usage', message: `option ${token.rawName} needs a value`, usage };
    if (flag.def.type === 'boolean' && token.inlineValue === true)
      return { kind: 'usage', message: `option ${token.rawName} takes no value`, usage };
  }
  const values = second.values as Values;
  const args = second.positionals.slice(spec.path.length);
  const specArgs = spec.args ?? [];
  const extra = args[specArgs.length];
  if (extra !== undefined) return { kind: 'usage', message: `unexpected argument '${extra}' for '${commandName(spec)}'`, usage };
  const missing = specArgs.find((a, i) => a.optional !== true && (args[i] ?? '') === '');
  if (missing !== undefined) return { kind: 'usage', message: `missing <${missing.name}> for '${commandName(spec)}'`, usage };
  const needed = accepted.find((f) => f.required && values[f.name] === undefined);
  if (needed !== undefined) {
    const name = needed.def.short === undefined ? `--${needed.name}` : `-${needed.def.short}`;
    return { kind: 'usage', message: `${name} ${needed.def.value ?? ''} is required for '${commandName(spec)}'`.replace('  ', ' '), usage };
  }
  return { kind: 'run', spec, values, positionals: second.positionals };
}
