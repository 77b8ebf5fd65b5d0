import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { parseSourceConfig, type SourceConfig } from '@hookstream/models';
import { buildRawHeaders, capturedHeaderBytes } from '../src/capture.ts';
import { uuidv7, uuidv7Time } from '../src/event-id.ts';
import { type AdmissionDeps, admit, contentTypeAccepted, sourceFromPath } from '../src/handler.ts';
import { TokenBuckets } from '../src/rate-limit.ts';

const NONE = { kind: 'none' } as const;
const sources = new Map<string, SourceConfig>([
  ['stripe', parseSourceConfig({ id: 'stripe', scheme: NONE })],
  ['off', parseSourceConfig({ id: 'off', scheme: NONE, enabled: false })],
  ['tiny', parseSourceConfig({ id: 'tiny', scheme: NONE, maxBodyBytes: 10 })],
  ['limited', parseSourceConfig({ id: 'limited', scheme: NONE, rateLimit: { perSecond: 1, burst: 2 } })],
  ['anything', parseSourceConfig({ id: 'anything', scheme: NONE, contentTypes: ['*/*'] })],
]);

const deps = (over: Partial<AdmissionDeps> = {}): AdmissionDeps => ({
  source: (id) => sources.get(id),
  limiter: new TokenBuckets(),
  nowMs: 1_000_000,
  defaultMaxBodyBytes: 1024,
  maxBodyCeiling: 1_000_000,
  maxHeaderBytes: 16_384,
  canPublish: true,
  retryAfterSeconds: 5,
  ...over,
});

const head = (
  over: Partial<{
    method: string;
    url: string;
    contentType: string | undefined;
    contentLength: number | undefined;
    capturedHeaderBytes: number;
  }> = {},
) => ({
  method: 'POST',
  url: '/v1/webhooks/stripe',
  contentType: 'application/json',
  contentLength: 100,
  capturedHeaderBytes: 200,
  ...over,
});

const status = (d: ReturnType<typeof admit>): number => (d.kind === 'reject' ? d.status : 202);

describe('ingest admission', () => {
  it('ingest: a known source with JSON is accepted', () => {
    const d = admit(head(), deps());
    assert.equal(d.kind, 'accept');
    assert.equal(d.kind === 'accept' && d.maxBodyBytes, 1024);
  });

  it('ingest: unknown paths and sources are 404, disabled sources too', () => {
    assert.equal(status(admit(head({ url: '/other' }), deps())), 404);
    assert.equal(status(admit(head({ url: '/v1/webhooks/' }), deps())), 404);
    assert.equal(status(admit(head({ url: '/v1/webhooks/a/b' }), deps())), 404);
    assert.equal(status(admit(head({ url: '/v1/webhooks/nope' }), deps())), 404);
    assert.equal(status(admit(head({ url: '/v1/webhooks/off' }), deps())), 404);
  });

  it('ingest: GET on a webhook path is 405 with Allow', () => {
    const d = admit(head({ method: 'GET' }), deps());
    assert.equal(status(d), 405);
    assert.equal(d.kind === 'reject' && d.headers?.allow, 'POST');
  });

  it('ingest: a declared length over the source limit is 413', () => {
    assert.equal(status(admit(head({ url: '/v1/webhooks/tiny', contentLength: 11 }), deps())), 413);
    assert.equal(status(admit(head({ url: '/v1/webhooks/tiny', contentLength: 10 }), deps())), 202);
  });

  it("ingest: no body limit goes above the max_payload ceiling, not even a source's own", () => {
    // Scenario: the source allows 10 bytes, the default is 1,024, the server leaves room for 8.
    const d = admit(head({ contentLength: 9 }), deps({ maxBodyCeiling: 8 }));
    assert.equal(status(d), 413);
    assert.match(d.kind === 'reject' ? d.error : '', /limit of 8 bytes/);
    assert.equal(status(admit(head({ url: '/v1/webhooks/tiny', contentLength: 8 }), deps({ maxBodyCeiling: 8 }))), 202);
    assert.equal(status(admit(head({ url: '/v1/webhooks/tiny', contentLength: 9 }), deps({ maxBodyCeiling: 8 }))), 413);
  });

  it('ingest: captured headers over their limit are 431', () => {
    assert.equal(status(admit(head({ capturedHeaderBytes: 16_384 }), deps())), 202);
    assert.equal(status(admit(head({ capturedHeaderBytes: 16_385 }), deps())), 431);
  });

  it('ingest: unsupported media types are 415 unless the source accepts any', () => {
    assert.equal(status(admit(head({ contentType: 'text/html' }), deps())), 415);
    assert.equal(status(admit(head({ contentType: undefined }), deps())), 415);
    assert.equal(status(admit(head({ url: '/v1/webhooks/anything', contentType: undefined }), deps())), 202);
  });

  it('ingest: 429 with Retry-After once the burst is spent, and tokens refill', () => {
    const limiter = new TokenBuckets();
    const url = '/v1/webhooks/limited';
    assert.equal(status(admit(head({ url }), deps({ limiter }))), 202);
    assert.equal(status(admit(head({ url }), deps({ limiter }))), 202);
    const third = admit(head({ url }), deps({ limiter }));
    assert.equal(status(third), 429);
    assert.equal(third.kind === 'reject' && third.headers?.['retry-after'], '1');
    assert.equal(status(admit(head({ url }), deps({ limiter, nowMs: 1_001_000 }))), 202);
  });

  it('ingest: 503 with Retry-After when JetStream cannot take it', () => {
    const d = admit(head(), deps({ canPublish: false }));
    assert.equal(status(d), 503);
    assert.equal(d.kind === 'reject' && d.headers?.['retry-after'], '5');
  });

  it('ingest: paths decode and tolerate a query and a trailing slash', () => {
    assert.equal(sourceFromPath('/v1/webhooks/stripe?x=1'), 'stripe');
    assert.equal(sourceFromPath('/v1/webhooks/stripe/'), 'stripe');
    assert.equal(sourceFromPath('/v1/webhooks/%ZZ'), undefined);
  });

  it('ingest: media type matching handles parameters, case and +json', () => {
    const json = ['application/json', 'application/*+json'];
    assert.equal(contentTypeAccepted('Application/JSON; charset=utf-8', json), true);
    assert.equal(contentTypeAccepted('application/vnd.github+json', json), true);
    assert.equal(contentTypeAccepted('application/xml', json), false);
    assert.equal(contentTypeAccepted('text/plain', ['text/*']), true);
    assert.equal(contentTypeAccepted('garbage', json), false);
  });
});

