/** Why a body could not be turned into a value. */
export type ParseFailureReason = 'malformed_body' | 'too_deep';

/** The parsed body, or why there is none. */
export type ParseResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: ParseFailureReason; readonly path: string; readonly detail: string };

const FORM = 'application/x-www-form-urlencoded';
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The media type of a Content-Type value, lower case, without parameters; '' when absent. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/**
 * The deepest bracket nesting (`{` and `[`) in JSON text, ignoring brackets
 * inside strings, scanning bytes (UTF-8 continuation bytes are all ≥ 0x80, so
 * they never look like brackets or quotes). Stops as soon as the depth passes
 * `limit` and returns that depth, so a hostile body costs one pass at most.
 * Says nothing about whether the text is valid JSON. Pure; never throws.
 */
export function bracketDepth(bytes: Uint8Array, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth--;
    }
  }
  return deepest;
}

function parseJsonBytes(bytes: Uint8Array, maxDepth: number, path: string): ParseResult {
  // Checked before JSON.parse: the parsed value is walked recursively later
  // (schema validation, drift), and only a bounded depth makes that safe.
  const depth = bracketDepth(bytes, maxDepth);
  if (depth > maxDepth) return { ok: false, reason: 'too_deep', path, detail: `JSON nesting deeper than ${maxDepth}` };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'malformed_body', path, detail: 'not valid UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: 'malformed_body', path, detail: `not valid JSON: ${(err as Error).message}` };
  }
}

// Own data properties only: a form field named `__proto__` must stay a field.
function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Turns a form-encoded body into an object: each field a string, a repeated
 * field an array of strings in order. A single `payload` field whose value
 * starts with `{` or `[` (Slack's interactivity and slash-command payloads,
 * and others) must be JSON and is replaced by the parsed value, under the
 * same depth limit; a `payload` that is not JSON-looking stays a string.
 */
function parseForm(bytes: Uint8Array, maxDepth: number): ParseResult {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'malformed_body', path: '', detail: 'not valid UTF-8' };
  }
  const form: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (!Object.hasOwn(form, key)) setField(form, key, value);
    else {
      const current = form[key];
      if (Array.isArray(current)) current.push(value);
      else setField(form, key, [current, value]);
    }
  }
  const payload = form.payload;
  if (typeof payload === 'string' && /^\s*[[{]/.test(payload)) {
    const parsed = parseJsonBytes(encoder.encode(payload), maxDepth, '/payload');
    if (!parsed.ok) return parsed;
    setField(form, 'payload', parsed.value);
  }
  return { ok: true, value: form };
}

/**
 * Parses a body once, for checks only (the bytes are forwarded untouched):
 * form-encoded when the sender's content type says
 * `application/x-www-form-urlencoded`, UTF-8 JSON otherwise. Nesting deeper
 * than `maxDepth` gives `too_deep` before any parsing; invalid UTF-8 or JSON
 * gives `malformed_body`. Pure; never throws.
 */
export function parseBody(data: Uint8Array, contentType: string | undefined, maxDepth: number): ParseResult {
  return mediaType(contentType) === FORM ? parseForm(data, maxDepth) : parseJsonBytes(data, maxDepth, '');
}
