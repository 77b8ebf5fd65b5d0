import { Header } from '@hookstream/contracts';
import { connect, type MsgHdrs } from '@nats-io/transport-node';

/** Options for {@link tail}. */
export interface TailOptions {
  readonly natsUrl: string;
  readonly subject: string;
  /** Stop after this many messages; 0 runs until `signal` aborts. */
  readonly count: number;
  readonly signal: AbortSignal;
  readonly out: { write(text: string): unknown };
  /** Told once the subscription is in place. */
  readonly onReady?: () => void;
}

const SUMMARY = [Header.eventId, Header.source, Header.eventType, Header.endpointId];

/** One message as `tail` prints it: subject and envelope headers, then the body on one line (at most 500 characters). Pure. */
export function formatTailMessage(subject: string, h: MsgHdrs | undefined, data: Uint8Array): string {
  const fields = SUMMARY.flatMap((name) => {
    const value = h?.get(name);
    return value === undefined || value === '' ? [] : [`${name}=${value}`];
  });
  const body = new TextDecoder().decode(data).replace(/\s*[\r\n]+\s*/g, ' ');
  return `${[subject, ...fields].join('  ')}\n  ${body.length > 500 ? `${body.slice(0, 500)}…` : body}\n`;
}

/**
 * Subscribes (core NATS, no JetStream consumer: nothing is acknowledged or
 * kept) to `subject` and prints each message. Resolves after `count`
 * messages or when `signal` aborts; rejects when NATS cannot be reached.
 */
export async function tail(options: TailOptions): Promise<number> {
  const nc = await connect({ servers: options.natsUrl.split(','), name: 'hs tail' });
  let seen = 0;
  try {
    const sub = nc.subscribe(options.subject, options.count > 0 ? { max: options.count } : {});
    const stop = () => sub.unsubscribe();
    options.signal.addEventListener('abort', stop, { once: true });
    await nc.flush();
    options.onReady?.();
    for await (const m of sub) {
      options.out.write(formatTailMessage(m.subject, m.headers, m.data));
      seen++;
    }
    options.signal.removeEventListener('abort', stop);
  } finally {
    await nc.drain();
  }
  return seen;
}
