import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';

// What the fuzz suite sends to ingest, and what it expects of each input.
// The configuration the model describes is set up by pipeline.fuzz.int.test.ts.

/** The Stripe source's signing secret. */
export const STRIPE_SECRET = 'whsec_fuzz_secret';
/** The `small` source's body limit. */
export const SMALL_LIMIT = 4096;
/** validate's default nesting limit (HS_VALIDATE_MAX_DEPTH). */
export const MAX_DEPTH = 128;
/** The one event type the `strict` source has a schema for (it requires one). */
export const STRICT_TYPE = 'order.created';

/** The sources the test configures, and how each admits requests. */
export const SOURCES = {
  /** Unsigned, any media type. */
  open: { anyType: true, limit: undefined, enabled: true },
  /** Unsigned, the default media types (JSON, `+json`, form). */
  plain: { anyType: false, limit: undefined, enabled: true },
  /** Stripe preset with {@link STRIPE_SECRET}. */
  stripe: { anyType: false, limit: undefined, enabled: true },
  /** Unsigned, `schemaMode: strict`, `requireSchema`, one schema for {@link STRICT_TYPE}. */
  strict: { anyType: false, limit: undefined, enabled: true },
  /** Unsigned, any media type, `maxBodyBytes` {@link SMALL_LIMIT}. */
  small: { anyType: true, limit: SMALL_LIMIT, enabled: true },
  /** Disabled. */
  off: { anyType: true, limit: undefined, enabled: false },
} as const;
export type SourceName = keyof typeof SOURCES;
const SOURCE_NAMES = Object.keys(SOURCES) as SourceName[];

/** The JSON Schema registered for (`strict`, {@link STRICT_TYPE}). */
export const STRICT_SCHEMA = {
  type: 'object',
  required: ['id', 'type', 'amount', 'currency'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 64 },
    type: { const: STRICT_TYPE },
    amount: { type: 'integer', minimum: 0 },
    currency: { type: 'string', pattern: '^[a-z]{3}$' },
    note: { type: 'string', maxLength: 200 },
  },
} as const;

/** How a Stripe-Signature header is made (`valid` and `multi` verify; the rest do not). */
export type SignMode = 'valid' | 'multi' | 'wrong_secret' | 'stale' | 'tampered' | 'v0_only' | 'garbage' | 'absent';
const GOOD_SIGNATURES: readonly SignMode[] = ['valid', 'multi'];

/** A body and what the model knows about it. */
export interface Body {
  readonly bytes: Buffer;
  /** How it was made, for the report. */
  readonly label: string;
  /** For `strict` bodies: whether the generator broke the schema (undefined: not a strict body). */
  readonly strictBroken?: boolean;
}

/** Where a request goes: a source path (by id, encoded) or another path. */
export type Target =
  | { readonly kind: 'source'; readonly id: string; readonly encoding: 'uri' | 'percent'; readonly suffix: string }
  | { readonly kind: 'path'; readonly path: string };

/** A request node:http can send. */
export interface HttpCase {
  readonly kind: 'http';
  readonly method: string;
  readonly target: Target;
  readonly contentType: string | undefined;
  /** Extra headers in order; a name may repeat (sent as repeated lines). */
  readonly headers: readonly (readonly [string, string])[];
  /** Length of one extra header far over ingest's 16 KiB header limit, or 0. */
  readonly bigHeader: number;
  readonly body: Body;
  readonly sign: SignMode;
  /** Sent in pieces with `transfer-encoding: chunked` instead of a Content-Length. */
  readonly chunked: boolean;
  /** Sent this many times in a row (a sender's retry). */
  readonly times: number;
}

/** Bytes written on a raw socket (hostile framing and header bytes), then a half-close. */
export interface RawCase {
  readonly kind: 'raw';
  readonly bytes: Buffer;
  readonly label: string;
}

export type FuzzCase = HttpCase | RawCase;

// ---------------------------------------------------------------------------
// Deterministic filler for large bodies (fast-check shrinks size and seed).

