/** What the dedup bucket holds for a key: who was first, when, and whether it went on. */
export interface Claim {
  readonly event_id: string;
  readonly first_seen_ms: number;
  /**
   * When JetStream acknowledged the claiming event's publish to
   * `hs.unique.{source}` (epoch ms); absent until then, and in claims
   * written before this field existed.
   */
  readonly forwarded_ms?: number;
}

/** A KV entry as {@link ClaimStore} sees it. */
export interface StoredClaim {
  readonly claim: Claim;
  readonly revision: number;
}

/**
 * The dedup bucket as the decision needs it. `create` must be atomic: it
 * resolves to the new entry's revision when the key was absent (or deleted)
 * and this call wrote it, undefined when the key exists. `replace` is a
 * compare-and-set on `revision`: the new revision, or undefined when the key
 * has changed since. Both throw when the bucket does.
 */
export interface ClaimStore {
  create(key: string, claim: Claim): Promise<number | undefined>;
  get(key: string): Promise<StoredClaim | undefined>;
  replace(key: string, claim: Claim, revision: number): Promise<number | undefined>;
}

/** The outcome of {@link claimKey}. */
export type ClaimResult =
  /** This event holds the key and has not gone on yet: forward it, then {@link markForwarded}. */
  | { readonly kind: 'first'; readonly reason: 'new' | 'own-retry' | 'expired'; readonly claim: Claim; readonly revision: number }
  /** This event holds the key and its forward was acknowledged already (a redelivery, or a repeated upstream step): publish nothing. */
  | { readonly kind: 'forwarded'; readonly forwardedMs: number }
  | { readonly kind: 'duplicate'; readonly firstEventId: string; readonly ageMs: number };

/**
 * Claims `key` for `eventId`. Order of operations, so that a crash repeats a
 * step and never loses one:
 * 1. `create` the key with this event id. Written: first occurrence.
 * 2. Exists and holds this same event id: this event claimed it before (a
 *    redelivery after a crash or a lost ack, or the same event published
 *    again upstream), whichever copy dedup sees first now. It is still the
 *    first occurrence: `forwarded` when the claim records that its publish
 *    was acknowledged, else `first` (own-retry) and it is forwarded again.
 * 3. Exists, another event id, older than this source's window: expired (the
 *    bucket's TTL can be longer than a source's window); take it over with a
 *    compare-and-set, so of two racers only one wins.
 * 4. Otherwise: a duplicate of the event that holds the key. The age is
 *    `nowMs` minus the holder's `first_seen_ms`, and 0 when this copy was
 *    received before the holder (it reached dedup later and never claimed).
 * Throws when the store does (the worker retries).
 */
export async function claimKey(store: ClaimStore, key: string, eventId: string, nowMs: number, windowMs: number): Promise<ClaimResult> {
  const claim: Claim = { event_id: eventId, first_seen_ms: nowMs };
  for (let attempt = 0; attempt < 5; attempt++) {
    const created = await store.create(key, claim);
    if (created !== undefined) return { kind: 'first', reason: 'new', claim, revision: created };
    const current = await store.get(key);
    if (current === undefined) continue; // deleted or expired between the two calls
    if (current.claim.event_id === eventId) {
      const forwardedMs = current.claim.forwarded_ms;
      if (forwardedMs !== undefined) return { kind: 'forwarded', forwardedMs };
      return { kind: 'first', reason: 'own-retry', claim: current.claim, revision: current.revision };
    }
    const ageMs = Math.max(0, nowMs - current.claim.first_seen_ms);
    if (ageMs < windowMs) return { kind: 'duplicate', firstEventId: current.claim.event_id, ageMs };
    const replaced = await store.replace(key, claim, current.revision);
    if (replaced !== undefined) return { kind: 'first', reason: 'expired', claim, revision: replaced };
    // Lost a race to replace it: look again.
  }
  throw new Error(`could not settle dedup key ${key} after 5 attempts`);
}

/**
 * Records on the claim that its event's publish to `hs.unique` was
 * acknowledged, with a compare-and-set on the revision {@link claimKey}
 * answered, so that a redelivery of the event publishes nothing again (a
 * work-queue stream that restarted may no longer know the `Nats-Msg-Id`).
 * Resolves true when written, false when the claim changed since (released,
 * taken over, or marked by another copy of the same event): then nothing is
 * written. Throws when the store does.
 */
export async function markForwarded(store: ClaimStore, key: string, claim: Claim, revision: number, nowMs: number): Promise<boolean> {
  return (await store.replace(key, { ...claim, forwarded_ms: nowMs }, revision)) !== undefined;
}
