import { Buffer } from 'node:buffer';
import { createPublicKey, type KeyObject, randomBytes, verify as verifyEd25519 } from 'node:crypto';
import { decodeBase64, utf8 } from './bytes.ts';
import { accepted, checkFreshness, hmac, matchHmac, parseTimestampMs, readHeader, rejected } from './common.ts';
import { SigningError } from './errors.ts';
import type { Secret, VerifyInput, VerifyResult } from './types.ts';

const SECRET_PREFIX = 'whsec_';
const PUBLIC_KEY_PREFIX = 'whpk_';
const ED25519_SIGNATURE_BYTES = 64;
const ED25519_KEY_BYTES = 32;

/** The HMAC key of a `whsec_<base64>` (or bare base64) secret; undefined for a public key or a value that does not decode. */
function hmacKey(secret: Secret): Buffer | undefined {
  if (secret.value.startsWith(PUBLIC_KEY_PREFIX)) return undefined;
  const encoded = secret.value.startsWith(SECRET_PREFIX) ? secret.value.slice(SECRET_PREFIX.length) : secret.value;
  const key = decodeBase64(encoded);
  return key !== undefined && key.length > 0 ? key : undefined;
}

/** The Ed25519 public key of a `whpk_<base64 raw 32 bytes>` secret; undefined otherwise. */
function publicKey(secret: Secret): KeyObject | undefined {
  if (!secret.value.startsWith(PUBLIC_KEY_PREFIX)) return undefined;
  const raw = decodeBase64(secret.value.slice(PUBLIC_KEY_PREFIX.length));
  if (raw === undefined || raw.length !== ED25519_KEY_BYTES) return undefined;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** The first of the Standard Webhooks header or its `svix-` fallback that is present. */
function readEither(input: VerifyInput, name: string): string | undefined {
  return readHeader(input, `webhook-${name}`) ?? readHeader(input, `svix-${name}`);
}

/**
 * Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature`, a space-separated
 * list of `v1,<base64 HMAC-SHA256>` and `v1a,<base64 Ed25519>` over
 * `${id}.${timestamp}.${body}`; `svix-*` names are accepted when the
 * `webhook-*` ones are absent. Any one matching signature is success;
 * unknown versions and undecodable entries are skipped. `secrets` must
 * already be the active ones. Never throws.
 */
export function verifyStandardWebhooks(input: VerifyInput, secrets: readonly Secret[], toleranceSeconds: number): VerifyResult {
  const id = readEither(input, 'id');
  const timestamp = readEither(input, 'timestamp');
  const signatureHeader = readEither(input, 'signature');
  if (signatureHeader === undefined) return rejected('missing_signature', 'the webhook-signature header is missing');
  if (id === undefined) return rejected('missing_signature', 'the webhook-id header is missing');
  if (timestamp === undefined) return rejected('missing_signature', 'the webhook-timestamp header is missing');

  const timestampMs = parseTimestampMs(timestamp, 'seconds');
  if (timestampMs === undefined) return rejected('malformed_signature', 'the webhook-timestamp header is not a Unix timestamp');

  const hmacSignatures: Buffer[] = [];
  const edSignatures: Buffer[] = [];
  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0) continue;
    const version = entry.slice(0, comma);
    const decoded = decodeBase64(entry.slice(comma + 1));
    if (decoded === undefined) continue;
    if (version === 'v1') hmacSignatures.push(decoded);
    else if (version === 'v1a' && decoded.length === ED25519_SIGNATURE_BYTES) edSignatures.push(decoded);
  }
  if (hmacSignatures.length === 0 && edSignatures.length === 0) {
    return rejected('malformed_signature', 'the webhook-signature header has no decodable v1 or v1a signature');
  }
  const stale = checkFreshness(timestampMs, input.nowMs, toleranceSeconds);
  if (stale !== undefined) return stale;

  const content = Buffer.concat([utf8(`${id}.${timestamp}.`), input.body]);
  let match = hmacSignatures.length > 0 ? matchHmac('sha256', secrets, content, hmacSignatures, hmacKey) : undefined;
  if (edSignatures.length > 0) {
    for (const secret of secrets) {
      const key = publicKey(secret);
      if (key === undefined) continue;
      for (const signature of edSignatures) {
        if (verifyEd25519(null, content, key, signature) && match === undefined) match = secret.id;
      }
    }
  }
  return match === undefined ? rejected('bad_signature', 'no active secret produces a signature in webhook-signature') : accepted(match);
}

/**
 * The `webhook-signature` header value for an outgoing delivery:
 * space-separated `v1,<base64>` entries, one per secret, in the order given,
 * each an HMAC-SHA256 of `${msgId}.${timestampSeconds}.${body}`. Secrets are
 * `whsec_<base64>` (the bare base64 key is accepted too). Pure. Throws
 * {@link SigningError} when there is no secret, a secret does not decode to a
 * non-empty key, or the timestamp is not a non-negative integer.
 */
export function signStandardWebhooks(msgId: string, timestampSeconds: number, body: Uint8Array, secrets: readonly string[]): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new SigningError('timestamp must be a non-negative integer number of seconds');
  }
  if (secrets.length === 0) throw new SigningError('at least one secret is needed to sign');
  const content = Buffer.concat([utf8(`${msgId}.${timestampSeconds}.`), body]);
  return secrets
    .map((secret, index) => {
      const key = hmacKey({ id: '', value: secret });
      if (key === undefined || secret.startsWith(PUBLIC_KEY_PREFIX)) {
        throw new SigningError(`secret #${index} is not a whsec_ secret with a base64 key`);
      }
      return `v1,${hmac('sha256', key, content).toString('base64')}`;
    })
    .join(' ');
}

/** A new random Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
export function generateStandardWebhooksSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}
