import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RetryPolicy } from '@hookstream/models';
import { nextDelayMs, parseRetryAfter, withinRetryWindow } from '../src/backoff.ts';

const policy: RetryPolicy = { initialDelayMs: 5_000, maxDelayMs: 3_600_000, maxAgeMs: 72 * 3_600_000 };

describe('backoff', () => {
  it('deliver: backoff is full jitter within an exponential cap', () => {
    assert.equal(
      nextDelayMs(1, policy, () => 0),
      0,
    );
    assert.equal(
      nextDelayMs(1, policy, () => 0.999_999),
      4_999,
    );
    assert.equal(
      nextDelayMs(2, policy, () => 0.5),
      5_000,
    );
    assert.equal(
      nextDelayMs(4, policy, () => 0.5),
      20_000,
    );
    for (let attempt = 1; attempt <= 12; attempt++) {
      const cap = Math.min(policy.maxDelayMs, 5_000 * 2 ** (attempt - 1));
      for (const r of [0, 0.1, 0.5, 0.9, 0.999]) {
        const d = nextDelayMs(attempt, policy, () => r);
        assert.ok(d >= 0 && d < cap, `attempt ${attempt}, r=${r}: ${d} within [0, ${cap})`);
      }
    }
  });

  it('deliver: backoff is capped at maxDelayMs, even for huge attempt numbers', () => {
    assert.equal(
      nextDelayMs(20, policy, () => 0.5),
      1_800_000,
    );
    assert.equal(
      nextDelayMs(5_000, policy, () => 0.5),
      1_800_000,
    );
  });

  it('deliver: backoff never goes below Retry-After', () => {
    assert.equal(
      nextDelayMs(1, policy, () => 0.1, 30_000),
      30_000,
    );
    assert.equal(
      nextDelayMs(10, policy, () => 0.9, 30_000),
      Math.floor(0.9 * 2_560_000),
    );
  });

  it('deliver: Retry-After parses delta seconds and HTTP-dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('2', now), 2_000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past: now');
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-5', now), undefined);
    assert.equal(parseRetryAfter('1.5', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('deliver: the retry window closes maxAgeMs after receipt', () => {
    const p = { ...policy, maxAgeMs: 10_000 };
    assert.equal(withinRetryWindow(0, 5_000, 5_000, p), true);
    assert.equal(withinRetryWindow(0, 5_000, 5_001, p), false);
  });
});
