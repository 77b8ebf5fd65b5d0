import { type Logger, pino } from 'pino';
import { activeTraceFields } from './telemetry.ts';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  readonly service: string;
  readonly level: string;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * A JSON logger with the service name on every line. Secrets and payloads are
 * never passed to it; as a second guard, fields that commonly hold them are
 * redacted.
 */
export function createLogger(options: LoggerOptions): Logger {
  const opts = {
    level: options.level,
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    // trace_id and span_id on every line written inside a span.
    mixin: activeTraceFields,
    redact: {
      paths: ['secret', '*.secret', 'secrets', '*.secrets', 'password', '*.password', 'token', '*.token', 'body'],
      censor: '[redacted]',
    },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
