/** Thrown when a configuration record (a source, an endpoint, a schema) is not valid. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  /** The field that is wrong, as a dotted path. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}