function filler(size: number, seed: number, alphabet?: string): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = alphabet === undefined ? x & 0xff : alphabet.charCodeAt((x >>> 0) % alphabet.length);
  }
  return out;
}

/** `{"type":…,"pad":"…"}` of exactly `size` bytes (at least its skeleton). */
function paddedEvent(type: string, size: number, seed: number): Buffer {
  const head = Buffer.from(`{"type":${JSON.stringify(type)},"pad":"`);
  const tail = Buffer.from('"}');
  const pad = Math.max(0, size - head.length - tail.length);
  return Buffer.concat([head, filler(pad, seed, 'abcdefghijklmnopqrstuvwxyz0123456789 '), tail]);
}

// ---------------------------------------------------------------------------
// Arbitraries.

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? 'null');

const eventType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('order.created', 'payment_intent.succeeded', 'customer.created', 'a.b.c', 'x') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '>',
      '*',
      'a.>',
      'a..b',
      '.lead',
      'trail.',
      'with space',
      ' padded',
      'padded ',
      '\u3000ideographic',
      '\u00a0',
      'ünïcödé.typé',
      '😀.emoji',
      'a'.repeat(256),
      'a'.repeat(257),
      `${'é'.repeat(256)}`,
      'tab\there',
      'nul\u0000',
      'line\nbreak',
      'del\u007f',
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 250, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(''), fc.constant([])) },
);

/** Event-shaped JSON with random ids (from a small set, so duplicates happen), types and data. */
const eventBody: fc.Arbitrary<Body> = fc
  .tuple(
    fc.record(
      {
        id: fc.oneof(
          fc.constantFrom('evt_1', 'evt_2', 'evt_3'),
          fc.constantFrom(' evt_1', 'evt_1 ', 'evt\n1', 'evt\r\n2', 'evt\u00003', '\u2028', ''),
          fc.string({ maxLength: 30 }),
          fc.string({ unit: 'binary', maxLength: 10 }),
          fc.integer(),
        ),
        type: eventType,
        data: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    ),
    fc.constantFrom('', '', '', 'bom', 'trailing', 'spaces'),
  )
  .map(([event, wrap]) => {
    const text = JSON.stringify(event);
    const bytes =
      wrap === 'bom'
        ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])
        : wrap === 'trailing'
          ? Buffer.from(`${text} x`)
          : wrap === 'spaces'
            ? Buffer.from(`\n\t ${text} \r\n`)
            : Buffer.from(text);
    return { bytes, label: `event${wrap === '' ? '' : `+${wrap}`}` };
  });

/** A `strict` event: valid, or broken in one known way. */
const strictBody: fc.Arbitrary<Body> = fc
  .tuple(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 64 }),
      amount: fc.nat(),
      currency: fc.constantFrom('usd', 'eur', 'jpy'),
      note: fc.option(fc.string({ unit: 'grapheme', maxLength: 50 }), { nil: undefined }),
    }),
    fc.constantFrom('none', 'none', 'none', 'extra_field', 'amount_string', 'amount_negative', 'currency_upper', 'missing_id', 'long_note'),
  )
  .map(([base, mutation]) => {
    const event: Record<string, unknown> = { id: base.id, type: STRICT_TYPE, amount: base.amount, currency: base.currency };
    if (base.note !== undefined) event.note = base.note;
    if (mutation === 'extra_field') event.unexpected = true;
    if (mutation === 'amount_string') event.amount = String(base.amount);
    if (mutation === 'amount_negative') event.amount = -1 - base.amount;
    if (mutation === 'currency_upper') event.currency = base.currency.toUpperCase();
    if (mutation === 'missing_id') delete event.id;
    if (mutation === 'long_note') event.note = 'n'.repeat(201);
    return { bytes: json(event), label: `strict:${mutation}`, strictBroken: mutation !== 'none' };
  });

