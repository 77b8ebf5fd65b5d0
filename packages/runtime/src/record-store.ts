import type { KV } from '@nats-io/kv';
import { ValidationError } from './errors.ts';
import { mapSecretValues, type SecretBox } from './secret-box.ts';

/** A record whose `secrets[].value` are sealed at rest when a {@link SecretBox} is given. */
type WithSecrets = { readonly secrets?: readonly { readonly value: string }[] };

function transformSecrets<T>(record: T, fn: (value: string) => string): T {
  const secrets = (record as WithSecrets | null)?.secrets;
  if (!Array.isArray(secrets)) return record;
  return { ...record, secrets: mapSecretValues(secrets as { value: string }[], fn) };
}

/**
 * Typed records in a KV bucket, one per id (key = id, value = JSON). Every
 * write goes through `parse`, which validates and fills defaults and throws
 * {@link ValidationError}; every read decodes the same way.
 */
export class RecordStore<T extends { readonly id: string }> {
  readonly #kv: KV;
  readonly #parse: (input: unknown) => T;
  readonly #box: SecretBox | undefined;

  /** With `box`, `secrets[].value` are sealed on write and opened on read. */
  constructor(kv: KV, parse: (input: unknown) => T, box?: SecretBox) {
    this.#kv = kv;
    this.#parse = parse;
    this.#box = box;
  }

  /** Validates and writes a record (secrets sealed); resolves to the KV revision. Throws ValidationError. */
  async put(input: unknown): Promise<number> {
    const record = this.#parse(input);
    return this.#kv.put(record.id, encodeRecord(record, this.#box));
  }

  /** Reads one record (secrets opened when the store has the key), or undefined when absent or deleted. */
  async get(id: string): Promise<T | undefined> {
    const entry = await this.#kv.get(id);
    if (entry?.operation !== 'PUT') return undefined;
    return decodeRecord(this.#parse, id, entry.value, this.#box);
  }

  /** Deletes a record (a no-op when absent). */
  async delete(id: string): Promise<void> {
    await this.#kv.delete(id);
  }
}

/**
 * The KV value of a parsed record: JSON, with `secrets[].value` sealed when a
 * box is given. The one write format every store (and the control plane) uses.
 */
export function encodeRecord(record: object, box?: SecretBox): string {
  return JSON.stringify(box === undefined ? record : transformSecrets(record, (v) => box.seal(v)));
}

/**
 * Decodes a KV value with `parse`; the record's id must equal the key. With
 * `box`, sealed secret values are opened first; without, they stay sealed
 * (services that never use the secrets need no master key). Throws
 * ValidationError, SecretBoxError or SyntaxError.
 */
export function decodeRecord<T extends { readonly id: string }>(
  parse: (input: unknown) => T,
  key: string,
  value: Uint8Array,
  box?: SecretBox,
): T {
  const raw: unknown = JSON.parse(new TextDecoder().decode(value));
  const record = parse(box === undefined ? raw : transformSecrets(raw, (v) => box.open(v)));
  if (record.id !== key) throw new ValidationError('id', `must equal the key ${key}`);
  return record;
}
