/**
 * How big a message can get on its way through the pipeline, so that
 * ingest's body limit can be checked against the NATS server's
 * `max_payload` (which counts the header block and the body together).
 *
 * NATS encodes a header block as `NATS/1.0`, then `\r\n{name}: {value}`
 * per value, then `\r\n\r\n`, in UTF-8. Every header a stage may add is
 * listed in {@link STAGE_HEADER_BOUNDS} with the longest value it can
 * carry and what enforces that bound; the sum is the room the pipeline needs
 * on top of a body and the sender's captured headers.
 */
import { Header, MSG_ID_HEADER, TaskHeader } from '@hookstream/contracts';

/** `NATS/1.0` and the closing `\r\n\r\n`. */
export const HEADER_FRAMING_BYTES = 12;

/** Bytes one header value takes in a NATS header block: `\r\n`, name, `: `, value (UTF-8). */
export function headerLineBytes(name: string, value: string): number {
  return 4 + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
}

/** One header a stage may add, the longest value it can have (UTF-8 bytes), and why it cannot be longer. */
export interface HeaderBound {
  readonly name: string;
  readonly maxValueBytes: number;
  readonly setBy: string;
  readonly boundBy: string;
}

// A JavaScript string of n UTF-16 code units encodes to at most 3n UTF-8 bytes
// (a surrogate pair, two units, is four bytes).
const utf8Max = (codeUnits: number): number => 3 * codeUnits;

/**
 * Every header any stage sets, at its longest. A message carries at most one
 * value of each (stages `set`, never `append`, these), so the sum bounds the
 * whole set, dead letters and replays included. Keep it in step with the
 * stages: `limits.test.ts` builds the longest real header set and checks it
 * against {@link STAGE_HEADERS_MAX_BYTES}.
 */
export const STAGE_HEADER_BOUNDS: readonly HeaderBound[] = Object.freeze([
  { name: Header.eventId, maxValueBytes: 36, setBy: 'ingest', boundBy: 'a UUIDv7' },
  { name: Header.source, maxValueBytes: 64, setBy: 'ingest', boundBy: 'source ids are [A-Za-z0-9_-]{1,64}' },
  { name: Header.receivedAt, maxValueBytes: 16, setBy: 'ingest', boundBy: 'epoch milliseconds' },
  { name: Header.traceparent, maxValueBytes: 55, setBy: 'every stage', boundBy: 'W3C trace context version 00' },
  {
    name: MSG_ID_HEADER,
    maxValueBytes: 512,
    setBy: 'every publish',
    boundBy: 'event id + ids of at most 64 (endpoint), a stage name, a 32-character namespace and a DLQ subject',
  },
  { name: Header.verifiedSecretId, maxValueBytes: 256, setBy: 'verify', boundBy: 'secret ids (operator-set; keep them short)' },
  { name: Header.idempotencyKey, maxValueBytes: 1024, setBy: 'dedup', boundBy: 'dedup falls back to a body hash for a longer key' },
  { name: Header.eventType, maxValueBytes: utf8Max(256), setBy: 'validate', boundBy: 'validate refuses a type over 256 characters' },
  { name: Header.endpointId, maxValueBytes: 64, setBy: 'route', boundBy: 'endpoint ids are [A-Za-z0-9_-]{1,64}' },
  { name: Header.lane, maxValueBytes: 3, setBy: 'route', boundBy: 'at most 256 lanes' },
  { name: TaskHeader.attempt, maxValueBytes: 10, setBy: 'deliver', boundBy: 'a count' },
  { name: TaskHeader.notBefore, maxValueBytes: 16, setBy: 'deliver', boundBy: 'epoch milliseconds' },
  { name: TaskHeader.requeues, maxValueBytes: 10, setBy: 'deliver', boundBy: 'a count' },
  { name: Header.replay, maxValueBytes: 128, setBy: 'control (replays)', boundBy: '`dlq-{sequence}` or a request id of at most 64' },
  { name: Header.replayedAt, maxValueBytes: 16, setBy: 'control (replays)', boundBy: 'epoch milliseconds' },
  { name: Header.dlqStage, maxValueBytes: 16, setBy: 'dead letters', boundBy: 'a stage name' },
  { name: Header.dlqReason, maxValueBytes: 64, setBy: 'dead letters', boundBy: 'a reason from a closed set' },
  { name: Header.dlqDetail, maxValueBytes: utf8Max(2_000), setBy: 'dead letters', boundBy: 'cut to 2,000 characters' },
  { name: Header.dlqSubject, maxValueBytes: 256, setBy: 'dead letters', boundBy: 'a stage input subject: namespace + hs.* + an id of 64' },
  { name: Header.dlqAt, maxValueBytes: 16, setBy: 'dead letters', boundBy: 'epoch milliseconds' },
  { name: Header.dlqDeliveries, maxValueBytes: 10, setBy: 'dead letters', boundBy: 'a count' },
  { name: Header.dlqReduced, maxValueBytes: 16, setBy: 'reduced dead letters', boundBy: 'a fixed word' },
  { name: Header.dlqBodyBytes, maxValueBytes: 10, setBy: 'reduced dead letters', boundBy: 'a size' },
  { name: Header.dlqOriginStream, maxValueBytes: 64, setBy: 'reduced dead letters', boundBy: 'a stream name' },
  { name: Header.dlqOriginSeq, maxValueBytes: 20, setBy: 'reduced dead letters', boundBy: 'a stream sequence' },
]);

/**
 * The most bytes the headers stages add can take, framing included
 * (the sender's captured `hs-h-*` headers come on top; ingest caps those).
 */
export const STAGE_HEADERS_MAX_BYTES: number =
  HEADER_FRAMING_BYTES + STAGE_HEADER_BOUNDS.reduce((n, b) => n + 4 + Buffer.byteLength(b.name) + b.maxValueBytes, 0);

/**
 * The room a message needs on top of its body, from ingest to the DLQ: the
 * stages' headers ({@link STAGE_HEADERS_MAX_BYTES}) plus the captured
 * sender headers, which ingest keeps within `capturedHeaderBytes`.
 */
export function envelopeHeadroomBytes(capturedHeaderBytes: number): number {
  return STAGE_HEADERS_MAX_BYTES + capturedHeaderBytes;
}

/**
 * Whether a body limit fits the server's `max_payload` with the envelope
 * headroom: undefined when it does, else a sentence naming the numbers and
 * the largest body limit that would fit. Pure.
 */
export function bodyLimitProblem(maxBodyBytes: number, maxPayload: number, capturedHeaderBytes: number): string | undefined {
  const headroom = envelopeHeadroomBytes(capturedHeaderBytes);
  if (maxBodyBytes + headroom <= maxPayload) return undefined;
  return (
    `the body limit ${maxBodyBytes} bytes plus the envelope headroom ${headroom} bytes ` +
    `(${capturedHeaderBytes} for captured sender headers + ${STAGE_HEADERS_MAX_BYTES} for the headers stages add) ` +
    `does not fit the NATS server's max_payload of ${maxPayload} bytes: ` +
    `set the body limit to at most ${Math.max(0, maxPayload - headroom)} bytes or raise max_payload`
  );
}