const deepBody: fc.Arbitrary<Body> = fc
  .tuple(fc.oneof(fc.integer({ min: MAX_DEPTH - 4, max: MAX_DEPTH + 2 }), fc.integer({ min: 1, max: 5_000 })), fc.boolean())
  .map(([n, objects]) => {
    // depth n + 1 with the outer object
    const open = objects ? '{"a":'.repeat(n) : '['.repeat(n);
    const close = objects ? '}'.repeat(n) : ']'.repeat(n);
    return { bytes: Buffer.from(`{"type":"deep","d":${open}1${close}}`), label: `deep:${n + 1}` };
  });

const nonUtf8Body: fc.Arbitrary<Body> = fc
  .tuple(
    fc.constantFrom(
      [0xff, 0xfe],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xe9],
      [0xc3],
      [0xf4, 0x90, 0x80, 0x80],
    ),
    fc.constantFrom('prefix', 'in-string', 'suffix'),
  )
  .map(([bad, where]) => {
    const b = Buffer.from(bad);
    const bytes =
      where === 'prefix'
        ? Buffer.concat([b, Buffer.from('{"type":"x"}')])
        : where === 'suffix'
          ? Buffer.concat([Buffer.from('{"type":"x"}'), b])
          : Buffer.concat([Buffer.from('{"type":"x'), b, Buffer.from('"}')]);
    return { bytes, label: `non-utf8:${where}` };
  });

const formBody: fc.Arbitrary<Body> = fc
  .array(
    fc.tuple(fc.oneof(fc.constantFrom('type', 'payload', 'id', '__proto__'), fc.string({ maxLength: 10 })), fc.string({ maxLength: 30 })),
    {
      maxLength: 6,
    },
  )
  .map((pairs) => ({ bytes: Buffer.from(new URLSearchParams(pairs).toString()), label: 'form' }));

const bigBody: fc.Arbitrary<Body> = fc
  .record({ size: fc.integer({ min: 20_000, max: 400_000 }), seed: fc.integer(), style: fc.constantFrom('json', 'bytes') })
  .map(({ size, seed, style }) => ({
    bytes: style === 'json' ? paddedEvent('big.event', size, seed) : filler(size, seed),
    label: `big-${style}:${size}`,
  }));

/** Around the `small` source's limit. */
const edgeBody: fc.Arbitrary<Body> = fc
  .record({ size: fc.integer({ min: SMALL_LIMIT - 3, max: SMALL_LIMIT + 3 }), seed: fc.integer() })
  .map(({ size, seed }) => ({ bytes: paddedEvent('edge', size, seed), label: `edge:${size}` }));

export const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ bytes: Buffer.alloc(0), label: 'empty' }) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 600 }).map((b) => ({ bytes: Buffer.from(b), label: 'bytes' })) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => ({ bytes: Buffer.from(s), label: 'text' })) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 4 }).map((s) => ({ bytes: Buffer.from(s), label: 'json' })) },
  { weight: 8, arbitrary: eventBody },
  { weight: 4, arbitrary: strictBody },
  { weight: 2, arbitrary: deepBody },
  { weight: 2, arbitrary: nonUtf8Body },
  { weight: 2, arbitrary: formBody },
  { weight: 1, arbitrary: bigBody },
  { weight: 2, arbitrary: edgeBody },
);

// Characters node:http lets a client put in a header value.
const valueChar = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constant('\t') },
  { weight: 3, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
);
const headerValue = fc.string({ unit: valueChar, maxLength: 120 });
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,30}$/;
// Names node:http or ingest give a meaning of their own (framing, the signature the model tracks).
const RESERVED = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'stripe-signature',
  'content-type',
]);
const headerName = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(TOKEN).filter((n) => !RESERVED.has(n.toLowerCase())) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'hs-event-id',
      'hs-source',
      'hs-received-at',
      'Nats-Msg-Id',
      'traceparent',
      'tracestate',
      'authorization',
      'cookie',
      'x-forwarded-for',
      'user-agent',
      'accept',
      'content-encoding',
      'idempotency-key',
      'webhook-id',
      'HS-H-CONTENT-TYPE',
      'hs-dlq-reason',
    ),
  },
);

const contentTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 8,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      ' application/json ',
      'application/vnd.github+json',
      'application/cloudevents+json; charset=UTF-8',
      'application/+json',
      'application/json;;;;',
      'application/json; charset="\u00e9"',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/octet-stream',
      'multipart/form-data; boundary=xyz',
      'application/xml',
      '*/*',
      'application/*',
      'json',
      '',
      ';',
      '/json',
    ),
  },
  { weight: 1, arbitrary: headerValue },
  { weight: 2, arbitrary: headerValue.map((p) => `application/json;${p}`) },
);

const pathArb: fc.Arbitrary<Target> = fc.oneof(
  {
    weight: 25,
    arbitrary: fc.record({
      kind: fc.constant('source' as const),
      id: fc.oneof(
        { weight: 24, arbitrary: fc.constantFrom(...SOURCE_NAMES.filter((s) => SOURCES[s].enabled)) },
        { weight: 1, arbitrary: fc.constant('off') },
        { weight: 1, arbitrary: fc.constantFrom('OPEN', 'open ', 'Stripe', 'open.x', 'open*', '>', '..', '.', '-', '_') },
        { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
      ),
      encoding: fc.constantFrom('uri', 'uri', 'uri', 'percent'),
      suffix: fc.oneof(
        { weight: 8, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('/', '?', '?a=1', '/?x=%zz&y', '?type=order.created') },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('path' as const),
      path: fc.constantFrom(
        '/',
        '*',
        '/v1/webhooks',
        '/v1/webhooks/',
        '/v1/webhooks//',
        '/v1/webhooks/open/x',
        '/v1/webhooks/%zz',
        '/v1/webhooks/%',
        '/v1/webhook/open',
        '/V1/WEBHOOKS/open',
        '/v1/webhooks/..%2Fopen',
        '/v1/webhooks/open%2F',
        '//v1/webhooks/open',
        '/v1/webhooks/open/..',
        '/v1/webhooks/open//',
        '/healthz',
        '/metrics',
      ),
    }),
  },
);

const methodArb = fc.oneof(
  { weight: 14, arbitrary: fc.constant('POST') },
  { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND') },
);

const httpCase: fc.Arbitrary<HttpCase> = fc.record({
  kind: fc.constant('http' as const),
  method: methodArb,
  target: pathArb,
  contentType: contentTypeArb,
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }),
  bigHeader: fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 40_000 }) }),
  body: bodyArb,
  sign: fc.oneof(
    { weight: 6, arbitrary: fc.constant('valid' as const) },
    { weight: 1, arbitrary: fc.constantFrom<SignMode>('multi', 'wrong_secret', 'stale', 'tampered', 'v0_only', 'garbage', 'absent') },
  ),
  chunked: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  times: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
});

// Raw socket requests: framing and header bytes node's client would refuse to send.
const rawHeaderLine = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.stringMatching(TOKEN), headerValue).map(([n, v]) => Buffer.from(`${n}: ${v}`, 'latin1')) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        'X-Fold: a\r\n continued',
        'X-Nul: a\u0000b',
        'X-Cr: a\rb',
        'X-Del: a\u007fb',
        ' X-Leading-Space: a',
        'X-Colon-Less',
        ': empty-name',
        'X-Empty:',
        'Content-Type: application/json',
        'Content-Type: text/plain',
        'Content-Type: application/json\r\nContent-Type: text/plain',
        'Host: a\r\nHost: b',
        'Connection: close',
        'Expect: 100-continue',
        'Upgrade: websocket\r\nConnection: upgrade',
      )
      .map((s) => Buffer.from(s, 'latin1')),
  },
);

const FRAMINGS = [
  'cl-exact',
  'cl-short',
  'cl-long',
  'cl-negative',
  'cl-conflict',
  'cl-same-twice',
  'cl-plus',
  'cl-hex',
  'te-chunked',
  'te-chunked-bad-size',
  'te-chunked-no-end',
  'te-and-cl',
  'te-gzip',
  'te-chunked-ext',
  'none',
] as const;

