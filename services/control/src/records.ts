import { status } from '@grpc/grpc-js';
import { decodeRecord, encodeRecord, type SecretBox } from '@hookstream/runtime';
import type { KV } from '@nats-io/kv';
import { invalid, isWrongRevision, notFound, RpcError } from './errors.ts';

/** A record with the KV revision and time of the write that stored it. */
export interface Stored<T> {
  readonly record: T;
  readonly revision: number;
  readonly updatedAtMs: number;
}

/** One page of a listing; `next` is '' on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string;
}

/** Clamps a requested page size into [1, max]; 0 (unset) gives `fallback`. */
export function pageSize(requested: number, fallback: number, max = 500): number {
  if (requested < 0) throw invalid('page_size', 'must not be negative');
  return requested === 0 ? fallback : Math.min(requested, max);
}

/** Parses a `*_json` request field. Throws INVALID_ARGUMENT naming it. */
export function parseJsonField(value: string, field: string): unknown {
  if (value.trim() === '') throw invalid(field, 'is required');
  try {
    return JSON.parse(value);
  } catch (err) {
    throw invalid(field, `is not JSON: ${(err as Error).message}`);
  }
}

/** Every key of a bucket, sorted. */
export async function sortedKeys(kv: KV): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  return keys.sort();
}

type WithSecrets = { readonly id: string; readonly secrets?: readonly { readonly value: string }[] };

/**
 * Records of one kind (sources, endpoints) in their KV bucket with
 * optimistic concurrency: `create` refuses a taken id, `update` and `delete`
 * refuse a stale revision. Every write goes through the runtime's `parse`
 * (so the control plane accepts exactly what the services accept) and the
 * runtime's `encodeRecord` (secrets sealed with the master key when there is
 * one), the format every service reads.
 */
export class RecordBucket<T extends WithSecrets> {
  readonly #kv: KV;
  readonly #kind: string;
  readonly #parse: (input: unknown) => T;
  readonly #box: SecretBox | undefined;

  constructor(kv: KV, kind: string, parse: (input: unknown) => T, box: SecretBox | undefined) {
    this.#kv = kv;
    this.#kind = kind;
    this.#parse = parse;
    this.#box = box;
  }

  /** The record with its revision, or undefined when absent or deleted. */
  async get(id: string): Promise<Stored<T> | undefined> {
    const entry = await this.#kv.get(id);
    if (entry?.operation !== 'PUT') return undefined;
    return {
      record: decodeRecord(this.#parse, id, entry.value, this.#box),
      revision: entry.revision,
      updatedAtMs: entry.created.getTime(),
    };
  }

  /** Like {@link get}; throws NOT_FOUND when absent. */
  async require(id: string): Promise<Stored<T>> {
    const found = await this.get(id);
    if (found === undefined) throw notFound(this.#kind, id);
    return found;
  }

  /** A page of records in id order after `token` (the last id of the previous page). */
  async list(size: number, token: string): Promise<Page<Stored<T>>> {
    const keys = (await sortedKeys(this.#kv)).filter((k) => k > token);
    const items: Stored<T>[] = [];
    let last = '';
    for (const key of keys) {
      if (items.length === size) return { items, next: last };
      const found = await this.get(key);
      last = key;
      if (found !== undefined) items.push(found);
    }
    return { items, next: '' };
  }

  /** Stores a new record. Throws INVALID_ARGUMENT (ValidationError) or ALREADY_EXISTS. */
  async create(input: unknown): Promise<Stored<T>> {
    const record = this.#parse(input);
    try {
      const revision = await this.#kv.create(record.id, this.#encode(record));
      return { record, revision, updatedAtMs: Date.now() };
    } catch (err) {
      if (isWrongRevision(err)) throw new RpcError(status.ALREADY_EXISTS, `${this.#kind} ${record.id} already exists`, { cause: err });
      throw err;
    }
  }

  /**
   * Replaces a record if it is still at `revision` (0: whatever is stored).
   * Throws INVALID_ARGUMENT, NOT_FOUND or FAILED_PRECONDITION.
   */
  async update(input: unknown, revision: number): Promise<Stored<T>> {
    const record = this.#parse(input);
    const expected = revision === 0 ? (await this.require(record.id)).revision : revision;
    try {
      const next = await this.#kv.update(record.id, this.#encode(record), expected);
      return { record, revision: next, updatedAtMs: Date.now() };
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      await this.require(record.id);
      throw new RpcError(status.FAILED_PRECONDITION, `${this.#kind} ${record.id} changed since revision ${expected}: read it again`, {
        cause: err,
      });
    }
  }

  /** Deletes a record if it is still at `revision` (0: any). Throws NOT_FOUND or FAILED_PRECONDITION. */
  async delete(id: string, revision: number): Promise<void> {
    const current = await this.require(id);
    if (revision !== 0 && revision !== current.revision) {
      throw new RpcError(status.FAILED_PRECONDITION, `${this.#kind} ${id} is at revision ${current.revision}, not ${revision}`);
    }
    try {
      await this.#kv.delete(id, { previousSeq: current.revision });
    } catch (err) {
      if (isWrongRevision(err))
        throw new RpcError(status.FAILED_PRECONDITION, `${this.#kind} ${id} changed while deleting`, { cause: err });
      throw err;
    }
  }

  #encode(record: T): string {
    return encodeRecord(record, this.#box);
  }
}
