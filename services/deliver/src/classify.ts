import type { AttemptOutcome } from '@hookstream/contracts';
import { BlockedAddressError } from './ssrf.ts';

/** How an attempt ended and what to do next. */
export interface Classification {
  readonly outcome: AttemptOutcome;
  /** Try again later (with backoff). */
  readonly retryable: boolean;
  /** 410 Gone: the endpoint asked to be removed. */
  readonly gone?: boolean;
  /** The `Retry-After` header applies (429 and 503 only). */
  readonly honoursRetryAfter?: boolean;
}

/**
 * Classifies an HTTP status: 2xx success; 408 and 429 retryable; 5xx
 * retryable; 3xx (redirects are never followed) and other 4xx not retryable,
 * both recorded as `http_4xx`; 410 also marks the endpoint gone. Pure.
 */
export function classifyStatus(status: number): Classification {
  if (status >= 200 && status < 300) return { outcome: 'success', retryable: false };
  if (status === 429) return { outcome: 'rate_limited', retryable: true, honoursRetryAfter: true };
  if (status === 408) return { outcome: 'http_4xx', retryable: true };
  if (status === 410) return { outcome: 'http_4xx', retryable: false, gone: true };
  if (status >= 500)
    return status === 503 ? { outcome: 'http_5xx', retryable: true, honoursRetryAfter: true } : { outcome: 'http_5xx', retryable: true };
  return { outcome: 'http_4xx', retryable: false };
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL', 'EREFUSED']);

function codesOf(err: unknown, depth = 0): string[] {
  if (typeof err !== 'object' || err === null || depth > 5) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof e.code === 'string' ? [e.code] : [];
  const nested = Array.isArray(e.errors) ? e.errors.flatMap((x) => codesOf(x, depth + 1)) : [];
  return [...own, ...nested, ...codesOf(e.cause, depth + 1)];
}

function blocked(err: unknown, depth = 0): boolean {
  if (err instanceof BlockedAddressError) return true;
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  return blocked((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * Classifies a request that got no HTTP status: refused by the SSRF guard
 * (`blocked`, not retryable); our own deadline (`timeout`); resolver
 * failures (`dns`); TLS and certificate errors (`tls`); anything else on the
 * way to a response, such as refused or reset connections (`connect`). All
 * but `blocked` are retryable. Pure.
 */
export function classifyError(err: unknown, timedOut: boolean): Classification {
  if (blocked(err)) return { outcome: 'blocked', retryable: false };
  if (timedOut) return { outcome: 'timeout', retryable: true };
  const codes = codesOf(err);
  if (codes.some((c) => DNS_CODES.has(c))) return { outcome: 'dns', retryable: true };
  if (codes.some((c) => /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|EPROTO$|HOSTNAME_MISMATCH)/.test(c))) {
    return { outcome: 'tls', retryable: true };
  }
  return { outcome: 'connect', retryable: true };
}

/**
 * The error text of a request that got no HTTP status, for the attempt
 * record's `error`: `timeout after {timeoutMs} ms` for our own deadline,
 * else the error codes on the way down its causes and the innermost message
 * (`ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`, `ENOTFOUND: getaddrinfo
 * ENOTFOUND hooks.example`, the SSRF guard's refusal). At most 300
 * characters. Pure.
 */
export function describeError(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timeout after ${timeoutMs} ms`;
  let inner: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (inner as { cause?: unknown } | null)?.cause;
    if (typeof cause !== 'object' || cause === null) break;
    inner = cause;
  }
  const message = inner instanceof Error ? inner.message : String(inner);
  const codes = [...new Set(codesOf(err))];
  const text = codes.length === 0 || message.includes(codes[0] ?? '') ? message : `${codes.join(', ')}: ${message}`;
  return text.slice(0, 300);
}
