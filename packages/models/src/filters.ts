import { type CelInput, CelScalar, celEnv, celFunc, celList, celMap, isCelError, parse, plan } from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';
import type { FilterVerdict } from '@hookstream/contracts';
import { checkFilter } from './endpoints.ts';

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

/** What a filter said about one event (the contracts' `FilterVerdict`). */
export type FilterResult = FilterVerdict;

/** A compiled filter. */
export type CompiledFilter = (input: FilterInput) => FilterResult;

/** How much one evaluation of one filter may cost. */
export interface FilterBudget {
  /**
   * Steps at most: one per comprehension iteration (`all`, `exists`,
   * `exists_one`, `map`, `filter`), plus one per 100 characters × RE2
   * instructions of each `matches`.
   */
  readonly maxSteps: number;
  /** Wall-clock milliseconds at most, checked at every step. */
  readonly maxMs: number;
}

/** The default {@link FilterBudget} (`HS_ROUTE_FILTER_MAX_STEPS`, `HS_ROUTE_FILTER_MAX_MS`). */
export const DEFAULT_FILTER_BUDGET: FilterBudget = Object.freeze({ maxSteps: 100_000, maxMs: 100 });
/** Most RE2 program instructions a `matches` pattern may compile to. */
export const MAX_FILTER_PATTERN_PROGRAM = 2_000;
/** Characters × RE2 instructions of `matches` work that count as one step. */
const REGEX_WORK_PER_STEP = 100;
/** The function wrapped around every comprehension's loop condition; it counts a step and passes its argument through. */
const STEP = '__hs_step';

/** The budget of the evaluation in progress: evaluation is synchronous, so one slot serves. */
class Meter {
  steps = 0;
  exhausted: string | undefined;
  readonly #budget: FilterBudget;
  readonly #deadline: number;
  constructor(budget: FilterBudget) {
    this.#budget = budget;
    this.#deadline = performance.now() + budget.maxMs;
  }

  /** Counts `n` steps; throws (and remembers why) once the budget is spent. */
  step(n: number): void {
    this.steps += n;
    if (this.exhausted === undefined) {
      if (this.steps > this.#budget.maxSteps) {
        this.exhausted = `filter budget exceeded: more than ${this.#budget.maxSteps} steps (comprehension iterations and regex work)`;
      } else if (performance.now() > this.#deadline) {
        this.exhausted = `filter budget exceeded: ran longer than ${this.#budget.maxMs} ms`;
      }
    }
    if (this.exhausted !== undefined) throw new Error(this.exhausted);
  }
}
let meter: Meter | undefined;

const patterns = new Map<string, { readonly re: RE2JS; readonly size: number } | Error>();
/** A `matches` pattern compiled once (a few hundred kept); an Error for one that does not compile or is too big. */
function pattern(source: string): { readonly re: RE2JS; readonly size: number } {
  let compiled = patterns.get(source);
  if (compiled === undefined) {
    if (patterns.size >= 512) patterns.clear();
    try {
      const re = RE2JS.compile(source);
      const size = re.re2().prog.numInst();
      compiled =
        size > MAX_FILTER_PATTERN_PROGRAM
          ? new Error(`matches: the pattern compiles to ${size} RE2 instructions, more than ${MAX_FILTER_PATTERN_PROGRAM}`)
          : { re, size };
    } catch (err) {
      compiled = new Error(`matches: ${(err as Error).message}`);
    }
    patterns.set(source, compiled);
  }
  if (compiled instanceof Error) throw compiled;
  return compiled;
}

const env = celEnv({
  funcs: [
    celFunc(STEP, [CelScalar.DYN], CelScalar.DYN, (value) => {
      meter?.step(1);
      return value;
    }),
  ],
  // `matches` on the same RE2 engine as the library's, its work charged to the budget before it runs.
  re2: {
    compile: (source) => {
      const { re, size } = pattern(source);
      return {
        test: (text) => {
          meter?.step(Math.ceil(((text.length + 1) * size) / REGEX_WORK_PER_STEP));
          return re.test(text);
        },
      };
    },
  },
});

type Expr = ReturnType<typeof parse>['expr'];

/**
 * Wraps the loop condition of every comprehension in `__hs_step(…)`, so each
 * iteration counts against the budget and, once it is spent, ends its loop
 * with an error. Iterative; mutates the freshly parsed tree.
 */
