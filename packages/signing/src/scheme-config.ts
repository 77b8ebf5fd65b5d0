import { SchemeConfigError } from './errors.ts';
import { templateUsesBody, templateUsesTimestamp } from './generic-hmac.ts';
import type { HmacAlgorithm, SchemeConfig } from './types.ts';

type Kind = SchemeConfig['kind'];

/** The fields each kind accepts besides `kind`; anything else is a typo or a newer feature, and is refused. */
const FIELDS: Readonly<Record<Kind, readonly string[]>> = {
  'standard-webhooks': ['toleranceSeconds'],
  stripe: ['toleranceSeconds'],
  github: [],
  shopify: [],
  slack: ['toleranceSeconds'],
  razorpay: [],
  hmac: ['header', 'algorithm', 'encoding', 'prefix', 'timestampHeader', 'template', 'toleranceSeconds'],
  none: [],
};
const ALGORITHMS: readonly HmacAlgorithm[] = ['sha1', 'sha256', 'sha512'];
const ENCODINGS = ['hex', 'base64'] as const;

/** RFC 9110 field-name token. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && Object.hasOwn(FIELDS, value);
}

function record(input: unknown, field: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SchemeConfigError(field, 'must be an object');
  }
  return input as Record<string, unknown>;
}

function tolerance(raw: Record<string, unknown>): { toleranceSeconds?: number } {
  const value = raw.toleranceSeconds;
  if (value === undefined) return {};
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new SchemeConfigError('toleranceSeconds', 'must be a positive integer number of seconds');
  }
  return { toleranceSeconds: value };
}

function headerName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) throw new SchemeConfigError(field, 'must be an HTTP header name');
  return value;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new SchemeConfigError(field, 'must be a non-empty string');
  return value;
}

function parseHmac(raw: Record<string, unknown>): SchemeConfig {
  const header = headerName(raw.header, 'header');
  const algorithm = raw.algorithm;
  if (!ALGORITHMS.some((a) => a === algorithm)) throw new SchemeConfigError('algorithm', `must be one of ${ALGORITHMS.join(', ')}`);
  const encoding = raw.encoding;
  if (!ENCODINGS.some((e) => e === encoding)) throw new SchemeConfigError('encoding', `must be one of ${ENCODINGS.join(', ')}`);
  const prefix = optionalString(raw.prefix, 'prefix');
  const template = optionalString(raw.template, 'template');
  const timestampHeader = raw.timestampHeader === undefined ? undefined : headerName(raw.timestampHeader, 'timestampHeader');
  if (template !== undefined && !templateUsesBody(template)) {
    throw new SchemeConfigError('template', 'must contain {body}: a signature that does not cover the body proves nothing');
  }
  const usesTimestamp = template !== undefined && templateUsesTimestamp(template);
  if (usesTimestamp && timestampHeader === undefined) {
    throw new SchemeConfigError('timestampHeader', 'is required when the template contains {timestamp}');
  }
  if (!usesTimestamp && timestampHeader !== undefined) {
    // An unsigned timestamp can be rewritten by anyone, so it would not stop a replay.
    throw new SchemeConfigError('template', 'must contain {timestamp} when timestampHeader is set');
  }
  return {
    kind: 'hmac',
    header,
    algorithm: algorithm as HmacAlgorithm,
    encoding: encoding as (typeof ENCODINGS)[number],
    ...(prefix === undefined ? {} : { prefix }),
    ...(timestampHeader === undefined ? {} : { timestampHeader }),
    ...(template === undefined ? {} : { template }),
    ...tolerance(raw),
  };
}

/**
 * Checks an untrusted scheme record (for example from a source's JSON
 * config) and returns a frozen {@link SchemeConfig} holding only the known
 * fields. Throws {@link SchemeConfigError} whose `field` names the first bad
 * field: an unknown `kind`, a field the kind does not take, a tolerance that
 * is not a positive integer, a bad header name, algorithm or encoding, a
 * template without `{body}`, or a timestamp header without `{timestamp}` in
 * the template (and the reverse). Pure.
 */
export function parseSchemeConfig(input: unknown): SchemeConfig {
  const raw = record(input, 'scheme');
  const kind = raw.kind;
  if (!isKind(kind)) throw new SchemeConfigError('kind', `must be one of ${Object.keys(FIELDS).join(', ')}`);
  const allowed = FIELDS[kind];
  for (const key of Object.keys(raw)) {
    if (key !== 'kind' && !allowed.includes(key)) throw new SchemeConfigError(key, `is not a field of the ${kind} scheme`);
  }
  switch (kind) {
    case 'standard-webhooks':
    case 'stripe':
    case 'slack':
      return Object.freeze({ kind, ...tolerance(raw) });
    case 'hmac':
      return Object.freeze(parseHmac(raw));
    case 'github':
    case 'shopify':
    case 'razorpay':
    case 'none':
      return Object.freeze({ kind });
  }
}