const rawCase: fc.Arbitrary<RawCase> = fc
  .record({
    line: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...SOURCE_NAMES).map((s) => `POST /v1/webhooks/${s} HTTP/1.1`) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          'POST /v1/webhooks/open HTTP/1.0',
          'POST /v1/webhooks/open HTTP/2.0',
          'POST  /v1/webhooks/open HTTP/1.1',
          'POST /v1/webhooks/open?x HTTP/1.1',
          'POST http://127.0.0.1/v1/webhooks/open HTTP/1.1',
          'post /v1/webhooks/open HTTP/1.1',
          'POST /v1/webhooks/open',
          'GET / HTTP/1.1',
          'PRI * HTTP/2.0',
        ),
      },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 60 }).map((b) => Buffer.from(b).toString('latin1')) },
    ),
    host: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    headers: fc.array(rawHeaderLine, { maxLength: 4 }),
    framing: fc.constantFrom(...FRAMINGS),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      eventBody.map((b) => b.bytes),
    ),
    tail: fc.constantFrom('none', 'none', 'second-request', 'garbage'),
    tailId: fc.nat(),
  })
  .map(({ line, host, headers, framing, body, tail, tailId }) => {
    const framingLines: Record<(typeof FRAMINGS)[number], string[]> = {
      'cl-exact': [`Content-Length: ${body.length}`],
      'cl-short': [`Content-Length: ${Math.max(0, body.length - 3)}`],
      'cl-long': [`Content-Length: ${body.length + 10}`],
      'cl-negative': ['Content-Length: -1'],
      'cl-conflict': [`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`],
      'cl-same-twice': [`Content-Length: ${body.length}`, `Content-Length: ${body.length}`],
      'cl-plus': [`Content-Length: +${body.length}`],
      'cl-hex': [`Content-Length: 0x${body.length.toString(16)}`],
      'te-chunked': ['Transfer-Encoding: chunked'],
      'te-chunked-bad-size': ['Transfer-Encoding: chunked'],
      'te-chunked-no-end': ['Transfer-Encoding: chunked'],
      'te-and-cl': ['Transfer-Encoding: chunked', `Content-Length: ${body.length}`],
      'te-gzip': ['Transfer-Encoding: gzip'],
      'te-chunked-ext': ['Transfer-Encoding: chunked'],
      none: [],
    };
    let payload: Buffer = body;
    if (framing === 'te-chunked' || framing === 'te-and-cl') payload = chunk(body, '', true);
    if (framing === 'te-chunked-ext') payload = chunk(body, ';ext="v"', true);
    if (framing === 'te-chunked-no-end') payload = chunk(body, '', false);
    if (framing === 'te-chunked-bad-size') payload = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
    // A pipelined request with a body of its own, so a stored one can be traced back.
    const tailBody = `{"type":"tail","n":${tailId}}`;
    const tailBytes =
      tail === 'second-request'
        ? Buffer.from(
            `POST /v1/webhooks/open HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${tailBody.length}\r\n\r\n${tailBody}`,
          )
        : tail === 'garbage'
          ? Buffer.from('\x00\x01garbage\r\n\r\n', 'latin1')
          : Buffer.alloc(0);
    const head = [
      Buffer.from(line, 'latin1'),
      ...(host ? [Buffer.from('Host: 127.0.0.1')] : []),
      ...headers,
      ...framingLines[framing].map((l) => Buffer.from(l)),
    ];
    const crlf = Buffer.from('\r\n');
    const bytes = Buffer.concat([...head.flatMap((h) => [h, crlf]), crlf, payload, tailBytes]);
    return { kind: 'raw' as const, bytes, label: `raw ${framing} tail=${tail}` };
  });

