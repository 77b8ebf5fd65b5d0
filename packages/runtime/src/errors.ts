/** Thrown at start-up when the environment does not compile into a valid config. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** One entry per bad variable: `NAME: what is wrong`. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/** Thrown when a stream or bucket cannot be created or brought to the wanted config. */
export class TopologyError extends Error {
  override name = 'TopologyError';
}

// Thrown when a configuration record in a KV bucket is not valid: defined
// once, with the record parsers' shared rules, in the contracts package.
export { ValidationError } from '@hookstream/contracts';
