import { type CelInput, celEnv, isCelError, parse, plan } from '@bufbuild/cel';

/** The variables a filter sees. */
export interface FilterInput {
  /** The event type (`hs-event-type`). */
  readonly type: string;
  readonly source: string;
  /** The event id. */
  readonly id: string;
  /** The parsed body (JSON, or a form body as an object); null when neither. */
  readonly data: unknown;
  /** The sender's headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What a filter said about one event. */
export type FilterResult = { readonly ok: true; readonly match: boolean } | { readonly ok: false; readonly error: string };

/** A compiled filter. */
export type CompiledFilter = (input: FilterInput) => FilterResult;

const env = celEnv();

/**
 * Compiles a CEL expression once. The returned function never throws: an
 * evaluation error (a missing field, a type mismatch) or a non-boolean
 * result comes back as `{ ok: false, error }`. Throws only here, at compile
 * time, for an expression that does not parse (endpoint records are checked
 * for that when written).
 */
export function compileFilter(expression: string): CompiledFilter {
  const program = plan(env, parse(expression));
  return (input) => {
    let result: unknown;
    try {
      result = program(input as unknown as Record<string, CelInput>);
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    if (isCelError(result)) return { ok: false, error: result.message };
    if (typeof result !== 'boolean') return { ok: false, error: `filter returned ${typeof result}, not a boolean` };
    return { ok: true, match: result };
  };
}

/** Compiled filters cached by endpoint id and expression; a changed expression is compiled again. */
export class FilterCache {
  readonly #compiled = new Map<string, { expression: string; filter: CompiledFilter }>();

  /** The compiled filter for an endpoint's current expression; throws if it does not parse. */
  get(endpointId: string, expression: string): CompiledFilter {
    const cached = this.#compiled.get(endpointId);
    if (cached?.expression === expression) return cached.filter;
    const filter = compileFilter(expression);
    this.#compiled.set(endpointId, { expression, filter });
    return filter;
  }
}
