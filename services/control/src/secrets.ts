import { randomBytes } from 'node:crypto';
import { REDACTED, redactSecrets } from '@hookstream/models';
import { invalid } from './errors.ts';

/** What replaces a secret-bearing value in every answer but Create's and Rotate's (the runtime's one definition). */
export { REDACTED };

interface SecretLike {
  readonly id: string;
  readonly value: string;
  readonly notBeforeMs?: number;
  readonly notAfterMs?: number;
}

type WithSecrets = {
  readonly secrets?: readonly SecretLike[];
  readonly headers?: Readonly<Record<string, unknown>>;
  readonly url?: unknown;
};

/**
 * A copy of a record with every secret-bearing value — `secrets[].value`,
 * `headers` values, `url` query values — replaced by {@link REDACTED}. Pure.
 */
export function redact<T extends object>(record: T): T {
  return redactSecrets(record);
}

/** The `name=value` segments of a URL's query, in order (a segment without `=` has the name ''). Pure. */
function querySegments(url: string): { readonly name: string; readonly value: string }[] {
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  if (q < 0 || (hash >= 0 && hash < q)) return [];
  const query = url.slice(q + 1, hash < 0 ? url.length : hash);
  if (query === '') return [];
  return query.split('&').map((segment) => {
    const eq = segment.indexOf('=');
    return eq < 0 ? { name: '', value: segment } : { name: segment.slice(0, eq), value: segment.slice(eq + 1) };
  });
}

/**
 * A URL whose query values that read {@link REDACTED} take the stored URL's
 * value of the same parameter (the n-th `token` takes the n-th stored
 * `token`), so a redacted URL read back by Get can be sent to Update as it
 * is, or with its path changed. Throws INVALID_ARGUMENT on `url` when the
 * stored URL has no such parameter. Pure.
 */
function restoreUrl(input: string, stored: string | undefined): string {
  const segments = querySegments(input);
  if (!segments.some((s) => s.value === REDACTED)) return input;
  const storedSegments = querySegments(stored ?? '');
  const seen = new Map<string, number>();
  const restored = segments.map(({ name, value }) => {
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    if (value !== REDACTED) return name === '' ? value : `${name}=${value}`;
    const match = storedSegments.filter((s) => s.name === name)[n];
    if (match === undefined) {
      throw invalid(
        'url',
        `"${REDACTED}" keeps a stored query value, but the stored URL has no ${name === '' ? 'such' : `"${name}"`} parameter`,
      );
    }
    return name === '' ? match.value : `${name}=${match.value}`;
  });
  const q = input.indexOf('?');
  const hash = input.indexOf('#', q);
  return `${input.slice(0, q + 1)}${restored.join('&')}${hash < 0 ? '' : input.slice(hash)}`;
}

function storedHeader(headers: Readonly<Record<string, unknown>> | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const exact = headers[name];
  if (typeof exact === 'string') return exact;
  const found = Object.entries(headers).find(([n]) => n.toLowerCase() === name.toLowerCase());
  return typeof found?.[1] === 'string' ? found[1] : undefined;
}

/**
 * For an update: a value in `input` that reads {@link REDACTED} (as a Get
 * answered it) takes the stored value it stands for, so a read-modify-write
 * never needs the secret itself — a secret by its id, a header by its name
 * (case-insensitive), a URL query value by its parameter name. Throws
 * INVALID_ARGUMENT naming the field when nothing is stored there. Pure.
 */
export function restoreRedacted(input: unknown, current: WithSecrets | undefined): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const out: Record<string, unknown> = { ...input };
  const secrets = (input as { secrets?: unknown }).secrets;
  if (Array.isArray(secrets)) {
    const stored = new Map((Array.isArray(current?.secrets) ? current.secrets : []).map((s) => [s.id, s.value]));
    out.secrets = secrets.map((s: unknown, i) => {
      if (typeof s !== 'object' || s === null || (s as { value?: unknown }).value !== REDACTED) return s;
      const id = (s as { id?: unknown }).id;
      const value = typeof id === 'string' ? stored.get(id) : undefined;
      if (value === undefined) throw invalid(`secrets[${i}].value`, `"${REDACTED}" keeps a stored secret, but none has id ${String(id)}`);
      return { ...s, value };
    });
  }
  const headers = (input as { headers?: unknown }).headers;
  if (typeof headers === 'object' && headers !== null && !Array.isArray(headers)) {
    const storedHeaders = typeof current?.headers === 'object' && current.headers !== null ? current.headers : undefined;
    const restored: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== REDACTED) {
        restored[name] = value;
        continue;
      }
      const stored = storedHeader(storedHeaders, name);
      if (stored === undefined)
        throw invalid(`headers.${name}`, `"${REDACTED}" keeps a stored header value, but none is stored for ${name}`);
      restored[name] = stored;
    }
    out.headers = restored;
  }
  const url = (input as { url?: unknown }).url;
  if (typeof url === 'string') out.url = restoreUrl(url, typeof current?.url === 'string' ? current.url : undefined);
  return out;
}

/** A new random secret: `whsec_` + base64 of 32 random bytes (valid for Standard Webhooks and as an HMAC key). */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** What a rotation adds and until when the secrets already there stay valid. */
export interface Rotation {
  readonly id: string;
  readonly value: string;
  readonly previousValidUntilMs: number;
  readonly nowMs: number;
}

/**
 * The record after a rotation: the new secret first, valid at once; every
 * secret already there valid until `previousValidUntilMs` at the latest
 * (an earlier `notAfterMs` is kept); secrets already expired at `nowMs` are
 * dropped. Throws INVALID_ARGUMENT when the new id is taken. Pure; the
 * result still goes through the record's parser.
 */
export function rotate<T extends object>(record: T, rotation: Rotation): T & { secrets: SecretLike[] } {
  const previous = (record as WithSecrets).secrets ?? [];
  if (previous.some((s) => s.id === rotation.id)) throw invalid('new_secret_id', `a secret with id ${rotation.id} exists`);
  const kept = previous
    .map((s) => ({ ...s, notAfterMs: Math.min(s.notAfterMs ?? Number.POSITIVE_INFINITY, rotation.previousValidUntilMs) }))
    .filter((s) => s.notAfterMs >= rotation.nowMs);
  return { ...record, secrets: [{ id: rotation.id, value: rotation.value }, ...kept] };
}

/** The answer's view of a rotated record: every secret-bearing value redacted but the new secret's. Pure. */
export function rotatedView<T extends object>(record: T, newSecretId: string): T {
  const shown = redactSecrets(record) as T & WithSecrets;
  const secrets = (record as WithSecrets).secrets;
  if (!Array.isArray(shown.secrets) || !Array.isArray(secrets)) return shown;
  return {
    ...shown,
    secrets: shown.secrets.map((s, i) => (s.id === newSecretId ? { ...s, value: (secrets[i] as SecretLike).value } : s)),
  };
}
