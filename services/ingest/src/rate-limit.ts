import type { RateLimit } from '@hookstream/models';

interface Bucket {
  tokens: number;
  updatedMs: number;
  perSecond: number;
  burst: number;
}

/** Result of {@link TokenBuckets.take}. */
export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/**
 * One token bucket per key (source id), refilled continuously at `perSecond`
 * up to `burst`. Pure arithmetic on an injected clock; no timers. A changed
 * limit for a key takes effect on its next request.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();

  /** Takes one token for `key`, or says how many whole seconds until one is free. */
  take(key: string, limit: RateLimit, nowMs: number): TakeResult {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined || bucket.perSecond !== limit.perSecond || bucket.burst !== limit.burst) {
      bucket = { tokens: limit.burst, updatedMs: nowMs, perSecond: limit.perSecond, burst: limit.burst };
      this.#buckets.set(key, bucket);
    }
    const elapsed = Math.max(0, nowMs - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + elapsed * bucket.perSecond);
    bucket.updatedMs = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    const wait = (1 - bucket.tokens) / bucket.perSecond;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(wait)) };
  }

  /** Forgets buckets of keys no longer configured. */
  retain(keep: (key: string) => boolean): void {
    for (const key of this.#buckets.keys()) if (!keep(key)) this.#buckets.delete(key);
  }
}
