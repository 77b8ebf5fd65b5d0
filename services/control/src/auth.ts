import { timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { bearerToken, tokenDigest } from './console/users.ts';

/**
 * Whether call metadata carries `authorization: Bearer <token>`. The
 * comparison is constant-time over SHA-256 digests, so neither the token's
 * content nor its length leaks through timing. Pure.
 */
export function hasBearer(metadata: Metadata, token: string): boolean {
  const values = metadata.get('authorization');
  if (values.length !== 1) return false;
  const given = bearerToken(String(values[0]));
  return given !== undefined && timingSafeEqual(tokenDigest(given), tokenDigest(token));
}
