import { status } from '@grpc/grpc-js';
import { decodeSchema, parseSchemaRecord, type SchemaRecord, schemaKey } from '@hookstream/models';
import { compileSchema } from '@hookstream/schema-compiler';
import type { KV } from '@nats-io/kv';
import { invalid, isWrongRevision, notFound, RpcError } from './errors.ts';
import { type JsonLimits, type Page, parseJsonField, type Stored, sortedKeys } from './records.ts';

/** What Create and Update take for a schema. */
export interface SchemaInput {
  readonly source: string;
  readonly eventType: string;
  readonly schemaJson: string;
  readonly description: string;
}

/** Longest schema description, in characters. */
export const MAX_DESCRIPTION_CHARS = 4_096;

/** Options for {@link SchemaBucket}. */
export interface SchemaBucketOptions {
  /** Size and depth limits of `schema_json`. */
  readonly limits: JsonLimits;
  /** Largest KV value the server takes: a larger record is INVALID_ARGUMENT, not a failed write. */
  readonly maxStoredBytes: number;
}

/**
 * Schema records in the `hs_schemas` bucket with optimistic concurrency.
 * A schema is stored only when it compiles with the validate service's own
 * compiler, so validate never meets a schema it cannot use. Each update
 * stores the next `version`.
 */
export class SchemaBucket {
  readonly #kv: KV;
  readonly #options: SchemaBucketOptions;

  constructor(kv: KV, options: SchemaBucketOptions) {
    this.#kv = kv;
    this.#options = options;
  }

  /** The current record of (source, type), or undefined. */
  async get(source: string, eventType: string): Promise<Stored<SchemaRecord> | undefined> {
    const key = schemaKey(source, eventType);
    const entry = await this.#kv.get(key);
    if (entry?.operation !== 'PUT') return undefined;
    return { record: decodeSchema(key, entry.value), revision: entry.revision, updatedAtMs: entry.created.getTime() };
  }

  /** Like {@link get}; throws NOT_FOUND. */
  async require(source: string, eventType: string): Promise<Stored<SchemaRecord>> {
    const found = await this.get(source, eventType);
    if (found === undefined) throw notFound('schema', `${source}/${eventType}`);
    return found;
  }

  /** A page in key order (by source, then encoded type), optionally of one source. */
  async list(source: string, size: number, token: string): Promise<Page<Stored<SchemaRecord>>> {
    const prefix = source === '' ? '' : `${source}.`;
    const keys = (await sortedKeys(this.#kv)).filter((k) => k > token && k.startsWith(prefix));
    const items: Stored<SchemaRecord>[] = [];
    let last = '';
    for (const key of keys) {
      if (items.length === size) return { items, next: last };
      last = key;
      const entry = await this.#kv.get(key);
      if (entry?.operation === 'PUT') {
        items.push({ record: decodeSchema(key, entry.value), revision: entry.revision, updatedAtMs: entry.created.getTime() });
      }
    }
    return { items, next: '' };
  }

  /** Stores version 1. Throws INVALID_ARGUMENT (bad shape, does not compile) or ALREADY_EXISTS. */
  async create(input: SchemaInput): Promise<Stored<SchemaRecord>> {
    const record = this.#record(input, 1);
    try {
      const revision = await this.#kv.create(schemaKey(record.source, record.eventType), this.#encode(record));
      return { record, revision, updatedAtMs: Date.now() };
    } catch (err) {
      if (isWrongRevision(err)) {
        throw new RpcError(status.ALREADY_EXISTS, `schema ${record.source}/${record.eventType} already exists: update it`, { cause: err });
      }
      throw err;
    }
  }

  /** Stores the next version if still at `revision` (0: any). Throws INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION. */
  async update(input: SchemaInput, revision: number): Promise<Stored<SchemaRecord>> {
    const current = await this.require(input.source, input.eventType);
    const expected = revision === 0 ? current.revision : revision;
    const record = this.#record(input, current.record.version + 1);
    try {
      const next = await this.#kv.update(schemaKey(record.source, record.eventType), this.#encode(record), expected);
      return { record, revision: next, updatedAtMs: Date.now() };
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
      throw new RpcError(status.FAILED_PRECONDITION, `schema ${record.source}/${record.eventType} changed since revision ${expected}`, {
        cause: err,
      });
    }
  }

  /** Deletes if still at `revision` (0: any). Throws NOT_FOUND or FAILED_PRECONDITION. */
  async delete(source: string, eventType: string, revision: number): Promise<void> {
    const current = await this.require(source, eventType);
    if (revision !== 0 && revision !== current.revision) {
      throw new RpcError(status.FAILED_PRECONDITION, `schema ${source}/${eventType} is at revision ${current.revision}, not ${revision}`);
    }
    try {
      await this.#kv.delete(schemaKey(source, eventType), { previousSeq: current.revision });
    } catch (err) {
      if (isWrongRevision(err)) throw new RpcError(status.FAILED_PRECONDITION, `schema ${source}/${eventType} changed while deleting`);
      throw err;
    }
  }

  #encode(record: SchemaRecord): string {
    const value = JSON.stringify(record);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > this.#options.maxStoredBytes) {
      throw invalid('schema_json', `is ${bytes} bytes once stored, over the ${this.#options.maxStoredBytes} bytes the NATS server takes`);
    }
    return value;
  }

  #record(input: SchemaInput, version: number): SchemaRecord {
    if (input.description.length > MAX_DESCRIPTION_CHARS) {
      throw invalid('description', `is ${input.description.length} characters, over the limit of ${MAX_DESCRIPTION_CHARS}`);
    }
    const schema = parseJsonField(input.schemaJson, 'schema_json', this.#options.limits);
    const record = parseSchemaRecord({
      source: input.source,
      eventType: input.eventType,
      version,
      schema,
      ...(input.description !== '' ? { description: input.description } : {}),
    });
    const compiled = compileSchema(record.schema, 'additive');
    if (!compiled.ok) throw invalid('schema_json', `does not compile: ${compiled.error}`);
    return record;
  }
}
