import { randomBytes } from 'node:crypto';
import { invalid } from './errors.ts';

/** What replaces a secret value in every answer but Create's and Rotate's. */
export const REDACTED = '***';

interface SecretLike {
  readonly id: string;
  readonly value: string;
  readonly notBeforeMs?: number;
  readonly notAfterMs?: number;
}

type WithSecrets = { readonly secrets?: readonly SecretLike[] };

/** A copy of a record with every `secrets[].value` replaced by {@link REDACTED}. Pure. */
export function redact<T extends object>(record: T): T {
  const secrets = (record as WithSecrets).secrets;
  if (!Array.isArray(secrets)) return record;
  return { ...record, secrets: secrets.map((s: SecretLike) => ({ ...s, value: REDACTED })) };
}

/**
 * For an update: a secret in `input` whose value is {@link REDACTED} (as a
 * Get answered it) takes the stored value of the secret with the same id, so
 * a read-modify-write never needs the secret itself. Throws INVALID_ARGUMENT
 * when there is no such stored secret. Pure.
 */
export function restoreRedacted(input: unknown, current: WithSecrets | undefined): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const secrets = (input as { secrets?: unknown }).secrets;
  if (!Array.isArray(secrets)) return input;
  const stored = new Map((current?.secrets ?? []).map((s) => [s.id, s.value]));
  return {
    ...input,
    secrets: secrets.map((s: unknown, i) => {
      if (typeof s !== 'object' || s === null || (s as { value?: unknown }).value !== REDACTED) return s;
      const id = (s as { id?: unknown }).id;
      const value = typeof id === 'string' ? stored.get(id) : undefined;
      if (value === undefined) throw invalid(`secrets[${i}].value`, `"${REDACTED}" keeps a stored secret, but none has id ${String(id)}`);
      return { ...s, value };
    }),
  };
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
