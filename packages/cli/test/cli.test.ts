import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT, runCli } from '../src/cli.ts';
import { recordingIo } from './fake-io.ts';

// The control-plane URL points at a closed port: a command that gets as far
// as calling the API exits 3 (unavailable), one refused before exits 2.
const env = { HS_CONTROL_URL: '127.0.0.1:1' };

describe('hs: confirmation and colour', () => {
  it('hs: a delete without --yes and without a terminal exits 2 saying so, and sends nothing', async () => {
    for (const argv of [
      ['sources', 'delete', 'stripe'],
      ['endpoints', 'delete', 'billing'],
      ['schemas', 'delete', 'stripe', 'charge.succeeded'],
      ['dlq', 'purge', '42'],
      ['dlq', 'purge', '--stage', 'verify'],
    ]) {
      const io = recordingIo({ env, tty: { stdin: false }, answer: 'y' });
      assert.equal(await runCli(argv, io), EXIT.usage, argv.join(' '));
      assert.match(
        io.err(),
        /^hs: 'hs [a-z ]+' would (delete|purge) .+: pass --yes to confirm \(stdin is not a terminal\)\n$/,
        argv.join(' '),
      );
      assert.deepEqual(io.asked, [], 'no question without a terminal');
    }
    const io = recordingIo({ env });
    assert.equal(await runCli(['dlq', 'purge', '--reason', 'bad_signature'], io), EXIT.usage);
    assert.equal(
      io.err(),
      "hs: 'hs dlq purge' would purge dead letters with reason=bad_signature: pass --yes to confirm (stdin is not a terminal)\n",
    );
  });

  it('hs: on a terminal a delete asks; "n" changes nothing (exit 2), "y" goes on to the API', async () => {
    const no = recordingIo({ env, tty: { stdin: true }, answer: 'n' });
    assert.equal(await runCli(['endpoints', 'delete', 'billing'], no), EXIT.usage);
    assert.deepEqual(no.asked, ['hs: delete endpoint billing? [y/N] ']);
    assert.equal(no.err(), 'hs: not confirmed; nothing was changed\n');
    const yes = recordingIo({ env, tty: { stdin: true }, answer: 'y' });
    assert.equal(await runCli(['endpoints', 'delete', 'billing'], yes), EXIT.unavailable);
    assert.deepEqual(yes.asked, ['hs: delete endpoint billing? [y/N] ']);
    assert.match(yes.err(), /UNAVAILABLE/);
  });

  it('hs: --yes (or -y) skips the question and goes on to the API', async () => {
    for (const flag of ['--yes', '-y']) {
      const io = recordingIo({ env, tty: { stdin: true }, answer: 'n' });
      assert.equal(await runCli(['sources', 'delete', 'stripe', flag], io), EXIT.unavailable);
      assert.deepEqual(io.asked, []);
    }
  });

  it('hs: dlq purge with neither a sequence, a filter nor --all is a usage error', async () => {
    const io = recordingIo({ env });
    assert.equal(await runCli(['dlq', 'purge', '--yes'], io), EXIT.usage);
    assert.match(io.err(), /^hs: give a sequence, a filter \(--stage, --source, --endpoint, --reason\) or --all\nusage: hs dlq purge /);
  });

  it('hs: errors are red on a terminal, plain when NO_COLOR is set or stderr is not a terminal', async () => {
    const tty = recordingIo({ env, tty: { stderr: true } });
    await runCli(['nope'], tty);
    assert.ok(tty.err().startsWith('\x1b[31mhs:\x1b[39m unknown command'), JSON.stringify(tty.err()));
    const noColor = recordingIo({ env: { ...env, NO_COLOR: '1' }, tty: { stderr: true } });
    await runCli(['nope'], noColor);
    assert.ok(noColor.err().startsWith('hs: unknown command'));
    const pipe = recordingIo({ env, tty: { stderr: false } });
    await runCli(['nope'], pipe);
    assert.ok(pipe.err().startsWith('hs: unknown command'));
  });
});
