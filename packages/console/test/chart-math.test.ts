import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classCounts,
  linearScale,
  linePath,
  maxOf,
  niceStep,
  niceTicks,
  outcomeClassOf,
  presentClasses,
  stackPoint,
  timeTicks,
} from '../web/chart-math.ts';

describe('linearScale', () => {
  it('maps the domain onto the range, inverted ranges included', () => {
    const y = linearScale(0, 100, 200, 0);
    assert.equal(y(0), 200);
    assert.equal(y(50), 100);
    assert.equal(y(100), 0);
  });
  it('maps a zero-width domain to the range start', () => {
    assert.equal(linearScale(5, 5, 10, 20)(5), 10);
  });
});

describe('niceStep and niceTicks', () => {
  it('rounds steps to 1, 2, 2.5, 5 × 10^k', () => {
    assert.equal(niceStep(0.7), 1);
    assert.equal(niceStep(17), 20);
    assert.equal(niceStep(23), 25);
    assert.equal(niceStep(300), 500);
  });
  it('covers the maximum from zero', () => {
    assert.deepEqual(niceTicks(123, 4), [0, 50, 100, 150]);
    assert.deepEqual(niceTicks(100, 4), [0, 25, 50, 75, 100]);
    assert.deepEqual(niceTicks(0), [0, 1]);
  });
  it('uses whole steps for counts', () => {
    assert.deepEqual(niceTicks(3, 4, true), [0, 1, 2, 3]);
  });
});

describe('timeTicks', () => {
  it('puts at most maxTicks ticks on local 10-minute multiples inside the window', () => {
    const since = new Date(2025, 0, 1, 10, 7, 30).getTime();
    const until = since + 3_600_000;
    const ticks = timeTicks(since, until, 6);
    assert.ok(ticks.length > 0 && ticks.length <= 6);
    for (const t of ticks) {
      assert.ok(t >= since && t <= until);
      const d = new Date(t);
      assert.equal(d.getSeconds(), 0);
      assert.equal(d.getMinutes() % 10, 0);
    }
  });
  it('is empty for an empty window', () => {
    assert.deepEqual(timeTicks(10, 10), []);
  });
});

describe('outcomes', () => {
  it('groups network failures and unknown outcomes', () => {
    assert.equal(outcomeClassOf('dns'), 'network');
    assert.equal(outcomeClassOf('tls'), 'network');
    assert.equal(outcomeClassOf('http_5xx'), 'http_5xx');
    assert.equal(outcomeClassOf('weird'), 'other');
  });
  it('counts attempts not in the outcome map as other', () => {
    const counts = classCounts({ attempts: 10, outcomes: { success: 6, connect: 1, dns: 1 } });
    assert.deepEqual(
      [...counts],
      [
        ['success', 6],
        ['network', 2],
        ['other', 2],
      ],
    );
  });
  it('falls back to successes without an outcome map', () => {
    assert.deepEqual(
      [...classCounts({ attempts: 5, successes: 4 })],
      [
        ['success', 4],
        ['other', 1],
      ],
    );
  });
  it('stacks in legend order', () => {
    assert.deepEqual(stackPoint({ attempts: 6, outcomes: { http_5xx: 2, success: 3, timeout: 1 } }), [
      { key: 'success', y0: 0, y1: 3 },
      { key: 'http_5xx', y0: 3, y1: 5 },
      { key: 'timeout', y0: 5, y1: 6 },
    ]);
    assert.deepEqual(stackPoint({}), []);
  });
  it('lists the classes present', () => {
    const keys = presentClasses([
      { attempts: 1, outcomes: { timeout: 1 } },
      { attempts: 2, outcomes: { success: 2 } },
    ]).map((c) => c.key);
    assert.deepEqual(keys, ['success', 'timeout']);
  });
});

describe('linePath and maxOf', () => {
  it('breaks the line across gaps', () => {
    const d = linePath(
      [
        [0, 0, 10],
        [60, 1, 11],
        [300, 2, 12],
      ],
      90,
    );
    assert.equal(d, 'M0.0,10.0L1.0,11.0M2.0,12.0');
  });
  it('finds the maximum with omitted fields as 0', () => {
    assert.equal(
      maxOf([{ latencyP95Ms: 5 }, {}, { latencyP95Ms: 9 }], (p) => p.latencyP95Ms),
      9,
    );
    assert.equal(
      maxOf([], (p) => p.attempts),
      0,
    );
  });
});
