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
});
