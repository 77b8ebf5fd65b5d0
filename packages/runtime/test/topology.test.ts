import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sanitizeDotted, sanitizeToken, topology } from '@hookstream/runtime';

describe('topology', () => {
  it('topology: empty namespace gives the names in the design', () => {
    const t = topology();
    assert.equal(t.raw('stripe'), 'hs.raw.stripe');
    assert.equal(t.events('stripe', 'payment.succeeded'), 'events.stripe.payment.succeeded');
    assert.equal(t.dlq('verify', 'github'), 'hs.dlq.verify.github');
    assert.equal(t.streams.raw, 'HS_RAW');
    assert.equal(t.buckets.sources, 'hs_sources');
  });

  it('topology: a namespace prefixes every subject, stream and bucket', () => {
    const t = topology('t1');
    assert.equal(t.raw('stripe'), 't1.hs.raw.stripe');
    assert.equal(t.subject('hs.raw.>'), 't1.hs.raw.>');
    assert.equal(t.streams.pipe, 't1_HS_PIPE');
    assert.equal(t.buckets.sources, 't1_hs_sources');
    assert.equal(t.local('t1.hs.raw.x'), 'hs.raw.x');
  });

  it('topology: tokens from outside data cannot inject wildcards or extra tokens', () => {
    assert.equal(sanitizeToken('a.b'), 'a_b');
    assert.equal(sanitizeToken('*'), '_');
    assert.equal(sanitizeToken('>'), '_');
    assert.equal(sanitizeToken('a b\tc'), 'a_b_c');
    assert.equal(sanitizeToken(''), '_');
    assert.equal(sanitizeDotted('payment.succeeded'), 'payment.succeeded');
    assert.equal(sanitizeDotted('a..b.'), 'a._.b._');
    assert.equal(sanitizeDotted('order.*.>'), 'order._._');
  });
});
