import { status } from '@grpc/grpc-js';
import { ValidationError } from '@hookstream/contracts';
import {
  decodeRecord,
  ENCRYPTED_PREFIX,
  encodeRecord,
  isSealed,
  mapSecretFields,
  type SecretBox,
  SecretBoxError,
} from '@hookstream/models';
import { bucketKeys } from '@hookstream/runtime';
import type { KV, KvEntry } from '@nats-io/kv';
import { invalid, isWrongRevision, notFound, RpcError } from './errors.ts';

/** A record with the KV revision and time of the write that stored it. */
export interface Stored<T> {
  readonly record: T;
  readonly revision: number;
  readonly updatedAtMs: number;
}

/**
 * A stored record this control service cannot decode: a sealed value does
 * not open with its master keys, or the record no longer passes the parser.
 * `stored` is the KV value as it is (sealed values sealed; `{id}` when it is
 * not a JSON object), for answers (redacted) and for an update to start from.
 */
export interface Unreadable {
  readonly id: string;
  readonly stored: Readonly<Record<string, unknown>>;
  readonly problem: string;
  readonly revision: number;
  readonly updatedAtMs: number;
}

/** True for an {@link Unreadable} entry. */
export function isUnreadable<T>(entry: Stored<T> | Unreadable): entry is Unreadable {
  return 'problem' in entry;
}

/** One page of a listing; `next` is '' on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string;
}

/** How large and how deep a `*_json` request field may be (docs/control-plane.md, "Limits"). */
export interface JsonLimits {
  /** Bytes of UTF-8 (`HS_CONTROL_MAX_CONFIG_BYTES`). */
  readonly maxBytes: number;
  /** Nesting of objects and arrays (`HS_CONTROL_MAX_CONFIG_DEPTH`). */
  readonly maxDepth: number;
}

/** Clamps a requested page size into [1, max]; 0 (unset) gives `fallback`. Throws INVALID_ARGUMENT on a negative or fractional one. */
export function pageSize(requested: number, fallback: number, max = 500): number {
  if (!Number.isInteger(requested) || requested < 0) throw invalid('page_size', `must be a whole number from 0 to ${max}`);
  return requested === 0 ? fallback : Math.min(requested, max);
}

/** A request's `revision` (0: any). Throws INVALID_ARGUMENT unless a non-negative whole number. Pure. */
export function revisionOf(revision: number, field = 'revision'): number {
  if (!Number.isSafeInteger(revision) || revision < 0) throw invalid(field, 'must be a KV revision (a whole number, 0 for any)');
  return revision;
}

/**
 * How deep `text` nests objects and arrays, counting only brackets outside
 * strings; stops counting once past `limit`. Linear, no recursion. Pure.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Parses a `*_json` request field. Throws INVALID_ARGUMENT naming it when it
 * is empty, larger than `limits.maxBytes`, nested deeper than
 * `limits.maxDepth` (checked before parsing) or not JSON.
 */
export function parseJsonField(value: string, field: string, limits: JsonLimits): unknown {
  if (value.trim() === '') throw invalid(field, 'is required');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > limits.maxBytes) {
    throw invalid(field, `is ${bytes} bytes, over the limit of ${limits.maxBytes} bytes (HS_CONTROL_MAX_CONFIG_BYTES)`);
  }
  if (jsonDepth(value, limits.maxDepth) > limits.maxDepth) {
    throw invalid(field, `nests objects and arrays deeper than the limit of ${limits.maxDepth} levels (HS_CONTROL_MAX_CONFIG_DEPTH)`);
  }
  try {
    return JSON.parse(value);
  } catch (err) {
    throw invalid(field, `is not JSON: ${(err as Error).message}`);
  }
}

/** Every key of a bucket, sorted. */
export async function sortedKeys(kv: KV): Promise<string[]> {
  return (await bucketKeys(kv)).sort();
}

/** Options for {@link RecordBucket}. */
export interface RecordBucketOptions<T> {
  /** `source`, `endpoint`: for messages. */
  readonly kind: string;
  /** The runtime's parser of the record (validates, fills defaults; throws ValidationError). */
  readonly parse: (input: unknown) => T;
  /** The master keys; undefined stores values as given (and refuses values in the sealed form: nothing here could open them). */
  readonly box: SecretBox | undefined;
  /** Largest KV value the server takes (its max_payload less headroom): a larger record is INVALID_ARGUMENT, not a failed write. */
  readonly maxStoredBytes: number;
}

/**
 * Records of one kind (sources, endpoints) in their KV bucket with
 * optimistic concurrency: `create` refuses a taken id, `update` and `delete`
 * refuse a stale revision. Every write goes through the runtime's `parse`
 * (so the control plane accepts exactly what the services accept) and the
 * runtime's `encodeRecord` (secret-bearing values sealed with the master key
 * when there is one), the format every service reads. A value already in the
 * sealed form is stored only when it opens. Reads never fail on a record
 * that cannot be decoded: {@link read} and {@link list} answer it as
 * {@link Unreadable}, and `update` and `delete` work on it.
 */
export class RecordBucket<T extends { readonly id: string }> {
  readonly #kv: KV;
  readonly #kind: string;
  readonly #parse: (input: unknown) => T;
  readonly #box: SecretBox | undefined;
  readonly #maxStoredBytes: number;

