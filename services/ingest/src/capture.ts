import { Header } from '@hookstream/contracts';
import { type MsgHdrs, headers as newHeaders } from '@nats-io/transport-node';

/** The envelope fields ingest assigns. */
export interface EnvelopeStart {
  readonly eventId: string;
  readonly sourceId: string;
  readonly receivedAtMs: number;
}

/**
 * Builds the NATS headers of a raw message: the envelope (`hs-event-id`,
 * `hs-source`, `hs-received-at`) and the sender's headers as
 * `hs-h-{lower-case name}`, in arrival order, repeated names appended.
 * `rawHeaders` is node's flat [name, value, ...] list; names in `drop`
 * (lower case) are left out.
 */
export function buildRawHeaders(start: EnvelopeStart, rawHeaders: readonly string[], drop: ReadonlySet<string>): MsgHdrs {
  const h = newHeaders();
  h.set(Header.eventId, start.eventId);
  h.set(Header.source, start.sourceId);
  h.set(Header.receivedAt, String(start.receivedAtMs));
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (drop.has(name)) continue;
    h.append(Header.httpPrefix + name, rawHeaders[i + 1] as string);
  }
  return h;
}

/**
 * The bytes the captured sender headers take in a NATS header block (each
 * value as `\r\nhs-h-{name}: {value}`, UTF-8): what ingest holds to
 * `HS_INGEST_MAX_HEADER_BYTES`, part of the envelope headroom checked
 * against the server's `max_payload`. Same arguments as {@link buildRawHeaders}. Pure.
 */
export function capturedHeaderBytes(rawHeaders: readonly string[], drop: ReadonlySet<string>): number {
  let bytes = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (drop.has(name.toLowerCase())) continue;
    // The client trims values; node already has.
    bytes += 4 + Header.httpPrefix.length + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(rawHeaders[i + 1] as string, 'utf8');
  }
  return bytes;
}
