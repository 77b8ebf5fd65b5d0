import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EXIT, runCli } from '../src/cli.ts';
import { COMMANDS } from '../src/command-table.ts';
import { acceptedFlags, commandHelp, globalHelp, groupHelp } from '../src/help.ts';
import { didYouMean, levenshtein, parseCommandLine } from '../src/parse.ts';
import { recordingIo } from './fake-io.ts';

// Every case here is refused or answered before anything is sent: the
// control-plane URL points at a closed port, so a call would exit 3, not 0 or 2.
const env = { HS_CONTROL_URL: '127.0.0.1:1' };

async function hs(...argv: string[]) {
  const io = recordingIo({ env });
  const code = await runCli(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

describe('hs: the command line, parsed from the command table', () => {
  it("hs: an option the command does not take exits 2 with the command's short usage, not the whole help", async () => {
    const r = await hs('sources', 'list', '--purge');
    assert.equal(r.code, EXIT.usage);
    assert.equal(
      r.stderr,
      "hs: unknown option --purge for 'hs sources list'\nusage: hs sources list [--json]\nrun 'hs sources list --help' for details\n",
    );
    assert.equal(r.stdout, '');
  });

  it('hs: a mistyped command, subcommand or option within 2 edits gets a "did you mean"', async () => {
    const top = await hs('surces', 'list');
    assert.equal(top.code, EXIT.usage);
    assert.match(top.stderr, /^hs: unknown command 'surces'; did you mean 'sources'\?\n/);
    const sub = await hs('dlq', 'purg', '--yes');
    assert.equal(sub.code, EXIT.usage);
    assert.match(sub.stderr, /^hs: unknown command 'purg' for 'hs dlq'; did you mean 'purge'\?\nusage: hs dlq list\|show\|replay\|purge /);
    const flag = await hs('dlq', 'list', '--limt', '5');
    assert.equal(flag.code, EXIT.usage);
    assert.match(flag.stderr, /^hs: unknown option --limt for 'hs dlq list'; did you mean --limit\?\nusage: hs dlq list /);
    const far = await hs('xyzzy');
    assert.equal(far.code, EXIT.usage);
    assert.equal(far.stderr.split('\n')[0], "hs: unknown command 'xyzzy'");
  });

  it('hs: did-you-mean is the Levenshtein distance, at most 2', () => {
    assert.equal(levenshtein('kitten', 'sitting'), 3);
    assert.equal(levenshtein('', 'abc'), 3);
    assert.equal(levenshtein('list', 'list'), 0);
    assert.equal(didYouMean('lsit', ['get', 'list']), 'list');
    assert.equal(didYouMean('endpoitns', ['sources', 'endpoints']), 'endpoints');
    assert.equal(didYouMean('purj', ['prune', 'purge']), 'purge');
    assert.equal(didYouMean('purge', ['prune']), undefined, 'purge and prune are 3 edits apart');
    assert.equal(didYouMean('abcdef', ['list', 'get']), undefined);
  });

  it('hs: missing and extra arguments, required options and option values are usage errors naming the command', async () => {
    const cases: [string[], string][] = [
      [['sources', 'get'], "hs: missing <id> for 'hs sources get'"],
      [['schemas', 'get', 'stripe'], "hs: missing <type> for 'hs schemas get'"],
      [['sources', 'list', 'extra'], "hs: unexpected argument 'extra' for 'hs sources list'"],
      [['sources', 'create'], "hs: -f file is required for 'hs sources create'"],
      [['replay', '--since', '1h'], "hs: --endpoint e is required for 'hs replay'"],
      [['dlq', 'list', '--limit'], 'hs: option --limit needs a value'],
      [['sources', 'list', '--json=yes'], 'hs: option --json takes no value'],
      [['tail', '--json'], "hs: unknown option --json for 'hs tail'"],
      [['sources'], "hs: 'hs sources' needs a command"],
      [[], 'hs: no command given'],
    ];
    for (const [argv, first] of cases) {
      const r = await hs(...argv);
      assert.equal(r.code, EXIT.usage, argv.join(' '));
      assert.equal(r.stderr.split('\n')[0], first, argv.join(' '));
      assert.ok(r.stderr.split('\n').length <= 5, `short usage for ${argv.join(' ')}: ${r.stderr}`);
    }
  });

  it('hs: --version prints the version of packages/cli/package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await hs('--version');
    assert.equal(r.code, EXIT.ok);
    assert.equal(r.stdout, `hs ${version}\n`);
    assert.equal((await hs('-V')).stdout, `hs ${version}\n`);
  });

  it('hs: --help, -h and hs help print the help of the command, the group, or everything, on stdout with exit 0', async () => {
    const list = await hs('sources', 'list', '--help');
    assert.equal(list.code, EXIT.ok);
    assert.equal(list.stdout, (await hs('help', 'sources', 'list')).stdout);
    assert.equal(list.stdout, (await hs('sources', 'list', '-h')).stdout);
    assert.match(list.stdout, /^usage: hs sources list \[--json\]\n\nlist sources/);
    const group = await hs('sources', '--help');
    assert.equal(group.code, EXIT.ok);
    assert.equal(group.stdout, (await hs('help', 'sources')).stdout);
    assert.notEqual(group.stdout, globalHelp(COMMANDS));
    for (const sub of ['list', 'get <id>', 'create -f file', 'update -f file', 'rotate-secret <id>', 'delete <id> [--yes]']) {
      assert.ok(group.stdout.includes(`hs sources ${sub}`), sub);
    }
    const all = await hs('--help');
    assert.equal(all.code, EXIT.ok);
    assert.equal(all.stdout, (await hs('help')).stdout);
    for (const spec of COMMANDS) assert.ok(all.stdout.includes(`  ${spec.path.join(' ')} `), spec.path.join(' '));
  });

  it('hs: every command in the table has help listing its arguments, each option it takes and its examples', () => {
    const paths = new Set<string>();
    for (const spec of COMMANDS) {
      const name = spec.path.join(' ');
      assert.ok(!paths.has(name), `${name} defined twice`);
      paths.add(name);
      const parsed = parseCommandLine(COMMANDS, [...spec.path, '--help'], '0.0.0');
      assert.deepEqual(parsed, { kind: 'print', text: commandHelp(spec) }, name);
      const text = commandHelp(spec);
      for (const a of spec.args ?? [])
        assert.match(text, new RegExp(`\\n  ${a.name}\\s+${a.description.slice(0, 10)}`), `${name}: ${a.name}`);
      for (const f of acceptedFlags(spec)) assert.ok(text.includes(`--${f.name}`), `${name}: --${f.name}`);
      for (const e of spec.examples) assert.ok(text.includes(`  ${e}\n`), `${name}: ${e}`);
      assert.equal(spec.summary, spec.summary.trim());
    }
    for (const group of ['sources', 'endpoints', 'schemas', 'dlq', 'events', 'completion']) {
      const text = groupHelp(COMMANDS, group);
      for (const spec of COMMANDS.filter((c) => c.path[0] === group))
        assert.ok(text.includes(spec.summary), `${group}: ${spec.path.join(' ')}`);
    }
  });

  it('hs: a command line the table accepts runs with its values and positionals', () => {
    const parsed = parseCommandLine(COMMANDS, ['dlq', '--stage', 'deliver', 'purge', '--endpoint', 'billing', '-y'], '0.0.0');
    assert.equal(parsed.kind, 'run');
    assert.ok(parsed.kind === 'run');
    assert.deepEqual(parsed.spec.path, ['dlq', 'purge']);
    assert.deepEqual(parsed.positionals, ['dlq', 'purge']);
    assert.deepEqual({ ...parsed.values }, { stage: 'deliver', endpoint: 'billing', yes: true });
  });
});
