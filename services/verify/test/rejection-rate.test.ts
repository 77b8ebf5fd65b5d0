import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@hookstream/verify';
import { REJECTION_ALERT_DEFAULTS, RejectionRates } from '../src/rejection-rate.ts';

const config = { percent: 50, windowMs: 60_000, minRequests: 4 };

describe('rejection rate', () => {
  it('rejection rate: the defaults are 50 % of at least 20 requests in 60 s', () => {
    assert.deepEqual({ ...REJECTION_ALERT_DEFAULTS }, { percent: 50, windowMs: 60_000, minRequests: 20 });
  });

  it('rejection rate: HS_VERIFY_REJECTION_ALERT_* set the threshold, window and minimum; bad values are refused', () => {
    assert.deepEqual({ ...loadConfig({}).rejectionAlert }, { ...REJECTION_ALERT_DEFAULTS });
    const set = loadConfig({
      HS_VERIFY_REJECTION_ALERT_PERCENT: '80',
      HS_VERIFY_REJECTION_ALERT_WINDOW_MS: '300000',
      HS_VERIFY_REJECTION_ALERT_MIN_REQUESTS: '50',
    });
    assert.deepEqual({ ...set.rejectionAlert }, { percent: 80, windowMs: 300_000, minRequests: 50 });
    assert.throws(() => loadConfig({ HS_VERIFY_REJECTION_ALERT_PERCENT: '0' }), /HS_VERIFY_REJECTION_ALERT_PERCENT/);
    assert.throws(() => loadConfig({ HS_VERIFY_REJECTION_ALERT_WINDOW_MS: '10' }), /HS_VERIFY_REJECTION_ALERT_WINDOW_MS/);
  });

  it('rejection rate: no alert before minRequests, one when the share reaches the threshold, then none in that window', () => {
    const rates = new RejectionRates(config);
    const t0 = 120_000;
    assert.equal(rates.count('stripe', true, t0), undefined);
    assert.equal(rates.count('stripe', true, t0 + 1), undefined);
    assert.equal(rates.count('stripe', false, t0 + 2), undefined);
    assert.deepEqual(rates.count('stripe', false, t0 + 3), {
      source: 'stripe',
      window_start: 120_000,
      window_ms: 60_000,
      rejected: 2,
      total: 4,
      rate: 0.5,
      threshold: 0.5,
    });
    for (let i = 0; i < 10; i++) assert.equal(rates.count('stripe', true, t0 + 10 + i), undefined);
  });

  it('rejection rate: windows are aligned to multiples of windowMs; a new window can alert again', () => {
    const rates = new RejectionRates(config);
    let alerts = 0;
    for (let i = 0; i < 8; i++) if (rates.count('gh', true, 179_000 + i) !== undefined) alerts++;
    assert.equal(alerts, 1);
    const next = [0, 1, 2, 3].map((i) => rates.count('gh', true, 180_000 + i));
    assert.deepEqual(
      next.map((a) => a?.window_start),
      [undefined, undefined, undefined, 180_000],
    );
  });

  it('rejection rate: below the threshold nothing is announced; sources are counted apart', () => {
    const rates = new RejectionRates(config);
    for (let i = 0; i < 10; i++) {
      assert.equal(rates.count('a', i % 4 === 0, i), undefined); // at most 2 of 5 rejected: 40 %
      assert.equal(rates.count('b', false, i), undefined);
    }
  });

  it('rejection rate: a retracted alert (not published) is answered again by the next request of the window', () => {
    const rates = new RejectionRates({ ...config, minRequests: 1 });
    const alert = rates.count('s', true, 0);
    assert.ok(alert);
    assert.equal(rates.count('s', true, 1), undefined);
    rates.retract(alert);
    assert.equal(rates.count('s', true, 2)?.rejected, 3);
  });
});
