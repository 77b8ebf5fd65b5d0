import type { SourceConfig } from '@hookstream/models';
import type { TokenBuckets } from './rate-limit.ts';

/** What ingest knows about a request before reading its body. */
export interface RequestHead {
  readonly method: string;
  /** The request target, path and query. */
  readonly url: string;
  readonly contentType: string | undefined;
  /** From Content-Length; undefined for chunked bodies. */
  readonly contentLength: number | undefined;
  /** What the sender's headers that ingest keeps take as `hs-h-*` NATS headers ({@link capturedHeaderBytes}). */
  readonly capturedHeaderBytes: number;
}

/** The verdict on a request head: read the body and publish, or answer now. */
export type Admission =
  | { readonly kind: 'accept'; readonly source: SourceConfig; readonly maxBodyBytes: number }
  | { readonly kind: 'reject'; readonly status: number; readonly error: string; readonly headers?: Readonly<Record<string, string>> };

/** What {@link admit} consults. All reads, no I/O. */
export interface AdmissionDeps {
  readonly source: (id: string) => SourceConfig | undefined;
  readonly limiter: TokenBuckets;
  readonly nowMs: number;
  readonly defaultMaxBodyBytes: number;
  /**
   * No body limit goes above this, a source's own included: the NATS
   * server's `max_payload` less the envelope headroom (runtime's
   * `envelopeHeadroomBytes`), so whatever is accepted fits every stage's
   * message and its dead letter.
   */
  readonly maxBodyCeiling: number;
  /** Most bytes the captured sender headers may take (`HS_INGEST_MAX_HEADER_BYTES`). */
  readonly maxHeaderBytes: number;
  /** False while NATS is disconnected or ingest is shutting down. */
  readonly canPublish: boolean;
  readonly retryAfterSeconds: number;
}

/** Media types accepted when a source does not list its own. */
export const DEFAULT_CONTENT_TYPES: readonly string[] = ['application/json', 'application/*+json', 'application/x-www-form-urlencoded'];

const PREFIX = '/v1/webhooks/';

/** The source id from `/v1/webhooks/{source}` (query and one trailing slash allowed), or undefined. */
export function sourceFromPath(url: string): string | undefined {
  if (!url.startsWith(PREFIX)) return undefined;
  let end = url.indexOf('?', PREFIX.length);
  if (end === -1) end = url.length;
  let id = url.slice(PREFIX.length, end);
  if (id.endsWith('/')) id = id.slice(0, -1);
  if (id === '' || id.includes('/')) return undefined;
  try {
    return decodeURIComponent(id);
  } catch {
    return undefined;
  }
}

/** Whether `contentType` (with parameters) matches one of `accepted`. */
export function contentTypeAccepted(contentType: string | undefined, accepted: readonly string[]): boolean {
  if (accepted.includes('*/*')) return true;
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  const media = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  const slash = media.indexOf('/');
  if (slash <= 0) return false;
  for (const pattern of accepted) {
    const p = pattern.toLowerCase();
    if (p === media) return true;
    if (p.endsWith('/*') && media.startsWith(p.slice(0, -1))) return true;
    // application/*+json matches application/vnd.github+json
    const star = p.indexOf('/*+');
    if (star !== -1 && media.startsWith(p.slice(0, star + 1)) && media.endsWith(p.slice(star + 2))) return true;
  }
  return false;
}

const reject = (status: number, error: string, headers?: Record<string, string>): Admission =>
  headers === undefined ? { kind: 'reject', status, error } : { kind: 'reject', status, error, headers };

/**
 * Decides, from the head alone, whether to read and publish a request.
 * Order: 404 unknown path, 405 not POST, 404 unknown or disabled source,
 * 431 captured headers over their limit, 413 declared length over the
 * limit (the source's or the default, never above `maxBodyCeiling`), 415
 * media type, 503 when JetStream cannot take it, 429 rate limit. Pure apart
 * from taking a rate-limit token.
 */
export function admit(head: RequestHead, deps: AdmissionDeps): Admission {
  const id = sourceFromPath(head.url);
  if (id === undefined) return reject(404, 'not found');
  if (head.method !== 'POST') return reject(405, 'method not allowed: use POST', { allow: 'POST' });
  const source = deps.source(id);
  if (source === undefined || !source.enabled) return reject(404, `unknown source: ${id}`);
  if (head.capturedHeaderBytes > deps.maxHeaderBytes) {
    return reject(431, `request headers over the limit of ${deps.maxHeaderBytes} bytes`);
  }
  const maxBodyBytes = Math.min(source.maxBodyBytes ?? deps.defaultMaxBodyBytes, deps.maxBodyCeiling);
  if (head.contentLength !== undefined && head.contentLength > maxBodyBytes) {
    return reject(413, `body over the limit of ${maxBodyBytes} bytes`);
  }
  if (!contentTypeAccepted(head.contentType, source.contentTypes ?? DEFAULT_CONTENT_TYPES)) {
    return reject(415, `unsupported content type: ${head.contentType ?? '(none)'}`);
  }
  if (!deps.canPublish) {
    return reject(503, 'temporarily unavailable', { 'retry-after': String(deps.retryAfterSeconds) });
  }
  if (source.rateLimit !== undefined) {
    const taken = deps.limiter.take(source.id, source.rateLimit, deps.nowMs);
    if (!taken.ok) return reject(429, 'rate limit exceeded', { 'retry-after': String(taken.retryAfterSeconds) });
  }
  return { kind: 'accept', source, maxBodyBytes };
}