function chunk(body: Buffer, ext: string, end: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += 100) {
    const piece = body.subarray(i, i + 100);
    parts.push(Buffer.from(`${piece.length.toString(16)}${ext}\r\n`), piece, Buffer.from('\r\n'));
  }
  if (end) parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/**
 * One fuzz input: mostly requests node:http can send, some raw socket bytes.
 * Each prints as a short summary (method, path, headers, body size and hash,
 * the first bytes) so a counterexample stays readable.
 */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.limitShrink(
  fc
    .oneof({ weight: 9, arbitrary: httpCase }, { weight: 1, arbitrary: rawCase })
    .map((c) => Object.defineProperty(c, fc.toStringMethod, { value: () => describeCase(c), enumerable: false })),
  300,
);

// ---------------------------------------------------------------------------
// Building the request.

/** The request target of an HTTP case. */
export function pathOf(target: Target): string {
  if (target.kind === 'path') return target.path;
  const encoded =
    target.encoding === 'uri'
      ? encodeURIComponent(target.id)
      : [...Buffer.from(target.id)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  return `/v1/webhooks/${encoded}${target.suffix}`;
}

function stripeSig(secret: string, timestamp: number, body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The Stripe-Signature header for a sign mode, or undefined for `absent`. */
export function stripeHeader(mode: SignMode, body: Buffer, nowSeconds: number): string | undefined {
  const t = nowSeconds;
  switch (mode) {
    case 'valid':
      return `t=${t},v1=${stripeSig(STRIPE_SECRET, t, body)}`;
    case 'multi':
      return `t=${t},v1=${stripeSig('whsec_old', t, body)},v1=${stripeSig(STRIPE_SECRET, t, body)}`;
    case 'wrong_secret':
      return `t=${t},v1=${stripeSig('whsec_attacker', t, body)}`;
    case 'stale':
      return `t=${t - 3_600},v1=${stripeSig(STRIPE_SECRET, t - 3_600, body)}`;
    case 'tampered':
      return `t=${t},v1=${stripeSig(STRIPE_SECRET, t, Buffer.concat([body, Buffer.from(' ')]))}`;
    case 'v0_only':
      return `t=${t},v0=${stripeSig(STRIPE_SECRET, t, body)}`;
    case 'garbage':
      return `t=abc,v1=${'z'.repeat(64)},,=,v1`;
    case 'absent':
      return undefined;
  }
}

/** Request headers as node:http sends them (repeated names as arrays), content type first. */
export function requestHeaders(c: HttpCase, nowSeconds: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const add = (name: string, value: string): void => {
    const key = name.toLowerCase();
    const current = out[key];
    out[key] = current === undefined ? value : Array.isArray(current) ? [...current, value] : [current, value];
  };
  if (c.contentType !== undefined) add('content-type', c.contentType);
  const sig = stripeHeader(c.sign, c.body.bytes, nowSeconds);
  if (sig !== undefined) add('stripe-signature', sig);
  for (const [name, value] of c.headers) add(name, value);
  if (c.bigHeader > 0) add('x-big', 'b'.repeat(c.bigHeader));
  return out;
}

// ---------------------------------------------------------------------------
// The model: what ingest must answer, and where an accepted event must end.

function mediaOf(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function defaultTypeAccepted(contentType: string | undefined): boolean {
  const media = mediaOf(contentType);
  return (
    media === 'application/json' ||
    media === 'application/x-www-form-urlencoded' ||
    (media.startsWith('application/') && media.endsWith('+json'))
  );
}

function isSource(id: string): id is SourceName {
  return Object.hasOwn(SOURCES, id);
}

/**
 * The statuses ingest may answer an HTTP case with (the admission order of
 * docs/ingest.md): 431 for a header section over the limit, 404 for a path
 * that is not a source's, 405 for a method other than POST, 404 for an
 * unknown or disabled source, 413 for a declared length over the limit, 415
 * for a media type the source does not take, 413 for a streamed body over
 * the limit, else 202.
 */
export function expectedStatuses(c: HttpCase): readonly number[] {
  if (c.bigHeader > 0) return [431];
  if (c.target.kind === 'path') return c.method === 'POST' ? [404] : [404, 405];
  const id = c.target.id;
  if (id === '') return [404];
  if (c.method !== 'POST') return [405];
  if (!isSource(id) || !SOURCES[id].enabled) return [404];
  const source = SOURCES[id];
  const over = source.limit !== undefined && c.body.bytes.length > source.limit;
  if (over && !c.chunked) return [413];
  if (!source.anyType && !defaultTypeAccepted(c.contentType)) return [415];
  if (over) return [413];
  return [202];
}

/** Where an accepted event must end, as far as the model knows. */
export type Fate =
  | { readonly kind: 'events'; readonly eventType: string }
  | { readonly kind: 'dead-letter'; readonly stage?: string }
  | { readonly kind: 'unknown' };

const utf8 = new TextDecoder('utf-8', { fatal: true });
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v === 'object' && v !== null) {
      deepest = Math.max(deepest, d + 1);
      for (const child of Object.values(v)) stack.push([child, d + 1]);
    }
  }
  return deepest;
}