function instrument(root: Expr): void {
  const stack: (Expr | undefined)[] = [root];
  while (stack.length > 0) {
    const expr = stack.pop();
    if (expr === undefined) continue;
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'selectExpr':
        stack.push(kind.value.operand);
        break;
      case 'callExpr':
        stack.push(kind.value.target, ...kind.value.args);
        break;
      case 'listExpr':
        stack.push(...kind.value.elements);
        break;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          stack.push(entry.value);
          if (entry.keyKind.case === 'mapKey') stack.push(entry.keyKind.value);
        }
        break;
      case 'comprehensionExpr': {
        const c = kind.value;
        const condition = c.loopCondition;
        if (condition !== undefined) {
          // The planner reads only `id` and `exprKind`; the copy keeps the condition's id for error messages.
          const call = { $typeName: 'cel.expr.Expr.Call', target: undefined, function: STEP, args: [condition] };
          c.loopCondition = { ...condition, exprKind: { case: 'callExpr', value: call } } as Expr;
        }
        stack.push(c.iterRange, c.accuInit, condition, c.loopStep, c.result);
        break;
      }
      default:
        break;
    }
  }
}

/**
 * A parsed body as CEL values, converted once per event: the library would
 * otherwise convert an object's entries again at every access, so a
 * comprehension touching `data` would cost the body's size per iteration.
 */
function toCelValue(value: unknown): CelInput {
  if (Array.isArray(value)) return celList(value.map(toCelValue));
  if (typeof value === 'object' && value !== null) {
    const entries = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value)) entries.set(k, toCelValue(v));
    return celMap(entries);
  }
  return value as CelInput;
}

// One conversion per event: planRoutes hands every endpoint's filter the same input object.
const converted = new WeakMap<FilterInput, Record<string, CelInput>>();
function activation(input: FilterInput): Record<string, CelInput> {
  let vars = converted.get(input);
  if (vars === undefined) {
    vars = { type: input.type, source: input.source, id: input.id, data: toCelValue(input.data), headers: toCelValue(input.headers) };
    converted.set(input, vars);
  }
  return vars;
}

/**
 * Compiles a CEL expression once, refusing what {@link checkFilter} refuses
 * (too long, comprehensions nested too deep). The returned function never
 * throws: an evaluation error (a missing field, a type mismatch), a
 * non-boolean result, or a spent budget (more than `budget.maxSteps` steps or
 * `budget.maxMs` ms; the error says which) comes back as `{ ok: false, error }`.
 * Throws only here, at compile time (endpoint records are checked for that
 * when written).
 */
export function compileFilter(expression: string, budget: FilterBudget = DEFAULT_FILTER_BUDGET): CompiledFilter {
  checkFilter(expression);
  const parsed = parse(expression);
  instrument(parsed.expr);
  const program = plan(env, parsed);
  return (input) => {
    const current = new Meter(budget);
    let result: unknown;
    meter = current;
    try {
      result = program(activation(input));
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    } finally {
      meter = undefined;
    }
    // Checked first: `||`, `&&` and `?:` can swallow the error that ended a loop.
    if (current.exhausted !== undefined) return { ok: false, error: current.exhausted };
    if (isCelError(result)) return { ok: false, error: result.message };
    if (typeof result !== 'boolean') return { ok: false, error: `filter returned ${typeof result}, not a boolean` };
    return { ok: true, match: result };
  };
}

/** Compiled filters cached by endpoint id and expression; a changed expression is compiled again. */
export class FilterCache {
  readonly #compiled = new Map<string, { expression: string; filter: CompiledFilter }>();
  readonly #budget: FilterBudget;

  constructor(budget: FilterBudget = DEFAULT_FILTER_BUDGET) {
    this.#budget = budget;
  }

  /**
   * Evaluates an endpoint's filter on the event `input()` builds (called
   * only when needed): what the filter said, or `{ ok: false }` with
   * `does not compile: …` when it cannot be compiled. Never throws.
   */
  evaluate(endpointId: string, expression: string, input: () => FilterInput): FilterResult {
    try {
      return this.get(endpointId, expression)(input());
    } catch (err) {
      return { ok: false, error: `does not compile: ${(err as Error).message}` };
    }
  }

  /** The compiled filter for an endpoint's current expression; throws if it does not compile or is refused. */
  get(endpointId: string, expression: string): CompiledFilter {
    const cached = this.#compiled.get(endpointId);
    if (cached?.expression === expression) return cached.filter;
    const filter = compileFilter(expression, this.#budget);
    this.#compiled.set(endpointId, { expression, filter });
    return filter;
  }
}
