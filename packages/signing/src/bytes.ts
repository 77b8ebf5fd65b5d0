import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
// Standard alphabet; padding optional because some senders strip it.
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** UTF-8 bytes of a string. */
export function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** Strict hex decode (Buffer.from silently stops at the first bad digit); undefined when not hex. */
export function decodeHex(text: string): Buffer | undefined {
  return HEX.test(text) ? Buffer.from(text, 'hex') : undefined;
}

/** Strict standard-alphabet base64 decode, padding optional; undefined when not base64. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (text.length !== unpadded.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(unpadded, 'base64');
}

/**
 * Constant-time equality of two byte strings. Different lengths are simply
 * "not equal": the length of a signature is public, its content is not.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
