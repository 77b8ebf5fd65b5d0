import { Buffer } from 'node:buffer';
import { decodeBase64, decodeHex, utf8 } from './bytes.ts';
import { accepted, checkFreshness, matchHmac, parseTimestampMs, readHeader, rejected } from './common.ts';
import type { HmacAlgorithm, Secret, VerifyInput, VerifyResult } from './types.ts';

/**
 * One HMAC over the body (or over a template around it) carried in one
 * header. The generic `hmac` scheme and the fixed provider schemes (GitHub,
 * Shopify, Slack, Razorpay) all resolve to this.
 */
export interface HmacSpec {
  readonly header: string;
  readonly algorithm: HmacAlgorithm;
  readonly encoding: 'hex' | 'base64';
  readonly prefix?: string;
  readonly timestampHeader?: string;
  readonly template?: string;
  readonly toleranceSeconds: number;
  /** `auto` reads timestamps above 1e12 as milliseconds. */
  readonly timestampUnit: 'seconds' | 'auto';
}

const PLACEHOLDER = /\{timestamp\}|\{body\}/g;

/** True when a template names the `{timestamp}` placeholder. */
export function templateUsesTimestamp(template: string): boolean {
  return template.includes('{timestamp}');
}

/** True when a template names the `{body}` placeholder. */
export function templateUsesBody(template: string): boolean {
  return template.includes('{body}');
}

/**
 * The signed bytes: literal template text as UTF-8, the body as its raw
 * bytes (never decoded and re-encoded), the timestamp as sent.
 */
function signedContent(template: string, body: Uint8Array, timestamp: string): Buffer {
  const parts: Uint8Array[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(utf8(template.slice(last, m.index)));
    parts.push(m[0] === '{body}' ? body : utf8(timestamp));
    last = m.index + m[0].length;
  }
  parts.push(utf8(template.slice(last)));
  return Buffer.concat(parts);
}

/**
 * Verifies one delivery against `spec` with already-active `secrets` (each
 * secret's value is the UTF-8 HMAC key). Order: signature header present,
 * parseable, timestamp present, parseable and fresh, then the HMACs.
 * Never throws.
 */
export function verifyHmac(spec: HmacSpec, input: VerifyInput, secrets: readonly Secret[]): VerifyResult {
  const raw = readHeader(input, spec.header);
  if (raw === undefined) return rejected('missing_signature', `the ${spec.header} header is missing`);
  let encoded = raw;
  if (spec.prefix !== undefined) {
    if (!raw.startsWith(spec.prefix)) {
      return rejected('malformed_signature', `the ${spec.header} header does not start with ${JSON.stringify(spec.prefix)}`);
    }
    encoded = raw.slice(spec.prefix.length);
  }
  const signature = spec.encoding === 'hex' ? decodeHex(encoded) : decodeBase64(encoded);
  if (signature === undefined) {
    return rejected('malformed_signature', `the ${spec.header} header is not a ${spec.encoding} signature`);
  }

  let content: Uint8Array = input.body;
  if (spec.template !== undefined) {
    let timestamp = '';
    if (spec.timestampHeader !== undefined && templateUsesTimestamp(spec.template)) {
      const header = readHeader(input, spec.timestampHeader);
      if (header === undefined) return rejected('missing_signature', `the ${spec.timestampHeader} header is missing`);
      const timestampMs = parseTimestampMs(header, spec.timestampUnit);
      if (timestampMs === undefined) {
        return rejected('malformed_signature', `the ${spec.timestampHeader} header is not a Unix timestamp`);
      }
      const stale = checkFreshness(timestampMs, input.nowMs, spec.toleranceSeconds);
      if (stale !== undefined) return stale;
      timestamp = header;
    }
    content = signedContent(spec.template, input.body, timestamp);
  }

  const match = matchHmac(spec.algorithm, secrets, content, [signature]);
  return match === undefined ? rejected('bad_signature', `no active secret produces the signature in ${spec.header}`) : accepted(match);
}
