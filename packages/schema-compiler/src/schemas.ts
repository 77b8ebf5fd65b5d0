import type { SchemaError } from '@hookstream/contracts';
import { type SchemaMode, type SchemaRecord, schemaKey } from '@hookstream/models';
import { Ajv, type AnySchema, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compilePattern, MAX_SCHEMA_PROGRAM, PatternError, type RegexMeter, type SafePattern } from './regex.ts';

/** The JSON Schema dialects validate compiles. */
export type Dialect = '2020-12' | 'draft-07';

/**
 * A compiled schema. `check` answers the violations of a value ([] when
 * valid); given a meter, every regex test is charged to it first, and
 * `check` throws {@link RegexBudgetError} once the meter's budget runs out.
 * `testPattern` tests one of the schema's regexes (or another, compiled
 * under the same rules; one that cannot be compiled matches nothing), charged
 * the same way.
 */
export type Compiled =
  | {
      readonly ok: true;
      readonly dialect: Dialect;
      readonly check: (value: unknown, meter?: RegexMeter) => readonly SchemaError[];
      readonly testPattern: (pattern: string, text: string, meter?: RegexMeter) => boolean;
    }
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

const pointerToken = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Every regex of a schema with where it is, as a JSON Pointer into the
 * schema: `pattern` values (`/properties/name/pattern`) and
 * `patternProperties` keys (`/patternProperties/^x-`), walking the same
 * subschema positions as {@link strictVariant}.
 */
function schemaRegexes(schema: unknown, at = '', out: { pointer: string; pattern: string }[] = []): typeof out {
  if (!isObject(schema)) return out;
  if (typeof schema.pattern === 'string') out.push({ pointer: `${at}/pattern`, pattern: schema.pattern });
  if (isObject(schema.patternProperties)) {
    for (const key of Object.keys(schema.patternProperties))
      out.push({ pointer: `${at}/patternProperties/${pointerToken(key)}`, pattern: key });
  }
  for (const k of ONE) if (isObject(schema[k])) schemaRegexes(schema[k], `${at}/${k}`, out);
  for (const k of LIST) {
    const list = schema[k];
    if (Array.isArray(list)) for (const [i, s] of list.entries()) schemaRegexes(s, `${at}/${k}/${i}`, out);
  }
  for (const k of MAP) {
    const map = schema[k];
    if (isObject(map)) for (const [key, s] of Object.entries(map)) schemaRegexes(s, `${at}/${k}/${pointerToken(key)}`, out);
  }
  return out;
}

/** The regexes of one schema, compiled for RE2 once each, their total size bounded. */
class SchemaPatterns {
  readonly #compiled = new Map<string, SafePattern>();
  #total = 0;

  /** The compiled regex; throws PatternError when it is refused or the schema's regexes grow too big. */
  get(source: string): SafePattern {
    let pattern = this.#compiled.get(source);
    if (pattern === undefined) {
      pattern = compilePattern(source);
      this.#total += pattern.size;
      if (this.#total > MAX_SCHEMA_PROGRAM) {
        throw new PatternError(source, `brings the schema's regexes to more than ${MAX_SCHEMA_PROGRAM} RE2 instructions in all`);
      }
      this.#compiled.set(source, pattern);
    }
    return pattern;
  }
}

/**
 * Compiles one schema for `mode` with a fresh ajv instance (so schemas with
 * the same `$id` in different versions never clash), `allErrors` on and
 * ajv's strict mode off. Every regex (`pattern`, `patternProperties`) runs on
 * RE2 through ajv's `code.regExp`, so matching is linear in the text; a regex
 * RE2 cannot run (backreferences, lookaround, …) or over the size limits makes
 * the schema not compile, the error naming where the regex is and why. Never
 * throws: a schema that does not compile gives `{ ok: false, error }`. Pure
 * apart from the CPU it costs.
 */
export function compileSchema(schema: SchemaRecord['schema'], mode: CheckedMode): Compiled {
  const dialect = dialectOf(schema);
  if (dialect === undefined) {
    const declared = typeof schema === 'object' ? JSON.stringify(schema.$schema) : '';
    return { ok: false, error: `unsupported $schema ${declared}: use draft 2020-12 or draft-07` };
  }
  const patterns = new SchemaPatterns();
  for (const { pointer, pattern } of schemaRegexes(schema)) {
    try {
      patterns.get(pattern);
    } catch (err) {
      return { ok: false, error: `${pointer}: ${(err as Error).message}` };
    }
  }
  // The meter of the check in progress: checks are synchronous, so one slot serves.
  let meter: RegexMeter | undefined;
  const regExp = Object.assign(
    (source: string, flags: string) => {
      const pattern = patterns.get(source);
      return { test: (text: string) => pattern.test(text, meter), toString: () => `/${source}/${flags}` };
    },
    { code: 'hookstreamRe2' },
  );
  const applied = mode === 'strict' ? strictVariant(schema) : schema;
  let validate: ValidateFunction;
  try {
    const options: Options = { ...AJV_OPTIONS, code: { regExp } };
    const ajv = dialect === 'draft-07' ? new Ajv(options) : new Ajv2020(options);
    validate = ajv.compile(applied as AnySchema);
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  return {
    ok: true,
    dialect,
    check: (value, checkMeter) => {
      meter = checkMeter;
      try {
        return validate(value) ? [] : (validate.errors ?? []).map(toSchemaError);
      } finally {
        meter = undefined;
      }
    },
    testPattern: (source, text, testMeter) => {
      let pattern: SafePattern;
      try {
        pattern = patterns.get(source);
      } catch {
        return false;
      }
      return pattern.test(text, testMeter);
    },
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
