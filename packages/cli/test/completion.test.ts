import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { EXIT, runCli } from '../src/cli.ts';
import { COMMANDS } from '../src/command-table.ts';
import { acceptedFlags } from '../src/help.ts';
import { recordingIo } from './fake-io.ts';

async function script(shell: string): Promise<string> {
  const io = recordingIo();
  assert.equal(await runCli(['completion', shell], io), EXIT.ok);
  return io.out();
}

/** What bash completes for `words` (the last one is the word under the cursor), with the script `hs completion bash` prints. */
function complete(bashScript: string, ...words: string[]): string[] {
  const program = `${bashScript}\nCOMP_WORDS=(hs "$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _hs_completion; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['-c', program, 'bash', ...words], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

describe('hs completion', () => {
  it("hs completion bash: real bash completes commands, subcommands and each command's options from the table", async () => {
    const bash = await script('bash');
    assert.ok(bash.includes('complete -F _hs_completion hs'));
    assert.deepEqual(complete(bash, 'so'), ['sources']);
    assert.deepEqual(complete(bash, 'e'), ['endpoints', 'events']);
    assert.deepEqual(complete(bash, 'endpoints', ''), [
      'list',
      'get',
      'create',
      'update',
      'enable',
      'disable',
      'rotate-secret',
      'delete',
      '--help',
    ]);
    assert.deepEqual(complete(bash, 'dlq', 'purge', '--'), [
      '--stage',
      '--source',
      '--endpoint',
      '--reason',
      '--all',
      '--yes',
      '--json',
      '--url',
      '--token',
      '--help',
    ]);
    // An option's value is not taken for a command word.
    assert.deepEqual(complete(bash, 'dlq', '--stage', 'deliver', 'list', '--li'), ['--limit']);
    assert.deepEqual(complete(bash, 'sources', 'list', '--'), ['--json', '--url', '--token', '--help']);
    assert.deepEqual(complete(bash, 'dlq', 'list', '--stage', ''), []);
    for (const spec of COMMANDS) {
      const words = complete(bash, ...spec.path, '--');
      assert.deepEqual(
        words,
        acceptedFlags(spec).map((f) => `--${f.name}`),
        spec.path.join(' '),
      );
    }
  });

  it('hs completion zsh: a #compdef script with every command, its summary and its options', async () => {
    const zsh = await script('zsh');
    assert.ok(zsh.startsWith('#compdef hs\n'));
    assert.ok(zsh.includes("'sources:where webhooks come from\\: verification scheme and secrets'"));
    for (const spec of COMMANDS) {
      const key = spec.path.join(' ');
      const line = zsh.split('\n').find((l) => l.startsWith(`    "${key}"|"${key} "*) opts=(`));
      assert.ok(line !== undefined, key);
      for (const f of acceptedFlags(spec)) assert.ok(line.includes(`'--${f.name}:`), `${key} --${f.name}`);
      if (spec.path.length === 2) assert.ok(zsh.includes(`'${spec.path[1]}:`), key);
    }
    // zsh is not on every machine; bash -n at least catches unbalanced quotes, cases and braces.
    execFileSync('bash', ['-n', '-c', zsh]);
  });

  it('hs completion: another shell is a usage error with a did-you-mean', async () => {
    const io = recordingIo();
    assert.equal(await runCli(['completion', 'zhs'], io), EXIT.usage);
    assert.match(io.err(), /^hs: unknown command 'zhs' for 'hs completion'; did you mean 'zsh'\?/);
  });
});
