import { ValidationError } from '@hookstream/contracts';
import type { KV } from '@nats-io/kv';
import { ENCRYPTED_PREFIX, mapSecretFields, type SecretBox, SecretBoxError } from './secret-box.ts';

/**
 * Typed records in a KV bucket, one per id (key = id, value = JSON). Every
 * write goes through `parse`, which validates and fills defaults and throws
 * {@link ValidationError}; every read decodes the same way.
 */
export class RecordStore<T extends { readonly id: string }> {
  readonly #kv: KV;
  readonly #parse: (input: unknown) => T;
  readonly #box: SecretBox | undefined;

  /** With `box`, secret-bearing values (`mapSecretFields`) are sealed on write and opened on read. */
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
 * The KV value of a parsed record: JSON, with every secret-bearing value
 * (`secrets[].value`, `headers` values, `url` query values: see
 * `mapSecretFields`) sealed when a box is given. The one write format every
 * store (and the control plane) uses. A value already in the sealed form is
 * kept only when it opens with the box; otherwise throws ValidationError
 * naming the field (a record that nobody could open is never stored).
 */
export function encodeRecord(record: object, box?: SecretBox): string {
  if (box === undefined) return JSON.stringify(record);
  const sealed = mapSecretFields(record, (value, field) => {
    try {
      return box.seal(value);
    } catch (err) {
      if (!(err instanceof SecretBoxError)) throw err;
      throw new ValidationError(
        field,
        `starts with ${ENCRYPTED_PREFIX} (the at-rest form) but does not open: ${err.message}; send the plain value`,
      );
    }
  });
  return JSON.stringify(sealed);
}

/**
 * Decodes a KV value with `parse`; the record's id must equal the key. With
 * `box`, sealed values (see `mapSecretFields`) are opened first; without,
 * they stay sealed (services that never use them, such as route, need no
 * master key). Throws ValidationError, SecretBoxError or SyntaxError.
 */
export function decodeRecord<T extends { readonly id: string }>(
  parse: (input: unknown) => T,
  key: string,
  value: Uint8Array,
  box?: SecretBox,
): T {
  const raw: unknown = JSON.parse(new TextDecoder().decode(value));
  const record = parse(box === undefined ? raw : mapSecretFields(raw, (v) => box.open(v)));
  if (record.id !== key) throw new ValidationError('id', `must equal the key ${key}`);
  return record;
}
