import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { waitFor } from './wait.ts';

/**
 * Every message currently stored in a stream (optionally only one subject),
 * read by sequence with direct gets. For tests with up to a few thousand
 * messages. A sequence the stream no longer holds (acked from a work queue,
 * deleted) is skipped; any other failure (a timeout on a busy machine)
 * throws, so a slow read never passes for a missing message.
 */
export async function storedMessages(jsm: JetStreamManager, stream: string, subject?: string): Promise<StoredMsg[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    // null: no message at `seq` (acked from a work queue, deleted). A timeout throws.
    const msg = await jsm.streams.getMessage(stream, { seq });
    if (msg === null) continue;
    if (subject !== undefined && msg.subject !== subject) continue;
    out.push(msg);
  }
  return out;
}

/**
 * Waits until consumer `durable` on `stream` has been handed every message
 * up to stream sequence `throughSeq` (a message on its filter, such as the
 * PubAck's `seq` of the last one a test published) and holds nothing pending
 * or unacknowledged. Checking only `num_pending === 0` right after a publish
 * is not enough: nats-server sends the PubAck before it signals the stream's
 * consumers (another goroutine, `signalConsumersLoop`), so on a busy machine
 * a consumer's info can still read 0 pending for a message already stored.
 */
export async function waitConsumed(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  throughSeq: number,
  timeoutMs = 30_000,
): Promise<void> {
  let last = 'no consumer info';
  try {
    await waitFor(
      `${durable} on ${stream} to consume through ${throughSeq}`,
      async () => {
        const info = await jsm.consumers.info(stream, durable);
        last = `delivered through ${info.delivered.stream_seq}, ${info.num_pending} pending, ${info.num_ack_pending} unacked`;
        return info.delivered.stream_seq >= throughSeq && info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      },
      timeoutMs,
      25,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message} (${last})`, { cause: err });
  }
}
