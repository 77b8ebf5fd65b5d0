import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSchemeConfig, SchemeConfigError } from '@hookstream/signing';
import { DEFAULT_TOLERANCE_SECONDS } from '../src/types.ts';

function assertBadField(input: unknown, field: string): void {
  assert.throws(
    () => parseSchemeConfig(input),
    (err: unknown) => {
      assert.ok(err instanceof SchemeConfigError, String(err));
      assert.equal(err.name, 'SchemeConfigError');
      assert.equal(err.field, field, err.message);
      return true;
    },
  );
}

describe('parseSchemeConfig', () => {
  it('signing: parseSchemeConfig accepts every kind and returns frozen, known fields only', () => {
    for (const kind of ['standard-webhooks', 'stripe', 'github', 'shopify', 'slack', 'razorpay', 'none']) {
      const config = parseSchemeConfig({ kind });
      assert.deepEqual(config, { kind });
      assert.ok(Object.isFrozen(config));
    }
    assert.deepEqual(parseSchemeConfig({ kind: 'stripe', toleranceSeconds: 600 }), { kind: 'stripe', toleranceSeconds: 600 });
    const full = {
      kind: 'hmac',
      header: 'X-Signature',
      algorithm: 'sha512',
      encoding: 'base64',
      prefix: 'v1=',
      timestampHeader: 'X-Timestamp',
      template: '{timestamp}.{body}',
      toleranceSeconds: 60,
    };
    assert.deepEqual(parseSchemeConfig(full), full);
    assert.deepEqual(parseSchemeConfig({ kind: 'hmac', header: 'X-Sig', algorithm: 'sha1', encoding: 'hex' }), {
      kind: 'hmac',
      header: 'X-Sig',
      algorithm: 'sha1',
      encoding: 'hex',
    });
    assert.equal(DEFAULT_TOLERANCE_SECONDS, 300);
  });

  it('signing: parseSchemeConfig names the bad field', () => {
    assertBadField(null, 'scheme');
    assertBadField([], 'scheme');
    assertBadField('stripe', 'scheme');
    assertBadField({}, 'kind');
    assertBadField({ kind: 'paypal' }, 'kind');
    assertBadField({ kind: 'toString' }, 'kind');
    assertBadField({ kind: 'stripe', tolerance: 10 }, 'tolerance');
    assertBadField({ kind: 'github', toleranceSeconds: 10 }, 'toleranceSeconds');
    for (const t of [0, -5, 1.5, '300', Number.POSITIVE_INFINITY])
      assertBadField({ kind: 'slack', toleranceSeconds: t }, 'toleranceSeconds');
    const hmac = { kind: 'hmac', header: 'X-Sig', algorithm: 'sha256', encoding: 'hex' };
    assertBadField({ ...hmac, header: undefined }, 'header');
    assertBadField({ ...hmac, header: 'X Sig' }, 'header');
    assertBadField({ ...hmac, header: 'X-Sig:' }, 'header');
    assertBadField({ ...hmac, algorithm: 'md5' }, 'algorithm');
    assertBadField({ ...hmac, encoding: 'base64url' }, 'encoding');
    assertBadField({ ...hmac, prefix: '' }, 'prefix');
    assertBadField({ ...hmac, prefix: 3 }, 'prefix');
    assertBadField({ ...hmac, template: '{timestamp}' }, 'template');
    assertBadField({ ...hmac, template: '{timestamp}.{body}' }, 'timestampHeader');
    assertBadField({ ...hmac, timestampHeader: 'X-Ts' }, 'template');
    assertBadField({ ...hmac, timestampHeader: 'X-Ts', template: '{body}' }, 'template');
    assertBadField({ ...hmac, timestampHeader: 'bad header', template: '{timestamp}{body}' }, 'timestampHeader');
    assertBadField({ ...hmac, secret: 'oops' }, 'secret');
  });

  it('signing: SchemeConfigError messages start with the field', () => {
    try {
      parseSchemeConfig({ kind: 'hmac', header: 'X-Sig', algorithm: 'sha256', encoding: 'hex', toleranceSeconds: 0 });
      assert.fail('expected a throw');
    } catch (err) {
      assert.ok(err instanceof SchemeConfigError);
      assert.match(err.message, /^toleranceSeconds: /);
    }
  });
});
