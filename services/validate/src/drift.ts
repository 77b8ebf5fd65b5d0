import type { JsonType } from '@hookstream/contracts';
import type { SchemaRecord } from '@hookstream/models';
import { compilePattern, RegexBudgetError, type SafePattern } from '@hookstream/schema-compiler';

/** A property present in an event that its schema does not declare. */
export interface DriftFinding {
  /** Where, e.g. `$.data.object.new_field`; array elements are `[*]` (or `[i]` for tuple positions). */
  readonly path: string;
  readonly jsonType: JsonType;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON type of a parsed value. */
export function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
const segment = (key: string): string => (IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

// Subschemas that apply at the same position as their parent.
const IN_PLACE = ['allOf', 'anyOf', 'oneOf'];
const IN_PLACE_ONE = ['if', 'then', 'else'];
const MAX_REF_HOPS = 16;

function resolveRef(ref: string, root: unknown): unknown {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined; // remote and anchor refs are not followed
  let current: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Json)[key];
  }
  return current;
}

/** Every object schema that applies at one position: the schema, its local `$ref`s, and its allOf/anyOf/oneOf/if/then/else members. */
function shapes(schema: unknown, root: unknown, out: Json[] = [], hops = 0): Json[] {
  if (!isObject(schema) || hops > MAX_REF_HOPS || out.includes(schema)) return out;
  out.push(schema);
  if (typeof schema.$ref === 'string') shapes(resolveRef(schema.$ref, root), root, out, hops + 1);
  for (const k of IN_PLACE) {
    const list = schema[k];
    if (Array.isArray(list)) for (const s of list) shapes(s, root, out, hops + 1);
  }
  for (const k of IN_PLACE_ONE) shapes(schema[k], root, out, hops + 1);
  return out;
}

/** Tests a schema regex against a property name: true when it matches. May throw {@link RegexBudgetError}. */
export type PatternTest = (pattern: string, key: string) => boolean;

const unmetered = new Map<string, SafePattern | undefined>();
/** The test used when none is given: RE2, unmetered, compiled regexes kept (a few hundred at most). */
const testUnmetered: PatternTest = (pattern, key) => {
  if (!unmetered.has(pattern)) {
    if (unmetered.size >= 512) unmetered.clear();
    let compiled: SafePattern | undefined;
    try {
      compiled = compilePattern(pattern);
    } catch {
      compiled = undefined;
    }
    unmetered.set(pattern, compiled);
  }
  return unmetered.get(pattern)?.test(key) ?? false;
};

function patternMatches(shape: Json, key: string, test: PatternTest): boolean {
  const patterns = shape.patternProperties;
  if (!isObject(patterns)) return false;
  for (const p of Object.keys(patterns)) {
    try {
      if (test(p, key)) return true;
    } catch (err) {
      // Out of regex budget: what could not be checked is not reported as drift.
      if (err instanceof RegexBudgetError) return true;
      // An invalid pattern matches nothing here; the schema compile reports it.
    }
  }
  return false;
}

interface Walk {
  readonly root: unknown;
  readonly out: DriftFinding[];
  readonly seen: Set<string>;
  readonly max: number;
  readonly test: PatternTest;
}

function walk(value: unknown, schema: unknown, path: string, w: Walk): void {
  if (w.out.length >= w.max) return;
  const all = shapes(schema, w.root);
  if (all.length === 0) return;
  if (isObject(value)) {
    const declaring = all.filter((s) => isObject(s.properties));
    // A schema that names no properties does not describe the object's shape.
    if (declaring.length === 0) return;
    for (const key of Object.keys(value)) {
      const owner = declaring.find((s) => Object.hasOwn(s.properties as Json, key));
      const child = path + segment(key);
      if (owner !== undefined) {
        walk(value[key], (owner.properties as Json)[key], child, w);
      } else if (!all.some((s) => Object.hasOwn(s, 'additionalProperties') || patternMatches(s, key, w.test))) {
        if (!w.seen.has(child)) {
          w.seen.add(child);
          w.out.push({ path: child, jsonType: jsonTypeOf(value[key]) });
          if (w.out.length >= w.max) return;
        }
      }
    }
  } else if (Array.isArray(value)) {
    const tuple = all
      .map((s) => (Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined))
      .find((t) => t);
    const rest = all.map((s) => s.items).find(isObject);
    for (let i = 0; i < value.length; i++) {
      if (tuple !== undefined && i < tuple.length) walk(value[i], tuple[i], `${path}[${i}]`, w);
      else if (rest !== undefined) walk(value[i], rest, `${path}[*]`, w);
    }
  }
}

/**
 * Properties of `value` that `schema` does not declare, each path once, at
 * most `max`. The walk follows `properties` into declared properties and
 * `items` / `prefixItems` into arrays; at each position every applicable
 * subschema counts (local `$ref`s, `allOf`, `anyOf`, `oneOf`, `if`/`then`/`else`).
 * A property is not drift when some applicable subschema declares it, sets
 * `additionalProperties` (true, false or a schema), or matches it with
 * `patternProperties`; objects whose schema declares no `properties` are
 * not looked into. `patternProperties` regexes run through `test` (RE2;
 * pass the compiled schema's metered test so the event's regex budget
 * holds); a regex that cannot be checked within the budget counts as
 * matching. Pure; recursion is bounded by the value's depth.
 */
export function findDrift(value: unknown, schema: SchemaRecord['schema'], max = 64, test: PatternTest = testUnmetered): DriftFinding[] {
  const w: Walk = { root: schema, out: [], seen: new Set(), max, test };
  walk(value, schema, '$', w);
  return w.out;
}

/** Options for {@link DriftLimiter}. */
export interface DriftLimiterOptions {
  /** A key is let through at most once per interval. */
  readonly intervalMs: number;
  readonly now: () => number;
  /** Keys remembered at most; the oldest are forgotten first. */
  readonly maxKeys?: number;
}

/**
 * Lets each drift key (source, type, path) through at most once per
 * interval. In memory: every replica limits on its own, and a restart
 * forgets. Bounded: expired keys are pruned, and past `maxKeys` the oldest go.
 */
export class DriftLimiter {
  readonly #last = new Map<string, number>();
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor(options: DriftLimiterOptions) {
    this.#intervalMs = options.intervalMs;
    this.#now = options.now;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** The key of (source, event type, path). */
  static key(source: string, eventType: string, path: string): string {
    return `${source}\u0000${eventType}\u0000${path}`;
  }

  /**
   * Lets `key` through when it has not been let through within the
   * interval: answers the moment it now counts as let through (pass it to
   * {@link release} if the record could not be published), or undefined
   * when the key is still rate-limited.
   */
  tryAcquire(key: string): number | undefined {
    const now = this.#now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return undefined;
    // Re-inserting keeps the map in time order, oldest first, for pruning.
    this.#last.delete(key);
    this.#last.set(key, now);
    this.#prune(now);
    return now;
  }

  /** Undoes the acquisition made at `at` (a failed publish), so the next event records the drift. */
  release(key: string, at: number): void {
    if (this.#last.get(key) === at) this.#last.delete(key);
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.#last.size;
  }

  #prune(now: number): void {
    for (const [key, at] of this.#last) {
      if (this.#last.size <= this.#maxKeys && now - at < this.#intervalMs) break;
      this.#last.delete(key);
    }
  }
}
