import { createHash } from 'node:crypto';

// The key itself is derived in @hookstream/models (verify indexes a rejected webhook's provider id with it too).
export { type IdempotencyKey, idempotencyKey, MAX_PROVIDER_KEY_BYTES } from '@hookstream/models';

/**
 * The KV key for (source, idempotency key): `{source}.{sha256 hex}`. Hashing
 * keeps any provider id (any characters, any length) a valid, bounded key.
 */
export function kvKey(sourceId: string, key: string): string {
  return `${sourceId}.${createHash('sha256').update(key).digest('hex')}`;
}