describe('ingest envelope', () => {
  it('ingest: uuidv7 ids are well formed, time-ordered and unique', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
    for (const id of ids.slice(0, 10)) {
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    const later = uuidv7(1_800_000_000_000);
    assert.equal(uuidv7Time(later), 1_800_000_000_000);
    assert.ok(later > (ids.at(-1) ?? ''));
  });

  it('ingest: captured headers are lower-cased, repeated ones kept, credentials dropped', () => {
    const h = buildRawHeaders(
      { eventId: 'e1', sourceId: 'stripe', receivedAtMs: 42 },
      ['Stripe-Signature', 't=1,v1=abc', 'Authorization', 'Bearer x', 'X-Multi', 'a', 'x-multi', 'b', 'Host', 'h'],
      new Set(['authorization', 'host']),
    );
    assert.equal(h.get(Header.eventId), 'e1');
    assert.equal(h.get(Header.source), 'stripe');
    assert.equal(h.get(Header.receivedAt), '42');
    assert.equal(h.get('hs-h-stripe-signature'), 't=1,v1=abc');
    assert.deepEqual(h.values('hs-h-x-multi'), ['a', 'b']);
    assert.equal(h.has('hs-h-authorization'), false);
    assert.equal(h.has('hs-h-host'), false);
  });

  it('ingest: capturedHeaderBytes is exactly what the captured headers add to the NATS header block', () => {
    // Scenario: a latin-1 byte (node decodes header values as latin-1) is two
    // bytes in the UTF-8 NATS encoding; dropped headers do not count.
    const raw = ['Stripe-Signature', 't=1,v1=abc', 'Authorization', 'Bearer x', 'X-Multi', 'a', 'x-multi', 'b', 'X-Latin', 'caf\u00e9'];
    const drop = new Set(['authorization']);
    // What the NATS client puts on the wire (MsgHdrsImpl.encode; not on the MsgHdrs interface).
    const wire = (h: unknown): number => (h as { encode(): Uint8Array }).encode().length;
    const envelopeOnly = wire(buildRawHeaders({ eventId: 'e1', sourceId: 'stripe', receivedAtMs: 42 }, [], drop));
    const whole = wire(buildRawHeaders({ eventId: 'e1', sourceId: 'stripe', receivedAtMs: 42 }, raw, drop));
    assert.equal(capturedHeaderBytes(raw, drop), whole - envelopeOnly);
  });
});
