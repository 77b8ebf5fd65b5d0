import { Buffer } from 'node:buffer';
import { decodeHex, utf8 } from './bytes.ts';
import { accepted, checkFreshness, matchHmac, parseTimestampMs, readHeader, rejected } from './common.ts';
import type { Secret, VerifyInput, VerifyResult } from './types.ts';

const HEADER = 'Stripe-Signature';

/**
 * Stripe: `Stripe-Signature: t=<secs>,v1=<hex>[,v1=<hex>...][,v0=...]`, each
 * `v1` an HMAC-SHA256 of `${t}.${body}` keyed with the secret string as-is
 * (`whsec_...` included, as Stripe does). Several `v1` entries appear while
 * Stripe rolls a secret; any one matching is success, other schemes are
 * ignored. `secrets` must already be the active ones. Never throws.
 */
export function verifyStripe(input: VerifyInput, secrets: readonly Secret[], toleranceSeconds: number): VerifyResult {
  const raw = readHeader(input, HEADER);
  if (raw === undefined) return rejected('missing_signature', `the ${HEADER} header is missing`);

  let timestamp: string | undefined;
  let sawV1 = false;
  const signatures: Buffer[] = [];
  for (const item of raw.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't' && timestamp === undefined) timestamp = value;
    if (key === 'v1') {
      sawV1 = true;
      const decoded = decodeHex(value);
      if (decoded !== undefined) signatures.push(decoded);
    }
  }
  if (timestamp === undefined) return rejected('malformed_signature', `the ${HEADER} header has no t= timestamp`);
  const timestampMs = parseTimestampMs(timestamp, 'seconds');
  if (timestampMs === undefined) return rejected('malformed_signature', `the t= timestamp in ${HEADER} is not a Unix timestamp`);
  if (signatures.length === 0) {
    return rejected(
      'malformed_signature',
      sawV1 ? `the v1= signatures in ${HEADER} are not hex` : `the ${HEADER} header has no v1= signature`,
    );
  }
  const stale = checkFreshness(timestampMs, input.nowMs, toleranceSeconds);
  if (stale !== undefined) return stale;

  const content = Buffer.concat([utf8(`${timestamp}.`), input.body]);
  const match = matchHmac('sha256', secrets, content, signatures);
  return match === undefined ? rejected('bad_signature', `no active secret produces a v1 signature in ${HEADER}`) : accepted(match);
}
