import type { KV } from '@nats-io/kv';
import { ValidationError } from './errors.ts';

/**
 * Typed records in a KV bucket, one per id (key = id, value = JSON). Every
 * write goes through `parse`, which validates and fills defaults and throws
 * {@link ValidationError}; every read decodes the same way.
 */
export class RecordStore<T extends { readonly id: string }> {
  readonly #kv: KV;
  readonly #parse: (input: unknown) => T;

  constructor(kv: KV, parse: (input: unknown) => T) {
    this.#kv = kv;
    this.#parse = parse;
  }

  /** Validates and writes a record; resolves to the KV revision. Throws ValidationError. */
  async put(input: unknown): Promise<number> {
    const record = this.#parse(input);
    return this.#kv.put(record.id, JSON.stringify(record));
  }

  /** Reads one record, or undefined when absent or deleted. */
  async get(id: string): Promise<T | undefined> {
    const entry = await this.#kv.get(id);
    if (entry?.operation !== 'PUT') return undefined;
    return decodeRecord(this.#parse, id, entry.value);
  }

  /** Deletes a record (a no-op when absent). */
  async delete(id: string): Promise<void> {
    await this.#kv.delete(id);
  }
}

/** Decodes a KV value with `parse`; the record's id must equal the key. Throws ValidationError or SyntaxError. */
export function decodeRecord<T extends { readonly id: string }>(parse: (input: unknown) => T, key: string, value: Uint8Array): T {
  const record = parse(JSON.parse(new TextDecoder().decode(value)));
  if (record.id !== key) throw new ValidationError('id', `must equal the key ${key}`);
  return record;
}
