import { tail as tailSubject } from '../tail.ts';
import { type CommandSpec, positiveInt, UsageError } from './command.ts';

/** `hs tail [subject]`: prints what is published (needs HS_NATS_URL) until aborted or `--count`. */
export const tail: CommandSpec = {
  path: ['tail'],
  summary: 'print what is published on events.> (or a subject) until Ctrl-C; needs HS_NATS_URL',
  args: [{ name: 'subject', optional: true, description: 'a NATS subject (default events.>, prefixed by HS_NAMESPACE)' }],
  flags: ['count'],
  json: false,
  remote: false,
  examples: ['HS_NATS_URL=nats://127.0.0.1:4222 hs tail --count 10'],
  run: async ({ command, v, io }) => {
    const natsUrl = io.env.HS_NATS_URL;
    if (natsUrl === undefined || natsUrl === '') throw new UsageError('hs tail needs HS_NATS_URL');
    const ns = io.env.HS_NAMESPACE ?? '';
    const subject = command !== '' ? command : `${ns === '' ? '' : `${ns}.`}events.>`;
    const seen = await tailSubject({
      natsUrl,
      subject,
      count: v.count === undefined ? 0 : positiveInt(v.count, 'count'),
      signal: io.signal ?? new AbortController().signal,
      out: io.stdout,
      onReady: () => io.stderr.write(`hs: tailing ${subject} on ${natsUrl} (Ctrl-C stops)\n`),
    });
    return { json: { messages: seen }, text: '' };
  },
};
