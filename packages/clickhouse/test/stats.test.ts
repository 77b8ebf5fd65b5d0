import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seriesStep } from '@hookstream/clickhouse';

describe('stats series step', () => {
  it('analytics: seriesStep keeps at most 60 points with a whole-minute, round step', () => {
    const HOUR = 3_600_000;
    assert.equal(seriesStep(0, HOUR), 60);
    assert.equal(seriesStep(0, 30 * 60_000), 60);
    assert.equal(seriesStep(0, 6 * HOUR), 600);
    assert.equal(seriesStep(0, 24 * HOUR), 1_800);
    assert.equal(seriesStep(0, 7 * 24 * HOUR), 10_800);
    assert.equal(seriesStep(0, 365 * 24 * HOUR), 7 * 86_400);
    for (const span of [1, HOUR, 5 * HOUR + 7, 72 * HOUR, 90 * 24 * HOUR]) {
      const step = seriesStep(0, span);
      assert.equal(step % 60, 0);
      assert.ok(span / (step * 1000) <= 60, `span ${span} step ${step}`);
    }
  });
});
