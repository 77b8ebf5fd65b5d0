import { ValidationError } from './errors.ts';

/**
 * One secret of a source (verifies) or an endpoint (signs). `notBeforeMs`
 * (inclusive) and `notAfterMs` (exclusive), epoch ms, bound when it is used
 * ({@link isSecretActive}), so during a rotation the old and the new secret
 * are both active until the old one's `notAfterMs`.
 */
export interface Secret {
  readonly id: string;
  readonly value: string;
  readonly notBeforeMs?: number;
  readonly notAfterMs?: number;
}

/**
 * The one rule for a secret's window, inbound (verification) and outbound
 * (deliver's signing) alike: valid from `notBeforeMs` (inclusive) while
 * `nowMs < notAfterMs` (exclusive), so at exactly `notAfterMs` it is over.
 * Pure.
 */
export function isSecretActive(secret: Pick<Secret, 'notBeforeMs' | 'notAfterMs'>, nowMs: number): boolean {
  return (
    (secret.notBeforeMs === undefined || secret.notBeforeMs <= nowMs) && (secret.notAfterMs === undefined || nowMs < secret.notAfterMs)
  );
}

/** The secrets valid at `nowMs` ({@link isSecretActive}), in order. Pure. */
export function activeSecrets<S extends Pick<Secret, 'notBeforeMs' | 'notAfterMs'>>(secrets: readonly S[], nowMs: number): S[] {
  return secrets.filter((s) => isSecretActive(s, nowMs));
}

/** What a record kind accepts as a secret value, beyond the shared rules. */
export interface SecretRules {
  /** Whether a (non-empty) value is acceptable. */
  readonly value: (value: string) => boolean;
  /** The message of a refused value (field `secrets[i].value`). */
  readonly valueMessage: string;
  /** When set, the list must hold at least one secret; the message of a list that does not (field `secrets`). */
  readonly atLeastOne?: string;
}

/**
 * The one parser of a record's `secrets` list, for sources and endpoints:
 * a list of objects with a non-empty string `id` (no two alike), a
 * non-empty string `value` the record kind accepts, and optional finite
 * `notBeforeMs` / `notAfterMs` epoch milliseconds. Returns frozen
 * {@link Secret}s holding only those fields. Throws {@link ValidationError}
 * naming the first bad field. Pure.
 */
export function parseSecrets(input: unknown, rules: SecretRules): Secret[] {
  if (!Array.isArray(input)) throw new ValidationError('secrets', rules.atLeastOne ?? 'must be a list');
  if (rules.atLeastOne !== undefined && input.length === 0) throw new ValidationError('secrets', rules.atLeastOne);
  const ids = new Set<string>();
  return input.map((raw: unknown, i) => {
    const field = `secrets[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError(field, 'must be an object');
    const s = raw as Record<string, unknown>;
    if (typeof s.id !== 'string' || s.id === '') throw new ValidationError(`${field}.id`, 'must be a non-empty string');
    if (ids.has(s.id)) throw new ValidationError(`${field}.id`, `duplicate secret id ${s.id}`);
    ids.add(s.id);
    if (typeof s.value !== 'string' || s.value === '' || !rules.value(s.value))
      throw new ValidationError(`${field}.value`, rules.valueMessage);
    for (const bound of ['notBeforeMs', 'notAfterMs'] as const) {
      if (s[bound] !== undefined && (typeof s[bound] !== 'number' || !Number.isFinite(s[bound]))) {
        throw new ValidationError(`${field}.${bound}`, 'must be epoch milliseconds');
      }
    }
    return Object.freeze({
      id: s.id,
      value: s.value,
      ...(s.notBeforeMs !== undefined ? { notBeforeMs: s.notBeforeMs as number } : {}),
      ...(s.notAfterMs !== undefined ? { notAfterMs: s.notAfterMs as number } : {}),
    });
  });
}
