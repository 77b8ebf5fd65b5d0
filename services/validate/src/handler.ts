import { type DriftRecord, Header, type SchemaError, type SchemaFailureRecord, type ValidateRejection } from '@hookstream/contracts';
import type { SchemaRecord } from '@hookstream/models';
import { type SchemaMode, type SourceConfig, sourcePolicy } from '@hookstream/models';
import { type Outcome, type StageMessage, senderHeader } from '@hookstream/runtime';
import { type CheckedMode, type Compiled, DEFAULT_REGEX_BUDGET, RegexBudgetError, RegexMeter } from '@hookstream/schema-compiler';
import { type Locator, locate } from '@hookstream/signing';
import { type DriftFinding, DriftLimiter, findDrift } from './drift.ts';
import { parseBody } from './parse.ts';

/** The parts of an `hs.unique.{source}` message validate reads. */
export type UniqueMessage = StageMessage;

/** The pure lookups {@link judge} needs. */
export interface JudgeDeps {
  /** The current schema record of (source, type), or undefined. */
  readonly schema: (source: string, eventType: string) => SchemaRecord | undefined;
  /** The compiled form of a record in a mode (cached by the caller). */
  readonly compiled: (record: SchemaRecord, mode: CheckedMode) => Compiled;
  /** Deepest JSON nesting accepted. */
  readonly maxDepth: number;
  /** Regex work one event may cost (characters tested × program size; default {@link DEFAULT_REGEX_BUDGET}); see {@link RegexMeter}. */
  readonly regexBudget?: number;
}

/** The I/O validate's handler needs, as small interfaces (fakes in unit tests). */
export interface ValidateDeps extends JudgeDeps {
  readonly source: (id: string) => SourceConfig | undefined;
  /** Publishes the valid message downstream with its type; resolves on JetStream's ack. */
  readonly forward: (msg: UniqueMessage, eventId: string, source: string, eventType: string) => Promise<void>;
  /** Publishes the failure record; resolves on JetStream's ack. */
  readonly recordFailure: (record: SchemaFailureRecord) => Promise<void>;
  /** Publishes a drift record; resolves on JetStream's ack. */
  readonly recordDrift: (record: DriftRecord) => Promise<void>;
  /** Rate limit of drift records per (source, type, path). */
  readonly drift: Pick<DriftLimiter, 'tryAcquire' | 'release'>;
  /** Called after an event with no schema was forwarded (counted, logged at debug). */
  readonly noteNoSchema: (source: string, eventType: string) => void;
  readonly now: () => number;
}

/** The verdict on one message, without I/O. */
export type Verdict =
  | {
      readonly kind: 'valid';
      readonly eventType: string;
      /** `checked` against a schema, `missing` (no schema, none required) or `off` (mode off). */
      readonly schema: 'checked' | 'missing' | 'off';
      readonly drift: readonly DriftFinding[];
    }
  | {
      readonly kind: 'rejected';
      readonly reason: ValidateRejection;
      readonly eventType: string | undefined;
      readonly errors: readonly SchemaError[];
      readonly detail: string;
    };

/** Errors kept in a failure record; the rest are counted in the dead letter's detail. */
export const MAX_RECORDED_ERRORS = 50;
/** Longest event type accepted (the schema registry's limit too). */
export const MAX_EVENT_TYPE_LENGTH = 256;
const DETAIL_ERRORS = 5;
const DETAIL_CHARS = 1_000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

function eventTypeLocator(source: SourceConfig): Locator | undefined {
  try {
    return sourcePolicy(source).eventType;
  } catch {
    // A hand-built source without a scheme: its own locator still counts.
    return source.eventType;
  }
}

const rejected = (
  reason: ValidateRejection,
  eventType: string | undefined,
  error: SchemaError,
): Extract<Verdict, { kind: 'rejected' }> => ({ kind: 'rejected', reason, eventType, errors: [error], detail: error.message });

/**
 * Decides whether a message is valid under its source's mode and the
 * current schema of its (source, type): parse the body (form-encoded or
 * JSON, depth-limited), take the type from `hs-event-type` or the source's
 * locator, then check the schema (`strict`, `additive`, or not at all for
 * `off`) and, in `additive` mode, find drift. Regex work (schema
 * `pattern`s and `patternProperties`, drift included) is metered against
 * `regexBudget`: past it the event is `regex_budget`. Pure; never throws.
 */
