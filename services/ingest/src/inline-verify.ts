import type { IncomingHttpHeaders } from 'node:http';
import { type SourceConfig, sourcePolicy } from '@hookstream/models';
import { type VerifyResult, verifySignature } from '@hookstream/signing';

/**
 * Verifies a request at ingest for sources with `verifyInline` (the sender
 * then sees 401 with the reason). Same rules as the verify service, with the
 * time of receipt as now. Pure; never throws.
 */
export function verifyInline(source: SourceConfig, body: Uint8Array, headers: IncomingHttpHeaders, receivedAtMs: number): VerifyResult {
  let policy: ReturnType<typeof sourcePolicy>;
  try {
    policy = sourcePolicy(source);
  } catch {
    return { ok: false, reason: 'no_secret', detail: 'the source has no signature scheme' };
  }
  const header = (name: string): string | undefined => {
    const value = headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  };
  return verifySignature(policy.scheme, { body, header, nowMs: receivedAtMs }, policy.secrets);
}
