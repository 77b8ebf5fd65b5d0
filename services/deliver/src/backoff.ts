import type { RetryPolicy } from '@hookstream/models';

/**
 * The delay before attempt `attempt + 1` after attempt `attempt` (1-based)
 * failed: exponential backoff with full jitter, `random() * min(maxDelayMs,
 * initialDelayMs * 2^(attempt-1))`, but never less than `retryAfterMs` when
 * the endpoint sent one. `random` answers in [0, 1). Pure.
 */
export function nextDelayMs(attempt: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number): number {
  const exponent = Math.min(Math.max(0, attempt - 1), 52);
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exponent);
  const jittered = Math.floor(random() * cap);
  return retryAfterMs !== undefined && retryAfterMs > jittered ? retryAfterMs : jittered;
}

/**
 * Parses a `Retry-After` value: delta seconds (`120`) or an HTTP-date,
 * relative to `nowMs`. Answers milliseconds (0 for a date in the past), or
 * undefined when absent or unparseable. Pure.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Whether there is still time for another attempt `delayMs` from now: the
 * event was received at `receivedAtMs` and is given up `maxAgeMs` later. Pure.
 */
export function withinRetryWindow(receivedAtMs: number, nowMs: number, delayMs: number, policy: RetryPolicy): boolean {
  return nowMs + delayMs <= receivedAtMs + policy.maxAgeMs;
}