  constructor(kv: KV, options: RecordBucketOptions<T>) {
    this.#kv = kv;
    this.#kind = options.kind;
    this.#parse = options.parse;
    this.#box = options.box;
    this.#maxStoredBytes = options.maxStoredBytes;
  }

  /** The record with its revision (or why it cannot be decoded), or undefined when absent or deleted. */
  async read(id: string): Promise<Stored<T> | Unreadable | undefined> {
    const entry = await this.#kv.get(id);
    if (entry?.operation !== 'PUT') return undefined;
    return this.#decode(entry);
  }

  /** Like {@link read}; throws NOT_FOUND when absent. */
  async view(id: string): Promise<Stored<T> | Unreadable> {
    const found = await this.read(id);
    if (found === undefined) throw notFound(this.#kind, id);
    return found;
  }

  /**
   * The decoded record, for a change that builds on it (rotate, enable).
   * Throws NOT_FOUND when absent, FAILED_PRECONDITION when it cannot be
   * decoded (UpdateX with new values, or DeleteX, still work).
   */
  async require(id: string): Promise<Stored<T>> {
    const found = await this.view(id);
    if (isUnreadable(found)) {
      throw new RpcError(
        status.FAILED_PRECONDITION,
        `${this.#kind} ${id} cannot be read (${found.problem}): update it with new values, or delete it`,
      );
    }
    return found;
  }

  /** A page of records in id order after `token` (the last id of the previous page); undecodable ones are in it as {@link Unreadable}. */
  async list(size: number, token: string): Promise<Page<Stored<T> | Unreadable>> {
    const keys = (await sortedKeys(this.#kv)).filter((k) => k > token);
    const items: (Stored<T> | Unreadable)[] = [];
    let last = '';
    for (const key of keys) {
      if (items.length === size) return { items, next: last };
      const found = await this.read(key);
      last = key;
      if (found !== undefined) items.push(found);
    }
    return { items, next: '' };
  }

  /** Stores a new record. Throws INVALID_ARGUMENT (ValidationError) or ALREADY_EXISTS. */
  async create(input: unknown): Promise<Stored<T>> {
    const record = this.#parse(input);
    const value = this.#encode(record);
    try {
      const revision = await this.#kv.create(record.id, value);
      return { record, revision, updatedAtMs: Date.now() };
    } catch (err) {
      if (isWrongRevision(err)) throw new RpcError(status.ALREADY_EXISTS, `${this.#kind} ${record.id} already exists`, { cause: err });
      throw err;
    }
  }

  /**
   * Replaces a record if it is still at `revision` (0: whatever is stored),
   * whether or not the stored one can be decoded. Throws INVALID_ARGUMENT,
   * NOT_FOUND or FAILED_PRECONDITION.
   */
  async update(input: unknown, revision: number): Promise<Stored<T>> {
    const record = this.#parse(input);
    const value = this.#encode(record);
    const expected = revision === 0 ? (await this.#entry(record.id)).revision : revision;
    try {
      const next = await this.#kv.update(record.id, value, expected);
      return { record, revision: next, updatedAtMs: Date.now() };
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      await this.#entry(record.id);
      throw new RpcError(status.FAILED_PRECONDITION, `${this.#kind} ${record.id} changed since revision ${expected}: read it again`, {
        cause: err,
      });
    }
  }

  /**
   * Deletes a record if it is still at `revision` (0: any). Never decodes
   * it, so a record nobody can read can always be deleted. Throws NOT_FOUND
   * or FAILED_PRECONDITION.
   */
  async delete(id: string, revision: number): Promise<void> {
    const current = await this.#entry(id);
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

  /** The current KV entry of `id`; NOT_FOUND when absent or deleted. */
  async #entry(id: string): Promise<KvEntry> {
    const entry = await this.#kv.get(id);
    if (entry?.operation !== 'PUT') throw notFound(this.#kind, id);
    return entry;
  }

  #decode(entry: KvEntry): Stored<T> | Unreadable {
    const meta = { revision: entry.revision, updatedAtMs: entry.created.getTime() };
    try {
      return { record: decodeRecord(this.#parse, entry.key, entry.value, this.#box), ...meta };
    } catch (err) {
      let stored: Record<string, unknown> = { id: entry.key };
      try {
        const raw: unknown = JSON.parse(new TextDecoder().decode(entry.value));
        if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) stored = { ...(raw as Record<string, unknown>), id: entry.key };
      } catch {
        // Not JSON: only the id is known.
      }
      // Never the parser's message for bad JSON: it quotes the stored text.
      const problem =
        err instanceof ValidationError || err instanceof SecretBoxError
          ? err.message
          : err instanceof SyntaxError
            ? 'the stored value is not JSON'
            : 'the stored value cannot be decoded';
      return { id: entry.key, stored, problem, ...meta };
    }
  }

  #encode(record: T): string {
    if (this.#box === undefined) {
      mapSecretFields(record, (value, field) => {
        if (isSealed(value)) {
          throw new ValidationError(
            field,
            `starts with ${ENCRYPTED_PREFIX} (the at-rest form), but this control service has no master key (HS_MASTER_KEY) to open it; send the plain value`,
          );
        }
        return value;
      });
    }
    const value = encodeRecord(record, this.#box);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > this.#maxStoredBytes) {
      throw invalid(
        'config_json',
        `is ${bytes} bytes once stored (secrets sealed), over the ${this.#maxStoredBytes} bytes the NATS server takes`,
      );
    }
    return value;
  }
}
