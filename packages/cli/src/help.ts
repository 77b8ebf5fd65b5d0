import { type CommandSpec, FLAGS, type FlagDef, type FlagName, type FlagUse } from './commands/command.ts';
import { GROUPS } from './groups.ts';

/** One option as a command takes it: its definition and what the command says about it. */
export interface AcceptedFlag {
  readonly name: FlagName;
  readonly def: FlagDef;
  readonly required: boolean;
  readonly default?: string;
  readonly description: string;
}

/** Every option `spec` accepts, its own first, then --yes, --json, --url, --token and --help as it takes them. Pure. */
export function acceptedFlags(spec: CommandSpec): AcceptedFlag[] {
  const uses: FlagUse[] = (spec.flags ?? []).map((f) => (typeof f === 'string' ? { name: f } : f));
  if (spec.confirm !== undefined) uses.push({ name: 'yes' });
  if (spec.json !== false) uses.push({ name: 'json' });
  if (spec.remote !== false) uses.push({ name: 'url' }, { name: 'token' });
  uses.push({ name: 'help' });
  return uses.map((u) => {
    const def: FlagDef = FLAGS[u.name];
    return {
      name: u.name,
      def,
      required: u.required === true,
      ...(u.default === undefined ? {} : { default: u.default }),
      description: u.description ?? def.description,
    };
  });
}

/** The command as typed, without arguments: `hs sources list`. Pure. */
export function commandName(spec: CommandSpec): string {
  return `hs ${spec.path.join(' ')}`;
}

function flagText(f: AcceptedFlag): string {
  const name = f.def.short !== undefined && f.def.type === 'string' ? `-${f.def.short}` : `--${f.name}`;
  return f.def.type === 'string' ? `${name} ${f.def.value ?? 'value'}` : name;
}

/** The command's one-line form: `hs dlq purge [seq] [--stage s] … [--yes]` (without --json, --url, --token, --help). Pure. */
export function synopsis(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => (a.optional === true ? `[${a.name}]` : `<${a.name}>`));
  const flags = acceptedFlags(spec)
    .filter((f) => !['json', 'url', 'token', 'help'].includes(f.name))
    .map((f) => (f.required ? flagText(f) : `[${flagText(f)}]`));
  return [commandName(spec), ...args, ...flags].join(' ');
}

/** What a usage error prints after the message: the synopsis and where the help is. Pure. */
export function shortUsage(spec: CommandSpec): string {
  return `usage: ${synopsis(spec)}${spec.json === false ? '' : ' [--json]'}\nrun '${commandName(spec)} --help' for details\n`;
}

function columns(rows: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(width)}  ${b}\n`).join('');
}

/** `hs <command> --help`: synopsis, summary, arguments, options with defaults, examples. Pure. */
export function commandHelp(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a): [string, string] => [a.name, `${a.description}${a.optional === true ? ' (optional)' : ''}`]);
  const flags = acceptedFlags(spec).map((f): [string, string] => {
    const short = f.def.short === undefined ? '' : `-${f.def.short}, `;
    const name = `${short}--${f.name}${f.def.type === 'string' ? ` ${f.def.value ?? 'value'}` : ''}`;
    const notes = [f.required ? 'required' : '', f.default === undefined ? '' : `default ${f.default}`].filter((n) => n !== '');
    return [name, `${f.description}${notes.length === 0 ? '' : ` (${notes.join(', ')})`}`];
  });
  return (
    `usage: ${synopsis(spec)}${spec.json === false ? '' : ' [--json]'}\n\n${spec.summary}\n` +
    (args.length === 0 ? '' : `\narguments:\n${columns(args)}`) +
    `\noptions:\n${columns(flags)}` +
    `\nexample${spec.examples.length === 1 ? '' : 's'}:\n${spec.examples.map((e) => `  ${e}\n`).join('')}`
  );
}

/** The commands of a group (`sources`), in table order; none when `group` is not one. Pure. */
export function groupCommands(commands: readonly CommandSpec[], group: string): CommandSpec[] {
  return commands.filter((c) => c.path.length === 2 && c.path[0] === group);
}

/** What a group's usage error prints: its subcommands on one line and where the help is. Pure. */
export function groupShortUsage(commands: readonly CommandSpec[], group: string): string {
  const subs = groupCommands(commands, group).map((c) => c.path[1]);
  return `usage: hs ${group} ${subs.join('|')} [args] [options]\nrun 'hs ${group} --help' for details\n`;
}

/** `hs sources --help`: the group's commands with their synopsis and summary. Pure. */
export function groupHelp(commands: readonly CommandSpec[], group: string): string {
  const specs = groupCommands(commands, group);
  return (
    `usage: hs ${group} <command> [args] [options]\n\n${GROUPS[group] ?? ''}\n\ncommands:\n` +
    specs.map((s) => `  ${synopsis(s)}\n      ${s.summary}\n`).join('') +
    `\nrun 'hs ${group} <command> --help' for a command's options\n`
  );
}