export function judge(msg: UniqueMessage, source: SourceConfig | undefined, deps: JudgeDeps): Verdict {
  if (source === undefined)
    return rejected('unknown_source', undefined, { path: '', keyword: 'source', message: 'the source is not configured' });
  const header = senderHeader(msg);
  const parsed = parseBody(msg.data, header('content-type'), deps.maxDepth);
  if (!parsed.ok) {
    const keyword = parsed.reason === 'too_deep' ? 'maxDepth' : 'json';
    return rejected(parsed.reason, undefined, { path: parsed.path, keyword, message: parsed.detail });
  }
  const locator = eventTypeLocator(source);
  const given = msg.header(Header.eventType);
  const eventType = given !== undefined && given !== '' ? given : locator === undefined ? undefined : locate(locator, header, parsed.value);
  if (eventType === undefined) {
    const where = locator === undefined ? 'the source names no event type locator' : `no event type at ${describe(locator)}`;
    return rejected('missing_event_type', undefined, { path: '', keyword: 'eventType', message: where });
  }
  if (eventType.length > MAX_EVENT_TYPE_LENGTH || CONTROL.test(eventType)) {
    const message = `the event type is longer than ${MAX_EVENT_TYPE_LENGTH} characters or holds control characters`;
    return rejected('missing_event_type', undefined, { path: '', keyword: 'eventType', message });
  }
  // It travels on as the hs-event-type header, whose value NATS trims: checked
  // as " a" it would be routed as "a", past a's schema.
  if (eventType.trim() !== eventType) {
    const message = 'the event type has leading or trailing white space';
    return rejected('missing_event_type', undefined, { path: '', keyword: 'eventType', message });
  }
  const mode: SchemaMode = source.schemaMode ?? 'additive';
  if (mode === 'off') return { kind: 'valid', eventType, schema: 'off', drift: [] };
  const record = deps.schema(source.id, eventType);
  if (record === undefined) {
    if (source.requireSchema === true) {
      return rejected('no_schema', eventType, { path: '', keyword: 'schema', message: `no schema registered for ${eventType}` });
    }
    return { kind: 'valid', eventType, schema: 'missing', drift: [] };
  }
  const compiled = deps.compiled(record, mode);
  if (!compiled.ok) {
    const message = `schema version ${record.version} does not compile: ${compiled.error}`;
    return rejected('schema_invalid', eventType, { path: '', keyword: 'schema', message });
  }
  // One meter for the schema check and the drift walk: the event's regex work is bounded as a whole.
  const meter = new RegexMeter(deps.regexBudget ?? DEFAULT_REGEX_BUDGET);
  let errors: readonly SchemaError[];
  try {
    errors = compiled.check(parsed.value, meter);
  } catch (err) {
    if (!(err instanceof RegexBudgetError)) throw err;
    const message = `${err.message}; schema version ${record.version}`;
    return rejected('regex_budget', eventType, { path: '', keyword: 'pattern', message });
  }
  if (errors.length > 0) {
    const shown = JSON.stringify(errors.slice(0, DETAIL_ERRORS));
    const detail = `${errors.length} error(s) against schema version ${record.version}: ${shown}`;
    return {
      kind: 'rejected',
      reason: 'schema_violation',
      eventType,
      errors: errors.slice(0, MAX_RECORDED_ERRORS),
      detail: detail.length > DETAIL_CHARS ? `${detail.slice(0, DETAIL_CHARS - 1)}…` : detail,
    };
  }
  const drift =
    mode === 'additive' ? findDrift(parsed.value, record.schema, undefined, (p, key) => compiled.testPattern(p, key, meter)) : [];
  return { kind: 'valid', eventType, schema: 'checked', drift };
}

function describe(locator: Locator): string {
  return locator.from === 'header' ? `header ${locator.name}` : locator.path;
}

/**
 * Handles one `hs.unique.{source}` message: valid ones are forwarded to
 * `hs.valid.{source}` with `hs-event-type` set (after any drift records) and
 * acked; rejected ones get an `hs.obs.schema_failure` record and a `term`
 * outcome, which the worker turns into a dead letter with the reason.
 * Throws only when a publish fails (the worker retries with a delay); a drift
 * record that could not be published is given back to the rate limit.
 */
export async function handleUnique(msg: UniqueMessage, deps: ValidateDeps): Promise<Outcome> {
  const sourceId = msg.header(Header.source) ?? msg.subject.split('.').pop() ?? '';
  const eventId = msg.header(Header.eventId) ?? '';
  const receivedAt = Number(msg.header(Header.receivedAt));
  const receivedAtMs = Number.isFinite(receivedAt) && receivedAt > 0 ? receivedAt : deps.now();
  const verdict = judge(msg, deps.source(sourceId), deps);
  if (verdict.kind === 'valid') {
    for (const finding of verdict.drift) {
      const key = DriftLimiter.key(sourceId, verdict.eventType, finding.path);
      const at = deps.drift.tryAcquire(key);
      if (at === undefined) continue;
      try {
        await deps.recordDrift({
          kind: 'drift',
          source: sourceId,
          event_type: verdict.eventType,
          path: finding.path,
          json_type: finding.jsonType,
          event_id: eventId,
          at,
        });
      } catch (err) {
        deps.drift.release(key, at);
        throw err;
      }
    }
    await deps.forward(msg, eventId, sourceId, verdict.eventType);
    if (verdict.schema === 'missing') deps.noteNoSchema(sourceId, verdict.eventType);
    return { kind: 'ack' };
  }
  await deps.recordFailure({
    kind: 'schema_failure',
    stage: 'validate',
    event_id: eventId,
    source: sourceId,
    event_type: verdict.eventType ?? null,
    reason: verdict.reason,
    errors: verdict.errors,
    received_at: receivedAtMs,
    at: deps.now(),
  });
  return { kind: 'term', reason: verdict.reason, detail: verdict.detail };
}
