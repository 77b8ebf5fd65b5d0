/** Thrown by {@link parseSchemeConfig} and {@link parseLocator} when a config record is not valid. */
export class SchemeConfigError extends Error {
  override name = 'SchemeConfigError';
  /** The field that is wrong, as a dotted path relative to the parsed record (`kind`, `header`, `path`). */
  readonly field: string;
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

/** Thrown by the outbound signer when its input cannot produce a signature (a malformed secret, a bad timestamp). */
export class SigningError extends Error {
  override name = 'SigningError';
}
