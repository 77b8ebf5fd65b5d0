import type { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './bytes.ts';
import type { HmacAlgorithm, RejectionReason, Secret, VerifyInput, VerifyResult } from './types.ts';

/** A successful verification by the secret `secretId`. */
export function accepted(secretId: string | undefined): VerifyResult {
  return { ok: true, secretId };
}

/** A rejection; `detail` must never carry a secret or an expected signature. */
export function rejected(reason: RejectionReason, detail: string): VerifyResult {
  return { ok: false, reason, detail };
}

// The secret window is a contract (deliver signs by it too): defined once, in
// the contracts package.
export { activeSecrets, isSecretActive } from '@hookstream/contracts';

/** A header's value, trimmed; undefined when absent or blank. */
export function readHeader(input: VerifyInput, name: string): string | undefined {
  const value = input.header(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

const DIGITS = /^\d{1,16}$/;

/** Unix timestamp from a header value; `auto` reads values above 1e12 as milliseconds. Undefined when not a plain integer. */
export function parseTimestampMs(text: string, unit: 'seconds' | 'auto'): number | undefined {
  if (!DIGITS.test(text)) return undefined;
  const value = Number(text);
  return unit === 'auto' && value > 1e12 ? value : value * 1000;
}

/** A `stale_timestamp` rejection when `timestampMs` is more than the tolerance before or after now; undefined when fresh. */
export function checkFreshness(timestampMs: number, nowMs: number, toleranceSeconds: number): VerifyResult | undefined {
  const skewMs = nowMs - timestampMs;
  if (Math.abs(skewMs) <= toleranceSeconds * 1000) return undefined;
  const direction = skewMs > 0 ? 'old' : 'in the future';
  return rejected(
    'stale_timestamp',
    `timestamp is ${Math.ceil(Math.abs(skewMs) / 1000)} s ${direction}; at most ${toleranceSeconds} s either way is accepted`,
  );
}

/** HMAC of `content` keyed with `key` (a string is used as its UTF-8 bytes). */
export function hmac(algorithm: HmacAlgorithm, key: string | Uint8Array, content: Uint8Array): Buffer {
  return createHmac(algorithm, key).update(content).digest();
}

/**
 * The id of the first secret whose HMAC over `content` equals one of
 * `signatures`, or undefined. Every pair is compared, in constant time, so
 * the time taken does not depend on which secret or signature matched.
 */
export function matchHmac(
  algorithm: HmacAlgorithm,
  secrets: readonly Secret[],
  content: Uint8Array,
  signatures: readonly Uint8Array[],
  keyOf: (secret: Secret) => string | Uint8Array | undefined = (s) => s.value,
): string | undefined {
  let match: string | undefined;
  for (const secret of secrets) {
    const key = keyOf(secret);
    if (key === undefined) continue;
    const expected = hmac(algorithm, key, content);
    for (const signature of signatures) {
      if (constantTimeEqual(expected, signature) && match === undefined) match = secret.id;
    }
  }
  return match;
}
