import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matches } from '../src/dead-letters.ts';

const headersOf =
  (h: Record<string, string>) =>
  (name: string): string | undefined =>
    h[name];

describe('control: dead letters', () => {
  it('control: dead-letter filters match stage by subject, the rest by headers', () => {
    const h = headersOf({ 'hs-source': 'stripe', 'hs-dlq-reason': 'bad_signature' });
    const any = { stage: '', source: '', endpoint: '', reason: '' };
    assert.equal(matches('hs.dlq.verify.stripe', h, any), true);
    assert.equal(matches('hs.dlq.verify.stripe', h, { ...any, stage: 'verify', reason: 'bad_signature' }), true);
    assert.equal(matches('hs.dlq.verify.stripe', h, { ...any, stage: 'validate' }), false);
    assert.equal(matches('hs.dlq.verify.stripe', h, { ...any, source: 'github' }), false);
    assert.equal(matches('hs.dlq.deliver.ep1', headersOf({}), { ...any, endpoint: 'ep1' }), true);
    assert.equal(matches('hs.dlq.verify.stripe', h, { ...any, endpoint: 'ep1' }), false);
  });

  it('control: a dead-letter time range reads hs-dlq-at (since inclusive, until exclusive), else the stored time', () => {
    const any = { stage: '', source: '', endpoint: '', reason: '' };
    const at2000 = headersOf({ 'hs-dlq-at': '2000' });
    assert.equal(matches('hs.dlq.verify.s', at2000, { ...any, sinceMs: 2_000 }), true);
    assert.equal(matches('hs.dlq.verify.s', at2000, { ...any, sinceMs: 2_001 }), false);
    assert.equal(matches('hs.dlq.verify.s', at2000, { ...any, untilMs: 2_000 }), false);
    assert.equal(matches('hs.dlq.verify.s', at2000, { ...any, untilMs: 2_001 }), true);
    assert.equal(matches('hs.dlq.verify.s', headersOf({}), { ...any, sinceMs: 1_000, untilMs: 2_000 }, 1_500), true);
    assert.equal(matches('hs.dlq.verify.s', headersOf({}), { ...any, sinceMs: 1_000, untilMs: 2_000 }, 2_500), false);
  });
});
