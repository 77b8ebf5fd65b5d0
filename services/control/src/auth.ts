import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

/**
 * Whether call metadata carries `authorization: Bearer <token>`. The
 * comparison is constant-time over SHA-256 digests, so neither the token's
 * content nor its length leaks through timing. Pure.
 */
export function hasBearer(metadata: Metadata, token: string): boolean {
  const values = metadata.get('authorization');
  if (values.length !== 1) return false;
  const header = String(values[0]);
  const match = /^Bearer (.+)$/i.exec(header.trim());
  if (match === null) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(match[1] as string), digest(token));
}
