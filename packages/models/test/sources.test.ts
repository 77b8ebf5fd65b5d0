import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '@hookstream/contracts';
import { parseSourceConfig, sourcePolicy } from '@hookstream/models';

const NONE = { kind: 'none' } as const;

describe('sources', () => {
  it('sources: a minimal record gets defaults', () => {
    const s = parseSourceConfig({ id: 'stripe', scheme: NONE });
    assert.equal(s.enabled, true);
    assert.ok(Object.isFrozen(s));
  });

  it('sources: bad fields are named', () => {
    const field = (input: unknown): string => {
      try {
        parseSourceConfig(input);
      } catch (err) {
        assert.ok(err instanceof ValidationError);
        return err.field;
      }
      return 'none';
    };
    assert.equal(field({ id: 'a.b' }), 'id');
    assert.equal(field({ id: 'a', scheme: NONE, maxBodyBytes: -1 }), 'maxBodyBytes');
    assert.equal(field({ id: 'a', scheme: NONE, rateLimit: { perSecond: 0, burst: 1 } }), 'rateLimit.perSecond');
    assert.equal(field({ id: 'a', scheme: NONE, rateLimit: { perSecond: 1, burst: 0.5 } }), 'rateLimit.burst');
    assert.equal(field({ id: 'a', scheme: NONE, contentTypes: ['json'] }), 'contentTypes');
    assert.equal(field([]), 'source');
    assert.equal(field({ id: 'a' }), 'scheme');
    assert.equal(field({ id: 'a', provider: 'paypal' }), 'provider');
    assert.equal(field({ id: 'a', scheme: { kind: 'rot13' } }), 'scheme.kind');
    assert.equal(field({ id: 'a', provider: 'stripe', secrets: [{ id: 'k1' }] }), 'secrets[0].value');
    assert.equal(
      field({
        id: 'a',
        provider: 'stripe',
        secrets: [
          { id: 'k1', value: 'x' },
          { id: 'k1', value: 'y' },
        ],
      }),
      'secrets[1].id',
    );
    assert.equal(field({ id: 'a', provider: 'stripe', eventType: { from: 'cookie' } }), 'eventType.from');
  });

  it('sources: the policy comes from the preset, and explicit fields win', () => {
    const stripe = sourcePolicy(parseSourceConfig({ id: 's', provider: 'stripe', secrets: [{ id: 'k1', value: 'whsec_x' }] }));
    assert.equal(stripe.scheme.kind, 'stripe');
    assert.deepEqual(stripe.idempotencyKey, { from: 'json', path: '$.id' });
    assert.deepEqual(stripe.eventType, { from: 'json', path: '$.type' });
    assert.equal(stripe.secrets.length, 1);
    const custom = sourcePolicy(
      parseSourceConfig({ id: 'g', provider: 'github', eventType: { from: 'json', path: '$.action' }, scheme: { kind: 'none' } }),
    );
    assert.equal(custom.scheme.kind, 'none');
    assert.deepEqual(custom.eventType, { from: 'json', path: '$.action' });
    assert.deepEqual(custom.idempotencyKey, { from: 'header', name: 'X-GitHub-Delivery' });
  });

  it('sources: an unsigned or generic-HMAC source reads its event type from $.type unless told otherwise', () => {
    const typeAt = (config: Record<string, unknown>) => sourcePolicy(parseSourceConfig({ id: 'x', ...config })).eventType;
    assert.deepEqual(typeAt({ scheme: { kind: 'none' } }), { from: 'json', path: '$.type' });
    assert.deepEqual(typeAt({ scheme: { kind: 'hmac', header: 'X-Sig', algorithm: 'sha256', encoding: 'hex' } }), {
      from: 'json',
      path: '$.type',
    });
    assert.deepEqual(typeAt({ scheme: { kind: 'none' }, eventType: { from: 'header', name: 'X-Kind' } }), {
      from: 'header',
      name: 'X-Kind',
    });
    // A preset's own locator still wins, and a provider scheme without a preset gets no guess.
    assert.deepEqual(typeAt({ provider: 'github', scheme: { kind: 'none' } }), { from: 'header', name: 'X-GitHub-Event' });
    assert.equal(typeAt({ scheme: { kind: 'github' } }), undefined);
  });
});