/** The first level of `hs`: every group and every command without subcommands, in table order. Pure. */
export function topNames(commands: readonly CommandSpec[]): string[] {
  return [...new Set(commands.map((c) => c.path[0]))];
}

/** What `hs` alone and an unknown command print: one usage line, the commands, where the help is. Pure. */
export function globalShortUsage(commands: readonly CommandSpec[]): string {
  return `usage: hs <command> [args] [options]\ncommands: ${topNames(commands).join(' ')}\nrun 'hs --help' or 'hs help <command>' for details\n`;
}

/** `hs --help`: every command with its summary, the global options, time syntax, environment and exit codes. Pure. */
export function globalHelp(commands: readonly CommandSpec[]): string {
  const rows = commands.map((c): [string, string] => [c.path.join(' '), c.summary]);
  return (
    'usage: hs <command> [args] [options]\n\n' +
    'hs is the operator command of hookstream: it talks to the control plane over gRPC.\n\n' +
    `commands:\n${columns(rows)}\n` +
    `options (each command's --help says which it takes):\n${columns([
      ['--json', FLAGS.json.description],
      ['--url host:port', FLAGS.url.description],
      ['--token t', FLAGS.token.description],
      ['-h, --help', "show the command's help (or: hs help <command>)"],
      ['--version', "print hs's version"],
    ])}\n` +
    'T        an ISO time (2026-05-01T12:00:00Z) or a duration ago (90s, 15m, 2h, 7d)\n' +
    'env      HS_CONTROL_URL, HS_CONTROL_TOKEN; HS_NATS_URL and HS_NAMESPACE (hs tail); NO_COLOR turns colour off\n' +
    'exit     0 ok, 1 the API refused (gRPC status printed), 2 usage (or a confirmation declined), 3 control plane unreachable\n' +
    "run 'hs <command> --help' for a command's arguments and options\n"
  );
}

/**
 * The command list of docs/control-plane.md (between its `hs-commands`
 * markers): one row per command with its synopsis, summary and first
 * example, columns padded as the formatter (biome) lays out a table. Pure;
 * the CLI tests fail when the doc differs from it.
 */
export function commandsMarkdown(commands: readonly CommandSpec[]): string {
  const code = (text: string) => `\`${text.replaceAll('|', '\\|')}\``;
  const rows = [
    ['Command', 'What it does', 'Example'],
    ...commands.map((c) => [code(synopsis(c)), c.summary.replaceAll('|', '\\|'), code(c.examples[0])]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = rows;
  return `${[line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')}\n`;
}

/** The markers around the generated command list in docs/control-plane.md. */
export const DOC_MARKERS = Object.freeze({
  start: '<!-- hs-commands:start (generated by packages/cli/src/gen-docs.ts) -->',
  end: '<!-- hs-commands:end -->',
});

/** `doc` with the text between {@link DOC_MARKERS} replaced by {@link commandsMarkdown}. Throws when a marker is missing. Pure. */
export function withCommandsSection(doc: string, commands: readonly CommandSpec[]): string {
  const start = doc.indexOf(DOC_MARKERS.start);
  const end = doc.indexOf(DOC_MARKERS.end);
  if (start === -1 || end < start) throw new Error(`the document has no ${DOC_MARKERS.start} … ${DOC_MARKERS.end} section`);
  return `${doc.slice(0, start + DOC_MARKERS.start.length)}\n\n${commandsMarkdown(commands)}\n${doc.slice(end)}`;
}
