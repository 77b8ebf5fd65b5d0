import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';

/**
 * Every message currently stored in a stream (optionally only one subject),
 * read by sequence with direct gets. For tests with up to a few thousand
 * messages.
 */
export async function storedMessages(jsm: JetStreamManager, stream: string, subject?: string): Promise<StoredMsg[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg === null) continue; // deleted (acked from a work queue)
    if (subject !== undefined && msg.subject !== subject) continue;
    out.push(msg);
  }
  return out;
}
