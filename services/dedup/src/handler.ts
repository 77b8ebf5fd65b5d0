import type { DuplicateRecord } from '@hookstream/contracts';
import { type SourceConfig, sourcePolicy } from '@hookstream/models';
import { envelopeOf, type Outcome, type StageMessage, senderHeader } from '@hookstream/runtime';
import { type ClaimStore, claimKey, markForwarded } from './claims.ts';
import { idempotencyKey, kvKey } from './key.ts';

/** An `hs.verified.{source}` message as dedup's handler reads it. */
export type VerifiedMessage = StageMessage;

/** The I/O dedup's handler needs. */
export interface DedupDeps {
  readonly source: (id: string) => SourceConfig | undefined;
  readonly claims: ClaimStore;
  /** Publishes the first occurrence to `hs.unique.{source}` with the key; resolves on JetStream's ack. */
  readonly forward: (msg: VerifiedMessage, eventId: string, sourceId: string, key: string) => Promise<void>;
  readonly recordDuplicate: (record: DuplicateRecord) => Promise<void>;
  /** Writes the `hs_lookup` entry (idempotency key -> this event, contracts `lookupKey`); resolves once stored. */
  readonly index: (eventId: string, sourceId: string, key: string) => Promise<void>;
  /** Counts a copy of an event that had gone on already (acked, nothing published). */
  readonly repeated: (eventId: string) => void;
  readonly now: () => number;
  /** Window when the source sets none. */
  readonly defaultWindowMs: number;
  /** The bucket's max age: no window can be longer. */
  readonly maxWindowMs: number;
}

const HOUR_MS = 3_600_000;

/**
 * Handles one verified message: derives the idempotency key, indexes it
 * (`hs_lookup`, so FindEvents answers for it: first, duplicate or later
 * dead-lettered alike), claims it in the dedup bucket (see {@link claimKey} for the crash-safe order), and then:
 * 1. a first occurrence is forwarded, and once JetStream acknowledged that,
 *    the claim records it ({@link markForwarded});
 * 2. a copy of the event that holds the claim and has gone on already (a
 *    redelivery after a crash or a lost ack) publishes nothing;
 * 3. a duplicate is recorded.
 * Acks in every case. Ages are measured between the times ingest received
 * the two deliveries. Throws when the bucket or a publish fails (the worker
 * retries with a delay; a retry finds its own claim and goes on).
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
  await deps.index(eventId, sourceId, key.value);
  const claimed = kvKey(sourceId, key.value);
  const result = await claimKey(deps.claims, claimed, eventId, receivedAtMs, windowMs);
  if (result.kind === 'first') {
    await deps.forward(msg, eventId, sourceId, key.value);
    await markForwarded(deps.claims, claimed, result.claim, result.revision, deps.now());
    return { kind: 'ack' };
  }
  if (result.kind === 'forwarded') {
    deps.repeated(eventId);
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
