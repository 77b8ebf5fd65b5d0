import { ValidationError } from '@hookstream/contracts';
import type { KV } from '@nats-io/kv';
import { SOURCE_ID } from './sources.ts';

/**
 * A JSON Schema registered for (source, event type), stored in the
 * `hs_schemas` bucket under {@link schemaKey}. `version` grows by one on each
 * change; validate always applies the current record. Whether the schema
 * compiles is checked by validate (and by the control plane on write).
 */
export interface SchemaRecord {
  readonly source: string;
  readonly eventType: string;
  readonly version: number;
  /** The JSON Schema (draft 2020-12 or draft-07, per its `$schema`). */
  readonly schema: Readonly<Record<string, unknown>> | boolean;
  readonly description?: string;
}

/**
 * The KV key of a (source, event type): `{source}.{type}` where the type's
 * characters outside `[A-Za-z0-9_-]` and `.` are written `=XX` (hex, UTF-8),
 * so every type maps to exactly one valid key and back.
 */
export function schemaKey(source: string, eventType: string): string {
  let encoded = '';
  for (const byte of new TextEncoder().encode(eventType)) {
    const c = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9_-]/.test(c) ? c : `=${byte.toString(16).padStart(2, '0')}`;
  }
  return `${source}.${encoded === '' ? '=' : encoded}`;
}

/** Checks a schema record's shape. Throws {@link ValidationError} naming the field. Pure. */
export function parseSchemaRecord(input: unknown): SchemaRecord {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('schema record', 'must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  if (typeof raw.source !== 'string' || !SOURCE_ID.test(raw.source)) throw new ValidationError('source', 'must be a source id');
  if (typeof raw.eventType !== 'string' || raw.eventType === '' || raw.eventType.length > 256) {
    throw new ValidationError('eventType', 'must be a non-empty string of at most 256 characters');
  }
  if (typeof raw.version !== 'number' || !Number.isInteger(raw.version) || raw.version < 1) {
    throw new ValidationError('version', 'must be a positive integer');
  }
  const schema = raw.schema;
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    throw new ValidationError('schema', 'must be a JSON Schema (an object or a boolean)');
  }
  return Object.freeze({ ...raw, source: raw.source, eventType: raw.eventType, version: raw.version, schema }) as SchemaRecord;
}

/** Decodes a KV value into a {@link SchemaRecord}; the key must match its source and type. */
export function decodeSchema(key: string, value: Uint8Array): SchemaRecord {
  const record = parseSchemaRecord(JSON.parse(new TextDecoder().decode(value)));
  if (schemaKey(record.source, record.eventType) !== key)
    throw new ValidationError('key', `must be ${schemaKey(record.source, record.eventType)}`);
  return record;
}

/**
 * Typed writes to the `hs_schemas` bucket (the control plane is the only
 * writer in production; tests write through this).
 */
export class SchemaStore {
  readonly #kv: KV;
  constructor(kv: KV) {
    this.#kv = kv;
  }

  /**
   * Registers a schema for (source, type), one version above the current
   * one. Resolves to the stored record. Throws ValidationError on a bad shape.
   */
  async put(source: string, eventType: string, schema: SchemaRecord['schema'], description?: string): Promise<SchemaRecord> {
    const key = schemaKey(source, eventType);
    const current = await this.get(source, eventType);
    const record = parseSchemaRecord({
      source,
      eventType,
      version: (current?.version ?? 0) + 1,
      schema,
      ...(description !== undefined ? { description } : {}),
    });
    await this.#kv.put(key, JSON.stringify(record));
    return record;
  }

  /** The current record, or undefined. */
  async get(source: string, eventType: string): Promise<SchemaRecord | undefined> {
    const entry = await this.#kv.get(schemaKey(source, eventType));
    if (entry?.operation !== 'PUT') return undefined;
    return decodeSchema(entry.key, entry.value);
  }

  /** Removes the schema of (source, type). */
  async delete(source: string, eventType: string): Promise<void> {
    await this.#kv.delete(schemaKey(source, eventType));
  }
}
