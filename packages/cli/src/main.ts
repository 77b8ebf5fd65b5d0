#!/usr/bin/env node
import { createInterface } from 'node:readline/promises';
import { runCli } from './cli.ts';

const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal,
  tty: { stdin: process.stdin.isTTY, stdout: process.stdout.isTTY, stderr: process.stderr.isTTY },
  ask: async (question) => {
    // The question goes to stderr so that stdout stays the command's answer.
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    // Ctrl-C (read by readline in raw mode, so no SIGINT reaches the process) or
    // the end of input at the question is a "no", not a hang.
    const interrupted = new AbortController();
    rl.once('SIGINT', () => interrupted.abort());
    rl.once('close', () => interrupted.abort());
    try {
      return await rl.question(question, { signal: interrupted.signal });
    } catch (err) {
      if (!interrupted.signal.aborted) throw err;
      process.stderr.write('\n');
      return '';
    } finally {
      rl.close();
    }
  },
});
