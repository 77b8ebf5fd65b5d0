import { Header } from '@hookstream/contracts';
import { type SourceConfig, sourcePolicy } from '@hookstream/models';
import { envelopeOf, type Outcome, type StageMessage, senderHeader } from '@hookstream/runtime';
import { idempotencyKey, kvKey } from './key.ts';

/**
 * The stages whose dead letters never reached `events.*`: dedup's own (the
 * event was claimed, then could not be forwarded) and validate's (rejected
 * before route). A claim held by such an event is released, so a repost of
 * the same provider event is not dropped as a duplicate of one that went
 * nowhere. Route's dead letters are not listed: route may have published the
 * event to `events.*` before it dead-lettered it for one endpoint.
 */
export const RELEASING_STAGES: readonly string[] = Object.freeze(['validate', 'dedup']);

/** Options for {@link ClaimReleaser.releaseIfHeld}. */
export interface ReleaseOptions {
  /** Keep a claim that records its event's publish to `hs.unique` (the event went on). */
  readonly keepForwarded?: boolean;
}

/** What {@link ClaimReleaser.releaseIfHeld} found: `forwarded` is a claim kept by {@link ReleaseOptions.keepForwarded}. */
export type ReleaseResult = 'released' | 'held-by-another' | 'absent' | 'forwarded';

/** The dedup bucket as a release needs it. */
export interface ClaimReleaser {
  /**
   * Deletes the claim on `key` only when it is held by `eventId` (a
   * compare-and-delete on its revision) and, with `keepForwarded`, does not
   * record a publish to `hs.unique`. Resolves to what it found; throws when
   * the bucket does (the caller retries).
   */
  releaseIfHeld(key: string, eventId: string, options?: ReleaseOptions): Promise<ReleaseResult>;
}

/** What {@link releaseDeadLetter} needs. */
export interface ReleaseDeps {
  readonly source: (id: string) => SourceConfig | undefined;
  readonly claims: ClaimReleaser;
  readonly now: () => number;
  /** Counts a released claim. */
  readonly released: (eventId: string, stage: string) => void;
}

/**
 * Handles one dead letter of a {@link RELEASING_STAGES} stage: finds the
 * idempotency key the event was claimed under (`hs-idempotency-key`, which
 * dedup set on everything it forwarded; for dedup's own dead letters, derived
 * from the body as dedup derives it) and releases the claim if this event
 * still holds it. A dedup dead letter of an event whose claim records that
 * it was forwarded releases nothing: that event went on (an earlier
 * delivery of it was published, then this one failed). Always acks; throws
 * when the bucket fails (retried).
 */
export async function releaseDeadLetter(msg: StageMessage, deps: ReleaseDeps): Promise<Outcome> {
  const stage = msg.header(Header.dlqStage) ?? '';
  if (!RELEASING_STAGES.includes(stage)) return { kind: 'ack' };
  const eventId = msg.header(Header.eventId);
  if (eventId === undefined) return { kind: 'ack' };
  const { sourceId } = envelopeOf(msg, deps.now());
  let key = msg.header(Header.idempotencyKey);
  if (key === undefined) {
    // A reduced dead letter (no body) cannot be keyed again: leave its claim to expire.
    if (msg.data.length === 0) return { kind: 'ack' };
    const source = deps.source(sourceId);
    let locator: ReturnType<typeof sourcePolicy>['idempotencyKey'];
    try {
      locator = source === undefined ? undefined : sourcePolicy(source).idempotencyKey;
    } catch {
      locator = undefined;
    }
    key = idempotencyKey(sourceId, locator, msg.data, senderHeader(msg)).value;
  }
  const found = await deps.claims.releaseIfHeld(kvKey(sourceId, key), eventId, { keepForwarded: stage === 'dedup' });
  if (found === 'released') deps.released(eventId, stage);
  return { kind: 'ack' };
}
