import type { CliIo } from '../src/cli.ts';

/** A CliIo that records what `hs` writes; `tty` and `ask` as a test needs them. */
export interface RecordingIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
  /** The questions `ask` was called with. */
  readonly asked: string[];
}

/** A recording CliIo (a fake for pure tests: no terminal, no process streams). */
export function recordingIo(options: { env?: Record<string, string>; tty?: CliIo['tty']; answer?: string } = {}): RecordingIo {
  let out = '';
  let err = '';
  const asked: string[] = [];
  return {
    env: options.env ?? {},
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    ...(options.tty === undefined ? {} : { tty: options.tty }),
    ...(options.answer === undefined
      ? {}
      : {
          ask: async (question: string) => {
            asked.push(question);
            return options.answer ?? '';
          },
        }),
    out: () => out,
    err: () => err,
    asked,
  };
}
