import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesEventType, ValidationError } from '@hookstream/contracts';
import { parseEndpointConfig } from '@hookstream/models';
import { DEFAULT_RETRY } from '../src/endpoints.ts';

const base = { id: 'billing', url: 'https://example.com/hooks', secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }] };

describe('endpoints', () => {
  it('endpoints: a minimal record gets every default', () => {
    const e = parseEndpointConfig(base);
    assert.equal(e.enabled, true);
    assert.deepEqual(e.eventTypes, ['*']);
    assert.equal(e.timeoutMs, 3_000);
    assert.equal(e.maxConcurrency, 10);
    assert.deepEqual(e.retry, DEFAULT_RETRY);
    assert.equal(e.circuit.failureThreshold, 5);
  });

  it('endpoints: bad fields are named, and a filter that does not compile is refused', () => {
    const field = (over: Record<string, unknown>): string => {
      try {
        parseEndpointConfig({ ...base, ...over });
      } catch (err) {
        assert.ok(err instanceof ValidationError);
        return err.field;
      }
      return 'none';
    };
    assert.equal(field({ url: 'ftp://x' }), 'url');
    assert.equal(field({ url: 'https://user:pw@x/' }), 'url');
    assert.equal(field({ filter: 'type == ' }), 'filter');
    assert.equal(field({ filter: "type == 'a' && data.amount > 10" }), 'none');
    assert.equal(field({ secrets: [] }), 'secrets');
    assert.equal(field({ secrets: [{ id: 'a', value: 'plain' }] }), 'secrets[0].value');
    // Scenario: the rules sources had and endpoints lacked (one secrets parser, in the contracts).
    const w = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    assert.equal(
      field({
        secrets: [
          { id: 'a', value: w },
          { id: 'a', value: w },
        ],
      }),
      'secrets[1].id',
    );
    assert.equal(field({ secrets: [{ id: 'a', value: w, notAfterMs: Number.POSITIVE_INFINITY }] }), 'secrets[0].notAfterMs');
    assert.equal(field({ secrets: [{ id: 'a', value: w, notBeforeMs: Number.NaN }] }), 'secrets[0].notBeforeMs');
    assert.equal(field({ headers: { 'webhook-signature': 'x' } }), 'headers.webhook-signature');
    assert.equal(field({ headers: { 'x-a': 'b\r\nc' } }), 'headers.x-a');
    assert.equal(field({ timeoutMs: 0 }), 'timeoutMs');
    assert.equal(field({ eventTypes: [] }), 'eventTypes');
  });

  it('endpoints: event-type patterns match exactly, everything, or by glob', () => {
    assert.equal(matchesEventType('*', 'anything.at.all'), true);
    assert.equal(matchesEventType('payment.succeeded', 'payment.succeeded'), true);
    assert.equal(matchesEventType('payment.succeeded', 'payment.failed'), false);
    assert.equal(matchesEventType('payment.*', 'payment.succeeded'), true);
    assert.equal(matchesEventType('payment.*', 'payment.intent.created'), true);
    assert.equal(matchesEventType('payment.*', 'payment'), false);
    assert.equal(matchesEventType('*.created', 'customer.created'), true);
    assert.equal(matchesEventType('a*b*c', 'aXbYc'), true);
    assert.equal(matchesEventType('a*b*c', 'aXcYb'), false);
  });
});
