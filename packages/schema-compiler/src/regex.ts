import { RE2JS } from 're2js';

/** Longest schema regex accepted (a `pattern` value or a `patternProperties` key), in characters. */
export const MAX_PATTERN_LENGTH = 2_000;
/** Most RE2 program instructions one schema regex may compile to (`[a-z]{1000}` is about 1,000). */
export const MAX_PATTERN_PROGRAM = 2_000;
/** Most RE2 program instructions the regexes of one schema may compile to together. */
export const MAX_SCHEMA_PROGRAM = 20_000;
/**
 * Default regex work one event may cost at validate: characters tested
 * times the tested regex's program size, summed over every test.
 */
export const DEFAULT_REGEX_BUDGET = 20_000_000;

/** A schema regex that validate refuses to run, and why. */
export class PatternError extends Error {
  override readonly name = 'PatternError';
  readonly pattern: string;
  readonly reason: string;
  constructor(pattern: string, reason: string, options?: { cause?: unknown }) {
    super(`pattern ${JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern)} ${reason}`, options);
    this.pattern = pattern;
    this.reason = reason;
  }
}

/** Thrown by a metered regex test when one event's regex work passes its budget. */
export class RegexBudgetError extends Error {
  override readonly name = 'RegexBudgetError';
  readonly budget: number;
  readonly pattern: string;
  constructor(budget: number, pattern: string) {
    super(`regex work over the budget of ${budget} (characters tested × program size) at pattern ${JSON.stringify(pattern.slice(0, 80))}`);
    this.budget = budget;
    this.pattern = pattern;
  }
}

/**
 * The regex work one event may still do. Each test of a string `s` against
 * a regex of `n` program instructions costs `s.length × n`: RE2 runs in time
 * linear in the text, with the program size as the factor, so the sum
 * bounds the CPU one event can take. Not shared between events.
 */
export class RegexMeter {
  readonly budget: number;
  #spent = 0;
  constructor(budget: number) {
    this.budget = budget;
  }

  /** Work done so far. */
  get spent(): number {
    return this.#spent;
  }

  /** Adds `units` of work for `pattern`; throws {@link RegexBudgetError} once the total passes the budget. */
  charge(units: number, pattern: string): void {
    this.#spent += units;
    if (this.#spent > this.budget) throw new RegexBudgetError(this.budget, pattern);
  }
}

/** A schema regex compiled for RE2: linear-time matching, its program size known. */
export interface SafePattern {
  readonly source: string;
  /** RE2 program instructions: the factor of the linear matching time. */
  readonly size: number;
  /** True when the regex matches somewhere in `text` (ECMA-262 `test` semantics); charges `meter` first. */
  test(text: string, meter?: RegexMeter): boolean;
}

/**
 * Finds the first ECMA-262 construct RE2 cannot run (or would silently read
 * differently): backreferences (`\1`, `\k<name>`) and lookaround
 * (`(?=`, `(?!`, `(?<=`, `(?<!`). Expects a pattern that is valid with the
 * `u` flag, where every other escape is a fixed one. Pure.
 */
function unsupported(pattern: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next)) return 'uses a backreference (\\N), which a linear-time engine (RE2) cannot run';
      // With the u flag, \k is only valid as a named backreference.
      if (next === 'k') return 'uses a named backreference (\\k<name>), which a linear-time engine (RE2) cannot run';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(' && pattern[i + 1] === '?') {
      const kind = pattern.slice(i + 2, i + 4);
      if (kind.startsWith('=') || kind.startsWith('!') || kind === '<=' || kind === '<!') {
        return 'uses lookaround ((?=, (?!, (?<=, (?<!), which a linear-time engine (RE2) cannot run';
      }
    }
  }
  return undefined;
}

/**
 * Compiles a JSON Schema regex (ECMA-262 syntax, unicode mode, as ajv reads
 * it) for RE2, which matches in time linear in the text, so no input can make
 * it backtrack. Throws {@link PatternError} naming the reason for a pattern
 * that is not valid ECMA-262, uses backreferences or lookaround, that RE2
 * cannot compile (e.g. a repeat count over 1,000), or that is longer than
 * {@link MAX_PATTERN_LENGTH} characters or bigger than
 * {@link MAX_PATTERN_PROGRAM} instructions. Building the `RegExp` only
 * checks the syntax; it is never used to match.
 */
export function compilePattern(source: string): SafePattern {
  if (source.length > MAX_PATTERN_LENGTH) throw new PatternError(source, `is longer than ${MAX_PATTERN_LENGTH} characters`);
  try {
    new RegExp(source, 'u');
  } catch (err) {
    throw new PatternError(source, `is not a valid regular expression: ${(err as Error).message}`, { cause: err });
  }
  const refused = unsupported(source);
  if (refused !== undefined) throw new PatternError(source, refused);
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(source));
  } catch (err) {
    throw new PatternError(source, `cannot run in linear time (RE2): ${(err as Error).message}`, { cause: err });
  }
  const size = (re.re2().prog as { numInst(): number }).numInst();
  if (size > MAX_PATTERN_PROGRAM) {
    throw new PatternError(source, `compiles to ${size} RE2 instructions, more than ${MAX_PATTERN_PROGRAM}: use smaller repeat counts`);
  }
  return {
    source,
    size,
    test(text, meter) {
      // +1: even an empty string costs a pass over the program.
      meter?.charge((text.length + 1) * size, source);
      return re.test(text);
    },
  };
}
