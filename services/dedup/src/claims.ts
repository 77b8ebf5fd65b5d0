/** What the dedup bucket holds for a key: who was first, and when. */
export interface Claim {
  readonly event_id: string;
  readonly first_seen_ms: number;
}

/** A KV entry as {@link ClaimStore} sees it. */
export interface StoredClaim {
  readonly claim: Claim;
  readonly revision: number;
}

/**
 * The dedup bucket as the decision needs it. `create` must be atomic: it
 * resolves true when the key was absent (or deleted) and this call wrote it,
 * false when the key exists. `replace` is a compare-and-set on `revision`.
 */
export interface ClaimStore {
  create(key: string, claim: Claim): Promise<boolean>;
  get(key: string): Promise<StoredClaim | undefined>;
  replace(key: string, claim: Claim, revision: number): Promise<boolean>;
}

/** The outcome of {@link claimKey}. */
export type ClaimResult =
  | { readonly kind: 'first'; readonly reason: 'new' | 'own-retry' | 'expired' }
  | { readonly kind: 'duplicate'; readonly firstEventId: string; readonly ageMs: number };

/**
 * Claims `key` for `eventId`. Order of operations, so that a crash repeats a
 * step and never loses one:
 * 1. `create` the key with this event id. Written: first occurrence.
 * 2. Exists and holds this same event id: this message claimed it before and
 *    crashed (or was redelivered) before publishing. It is still the first.
 * 3. Exists, another event id, older than this source's window: expired (the
 *    bucket's TTL can be longer than a source's window); take it over with a
 *    compare-and-set, so of two racers only one wins.
 * 4. Otherwise: a duplicate of the event that holds the key.
 * Throws when the store does (the worker retries).
 */
export async function claimKey(store: ClaimStore, key: string, eventId: string, nowMs: number, windowMs: number): Promise<ClaimResult> {
  const claim: Claim = { event_id: eventId, first_seen_ms: nowMs };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await store.create(key, claim)) return { kind: 'first', reason: 'new' };
    const current = await store.get(key);
    if (current === undefined) continue; // deleted or expired between the two calls
    if (current.claim.event_id === eventId) return { kind: 'first', reason: 'own-retry' };
    const ageMs = Math.max(0, nowMs - current.claim.first_seen_ms);
    if (ageMs < windowMs) return { kind: 'duplicate', firstEventId: current.claim.event_id, ageMs };
    if (await store.replace(key, claim, current.revision)) return { kind: 'first', reason: 'expired' };
    // Lost a race to replace it: look again.
  }
  throw new Error(`could not settle dedup key ${key} after 5 attempts`);
}
