import { type SchemaMode, type SchemaRecord, schemaKey } from '@hookstream/runtime';
import { Ajv, type AnySchema, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';

/** One schema violation as reported in dead letters and `hs.obs.schema_failure`. */
export interface SchemaError {
  /** JSON Pointer into the event (ajv's `instancePath`), '' for the root. */
  readonly path: string;
  /** The JSON Schema keyword that failed (`required`, `type`, `additionalProperties`, …). */
  readonly keyword: string;
  readonly message: string;
}

/** The JSON Schema dialects validate compiles. */
export type Dialect = '2020-12' | 'draft-07';

/** A compiled schema: `check` answers the violations of a value ([] when valid). */
export type Compiled =
  | { readonly ok: true; readonly dialect: Dialect; readonly check: (value: unknown) => readonly SchemaError[] }
  | { readonly ok: false; readonly error: string };

/** Modes in which a schema is applied (mode `off` never compiles anything). */
export type CheckedMode = Exclude<SchemaMode, 'off'>;

const AJV_OPTIONS: Options = {
  allErrors: true,
  strict: false,
  // `format` is an annotation (the 2020-12 default); no format is asserted,
  // so an unknown format never fails a compile or logs a warning.
  validateFormats: false,
  logger: false,
};

/**
 * The dialect a schema asks for through `$schema`: draft-07 when it names
 * draft-07, 2020-12 when it names 2020-12 or says nothing (boolean schemas
 * too). Any other `$schema` (draft-04, 2019-09, …) is unsupported: undefined.
 */
export function dialectOf(schema: SchemaRecord['schema']): Dialect | undefined {
  if (typeof schema === 'boolean') return '2020-12';
  const declared = schema.$schema;
  if (declared === undefined) return '2020-12';
  if (typeof declared !== 'string') return undefined;
  if (declared.includes('2020-12')) return '2020-12';
  if (declared.includes('draft-07')) return 'draft-07';
  return undefined;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// Keywords whose value is one subschema, a list of them, or a map of them.
const ONE = [
  'additionalProperties',
  'additionalItems',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'items',
];
const LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const MAP = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies'];

/**
 * The strict variant of a schema: a deep copy in which every object schema
 * that declares `properties` and does not set `additionalProperties` itself
 * gets `additionalProperties: false`. Only real subschema positions are
 * walked (`properties`, `items`, `allOf`, `$defs`, …), never `const`,
 * `enum`, `default` or `examples` values. The input is not modified.
 */
export function strictVariant(schema: SchemaRecord['schema']): SchemaRecord['schema'] {
  if (typeof schema === 'boolean') return schema;
  const copy = structuredClone(schema) as Json;
  tighten(copy);
  return copy;
}

function tighten(schema: unknown): void {
  if (!isObject(schema)) return;
  if (isObject(schema.properties) && !Object.hasOwn(schema, 'additionalProperties')) schema.additionalProperties = false;
  for (const k of ONE) if (isObject(schema[k])) tighten(schema[k]);
  for (const k of LIST) {
    const list = schema[k];
    if (Array.isArray(list)) for (const s of list) tighten(s);
  }
  for (const k of MAP) {
    const map = schema[k];
    if (isObject(map)) for (const s of Object.values(map)) tighten(s);
  }
}

function toSchemaError(e: ErrorObject): SchemaError {
  const params = e.params as Record<string, unknown>;
  // ajv's message does not name the extra property; the reader needs it.
  const message =
    e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string'
      ? `${e.message ?? 'must NOT have additional properties'}: '${params.additionalProperty}'`
      : (e.message ?? e.keyword);
  return { path: e.instancePath, keyword: e.keyword, message };
}

/**
 * Compiles one schema for `mode` with a fresh ajv instance (so schemas with
 * the same `$id` in different versions never clash), `allErrors` on and
 * ajv's strict mode off. Never throws: a schema that does not compile gives
 * `{ ok: false, error }`. Pure apart from the CPU it costs.
 */
export function compileSchema(schema: SchemaRecord['schema'], mode: CheckedMode): Compiled {
  const dialect = dialectOf(schema);
  if (dialect === undefined) {
    const declared = typeof schema === 'object' ? JSON.stringify(schema.$schema) : '';
    return { ok: false, error: `unsupported $schema ${declared}: use draft 2020-12 or draft-07` };
  }
  const applied = mode === 'strict' ? strictVariant(schema) : schema;
  let validate: ValidateFunction;
  try {
    const ajv = dialect === 'draft-07' ? new Ajv(AJV_OPTIONS) : new Ajv2020(AJV_OPTIONS);
    validate = ajv.compile(applied as AnySchema);
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  return {
    ok: true,
    dialect,
    check: (value) => (validate(value) ? [] : (validate.errors ?? []).map(toSchemaError)),
  };
}

interface Entry {
  record: SchemaRecord;
  readonly byMode: Map<CheckedMode, Compiled>;
}

/**
 * Compiled schemas, one per (source, type, version) and mode, kept until the
 * record changes. `onInvalid` is called once per record version and mode
 * that does not compile (validate logs it), not once per event.
 */
export class SchemaCache {
  readonly #entries = new Map<string, Entry>();
  readonly #onInvalid: (record: SchemaRecord, mode: CheckedMode, error: string) => void;

  constructor(onInvalid: (record: SchemaRecord, mode: CheckedMode, error: string) => void = () => undefined) {
    this.#onInvalid = onInvalid;
  }

  /** The compiled form of `record` for `mode`, compiling it on first use. Never throws. */
  compiled(record: SchemaRecord, mode: CheckedMode): Compiled {
    const key = schemaKey(record.source, record.eventType);
    let entry = this.#entries.get(key);
    if (entry !== undefined && entry.record !== record) {
      // A new record object: the same version and schema (a watch replay)
      // keeps the compiled code; anything else starts again.
      if (entry.record.version === record.version && JSON.stringify(entry.record.schema) === JSON.stringify(record.schema)) {
        entry.record = record;
      } else {
        entry = undefined;
      }
    }
    if (entry === undefined) {
      entry = { record, byMode: new Map() };
      this.#entries.set(key, entry);
    }
    let compiled = entry.byMode.get(mode);
    if (compiled === undefined) {
      compiled = compileSchema(record.schema, mode);
      entry.byMode.set(mode, compiled);
      if (!compiled.ok) this.#onInvalid(record, mode, compiled.error);
    }
    return compiled;
  }

  /** Drops the compiled schema of (source, type), e.g. after its record was deleted. */
  forget(source: string, eventType: string): void {
    this.#entries.delete(schemaKey(source, eventType));
  }

  /** Number of (source, type) entries held. */
  get size(): number {
    return this.#entries.size;
  }
}