/** validate's verdict on a JSON body from an unsigned source with the `$.type` locator. */
function validateFate(body: Buffer, contentType: string | undefined): Fate {
  if (mediaOf(contentType) === 'application/x-www-form-urlencoded') return { kind: 'unknown' };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    return { kind: 'dead-letter', stage: 'validate' };
  }
  if (depthOf(value) > MAX_DEPTH) return { kind: 'dead-letter', stage: 'validate' };
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, 'type')) {
    return { kind: 'dead-letter', stage: 'validate' };
  }
  const raw = (value as Record<string, unknown>).type;
  const type = typeof raw === 'string' ? raw : typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : '';
  // Edge white space: NATS would trim the hs-event-type header, so validate refuses it.
  if (type === '' || type.length > 256 || CONTROL.test(type) || type.trim() !== type) return { kind: 'dead-letter', stage: 'validate' };
  return { kind: 'events', eventType: type };
}

/**
 * Where an HTTP case that got 202 must end (a duplicate of an earlier
 * delivery may end as a dedup note instead; the test allows that for any
 * fate): a Stripe delivery without a good signature is dead-lettered by
 * verify; a body validate cannot parse, type or accept is dead-lettered by
 * validate; `strict` events follow their known mutation; the rest reach
 * `events.*` with their type.
 */
export function expectedFate(c: HttpCase): Fate {
  if (c.target.kind !== 'source') return { kind: 'unknown' };
  const id = c.target.id;
  if (id === 'stripe' && !GOOD_SIGNATURES.includes(c.sign)) return { kind: 'dead-letter', stage: 'verify' };
  const fate = validateFate(c.body.bytes, c.contentType);
  if (id !== 'strict' || fate.kind !== 'events') return fate;
  if (fate.eventType !== STRICT_TYPE) return { kind: 'dead-letter', stage: 'validate' };
  if (c.body.strictBroken === undefined) return { kind: 'unknown' };
  return c.body.strictBroken ? { kind: 'dead-letter', stage: 'validate' } : fate;
}

// ---------------------------------------------------------------------------
// Printing.

function preview(bytes: Buffer, n = 80): string {
  const head = bytes.subarray(0, n).toString('latin1');
  return JSON.stringify(head) + (bytes.length > n ? '…' : '');
}

/** A one-paragraph description of a case: enough to rebuild it by hand. */
export function describeCase(c: FuzzCase): string {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);
  if (c.kind === 'raw') return `${c.label}: ${c.bytes.length} bytes sha256:${sha(c.bytes)} ${preview(c.bytes, 400)}`;
  const headers = c.headers.map(([n, v]) => `${n}: ${JSON.stringify(v)}`).join(', ');
  return (
    `${c.method} ${JSON.stringify(pathOf(c.target))} content-type=${JSON.stringify(c.contentType)} sign=${c.sign}` +
    `${c.chunked ? ' chunked' : ''}${c.times > 1 ? ` x${c.times}` : ''}${c.bigHeader > 0 ? ` big-header=${c.bigHeader}` : ''}` +
    ` headers=[${headers}] body=${c.body.label} ${c.body.bytes.length} bytes sha256:${sha(c.body.bytes)} ${preview(c.body.bytes)}`
  );
}
