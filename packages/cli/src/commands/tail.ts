import { tail as tailSubject } from '../tail.ts';
import { type Command, positiveInt, UsageError } from './command.ts';

/** `hs tail [subject]`: prints what is published (needs HS_NATS_URL) until aborted or `--count`. */
export const tail: Command = async ({ command, v, io }) => {
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
};
