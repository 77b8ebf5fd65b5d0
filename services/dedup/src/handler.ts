import { envelopeOf, type Outcome, type SourceConfig, type StageMessage, senderHeader, sourcePolicy } from '@hookstream/runtime';
import { type ClaimStore, claimKey } from './claims.ts';
import { idempotencyKey, kvKey } from './key.ts';

/** An `hs.verified.{source}` message as dedup's handler reads it. */
export type VerifiedMessage = StageMessage;

/** The analytics record of a dropped duplicate, published on `hs.obs.duplicate`. */
export interface DuplicateRecord {
  readonly kind: 'duplicate';
  readonly event_id: string;
  readonly source: string;
  readonly idempotency_key: string;
  readonly first_event_id: string;
  readonly age_ms: number;
  readonly received_at: number;
  readonly at: number;
}

/** The I/O dedup's handler needs. */
export interface DedupDeps {
  readonly source: (id: string) => SourceConfig | undefined;
  readonly claims: ClaimStore;
  /** Publishes the first occurrence to `hs.unique.{source}` with the key; resolves on JetStream's ack. */
  readonly forward: (msg: VerifiedMessage, eventId: string, sourceId: string, key: string) => Promise<void>;
  readonly recordDuplicate: (record: DuplicateRecord) => Promise<void>;
  readonly now: () => number;
  /** Window when the source sets none. */
  readonly defaultWindowMs: number;
  /** The bucket's max age: no window can be longer. */
  readonly maxWindowMs: number;
}

const HOUR_MS = 3_600_000;

/**
 * Handles one verified message: derives the idempotency key, claims it in
 * the dedup bucket (see {@link claimKey} for the crash-safe order), forwards
 * a first occurrence or records a duplicate, and acks either way. Ages are
 * measured between the times ingest received the two deliveries. Throws when
 * the bucket or a publish fails (the worker retries with a delay).
 */
export async function handleVerified(msg: VerifiedMessage, deps: DedupDeps): Promise<Outcome> {
  const { eventId, sourceId, receivedAtMs } = envelopeOf(msg, deps.now());
  const source = deps.source(sourceId);
  let locator: ReturnType<typeof sourcePolicy>['idempotencyKey'];
  try {
    locator = source === undefined ? undefined : sourcePolicy(source).idempotencyKey;
  } catch {
    locator = undefined;
  }
  const key = idempotencyKey(sourceId, locator, msg.data, senderHeader(msg));
  const windowMs = Math.min(
    deps.maxWindowMs,
    source?.dedupWindowHours !== undefined ? source.dedupWindowHours * HOUR_MS : deps.defaultWindowMs,
  );
  const result = await claimKey(deps.claims, kvKey(sourceId, key.value), eventId, receivedAtMs, windowMs);
  if (result.kind === 'first') {
    await deps.forward(msg, eventId, sourceId, key.value);
    return { kind: 'ack' };
  }
  await deps.recordDuplicate({
    kind: 'duplicate',
    event_id: eventId,
    source: sourceId,
    idempotency_key: key.value,
    first_event_id: result.firstEventId,
    age_ms: result.ageMs,
    received_at: receivedAtMs,
    at: deps.now(),
  });
  return { kind: 'ack' };
}
