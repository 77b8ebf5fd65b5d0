import { createHash } from 'node:crypto';
import type { Locator } from '@hookstream/signing';
import { locate } from '@hookstream/signing';

/** Longest provider key used as is (UTF-8 bytes); a longer one falls back to the body hash. */
export const MAX_PROVIDER_KEY_BYTES = 1024;

// A key travels as the hs-idempotency-key header: NATS refuses CR/LF in a
// header value and trims spaces at either end (which would make two keys one,
// and the header differ from the claim). Such a key is not used as is.
function unsafeInHeader(key: string): boolean {
  if (/^\s|\s$/.test(key)) return true;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** The provider-level key of one delivery, and where it came from. */
export interface IdempotencyKey {
  /** The key itself: the provider's id, or `sha256:<hex>` of source and body. */
  readonly value: string;
  readonly origin: 'provider' | 'body-hash';
}

/**
 * Finds a delivery's idempotency key: the source's locator (a header, or a
 * JSON path into the body, parsed only when needed) when it is at most
 * {@link MAX_PROVIDER_KEY_BYTES} and fits a NATS header as is (no control
 * characters, no space at either end), else the SHA-256 of the source id and
 * the body bytes, so that identical re-sends still collapse.
 * Pure; never throws.
 */
export function idempotencyKey(
  sourceId: string,
  locator: Locator | undefined,
  body: Uint8Array,
  senderHeader: (name: string) => string | undefined,
): IdempotencyKey {
  if (locator !== undefined) {
    let json: unknown;
    if (locator.from === 'json') {
      try {
        json = JSON.parse(new TextDecoder().decode(body));
      } catch {
        json = undefined;
      }
    }
    const found = locate(locator, senderHeader, json);
    // In bytes: the key travels as the hs-idempotency-key header, and the
    // envelope headroom (runtime limits.ts) counts it as at most 1,024.
    if (found !== undefined && Buffer.byteLength(found, 'utf8') <= MAX_PROVIDER_KEY_BYTES && !unsafeInHeader(found)) {
      return { value: found, origin: 'provider' };
    }
  }
  const hash = createHash('sha256').update(sourceId).update('\n').update(body).digest('hex');
  return { value: `sha256:${hash}`, origin: 'body-hash' };
}
