import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '@hookstream/contracts';
import { checkFilter, compileFilter, type FilterInput } from '@hookstream/models';
import { loadConfig } from '@hookstream/route';

const input = (data: unknown): FilterInput => ({ type: 't', source: 's', id: 'e1', data, headers: { 'x-tier': 'gold' } });
const list = (n: number) => ({ items: Array.from({ length: n }, (_, i) => i) });
// The probe: nested all() over a 300-element list, 27 million iterations.
const CUBE = 'data.items.all(x, data.items.all(y, data.items.all(z, true)))';
const GENEROUS_CLOCK = 60_000;

describe('route filter budgets', () => {
  it('route: a filter past its step budget fails with an error naming the budget, however its result is combined', () => {
    const budget = { maxSteps: 1_000, maxMs: GENEROUS_CLOCK };
    for (const expression of [CUBE, `${CUBE} || true`, `!(${CUBE}) && false`, `(${CUBE}) ? true : true`]) {
      assert.deepEqual(
        compileFilter(expression, budget)(input(list(300))),
        { ok: false, error: 'filter budget exceeded: more than 1000 steps (comprehension iterations and regex work)' },
        expression,
      );
    }
  });

  it('route: filters within the budget keep their meaning', () => {
    const budget = { maxSteps: 1_000, maxMs: GENEROUS_CLOCK };
    const cases: [string, unknown, boolean][] = [
      ['data.items.all(x, data.items.all(y, true))', list(30), true],
      ['data.items.exists(x, x == 29.0)', list(30), true],
      ['data.items.exists_one(x, x > 28.0)', list(30), true],
      ['data.items.filter(x, x > 9.0).size() == 20', list(30), true],
      ['data.items.map(x, x + 1.0)[0] == 1.0', list(30), true],
      ['data.order.lines.exists(l, l.sku == "b") && headers["x-tier"] == "gold"', { order: { lines: [{ sku: 'a' }, { sku: 'b' }] } }, true],
      ['"name" in data && data.name.matches("^(a+)+$")', { name: `${'a'.repeat(40)}b` }, false],
      ['data.items.all(x, x < 10.0)', list(30), false],
    ];
    for (const [expression, data, match] of cases) {
      assert.deepEqual(compileFilter(expression, budget)(input(data)), { ok: true, match }, expression);
    }
    // A list exactly at the budget passes; one more iteration does not.
    assert.deepEqual(compileFilter('data.items.all(x, true)', budget)(input(list(1_000))), { ok: true, match: true });
    assert.equal(compileFilter('data.items.all(x, true)', budget)(input(list(1_001))).ok, false);
  });

  it('route: matches runs on RE2 and its work (characters × program size) counts against the budget', () => {
    const budget = { maxSteps: 1_000, maxMs: GENEROUS_CLOCK };
    const filter = compileFilter('data.s.matches("^(a+)+$")', budget);
    assert.deepEqual(filter(input({ s: `${'a'.repeat(1_000)}b` })), { ok: true, match: false });
    assert.deepEqual(filter(input({ s: `${'a'.repeat(1_000_000)}b` })), {
      ok: false,
      error: 'filter budget exceeded: more than 1000 steps (comprehension iterations and regex work)',
    });
    assert.match(
      (compileFilter('data.s.matches("(a)\\\\1")', budget)(input({ s: 'aa' })) as { error: string }).error,
      /^matches: .*invalid escape/,
    );
  });

  it('route: a filter past its time budget fails with an error naming the time', () => {
    const result = compileFilter(CUBE, { maxSteps: 100_000_000, maxMs: 5 })(input(list(300)));
    assert.deepEqual(result, { ok: false, error: 'filter budget exceeded: ran longer than 5 ms' });
  });

  it('route: filters nested more than 3 comprehensions deep or longer than 4096 characters are refused at configuration time', () => {
    const four = 'data.a.all(w, data.a.all(x, data.a.all(y, data.a.all(z, true))))';
    assert.throws(
      () => checkFilter(four),
      (err: unknown) =>
        err instanceof ValidationError &&
        /^filter: nests comprehensions \(all, exists, exists_one, map, filter\) 4 deep, more than 3/.test(err.message),
    );
    assert.throws(() => compileFilter(four), /nests comprehensions/, 'a stored filter written before the limit is refused when compiled');
    assert.throws(() => checkFilter(`type == "${'x'.repeat(4_100)}"`), /filter: is longer than 4096 characters \(4110\)/);
    // Ranges and results run once per loop: they do not nest.
    checkFilter(CUBE);
    checkFilter('data.a.map(x, x).filter(y, true).all(z, data.b.exists(q, q == z)) && data.c.exists(r, data.d.all(s, true))');
  });

  it('route: the filter budget is read from HS_ROUTE_FILTER_MAX_STEPS and HS_ROUTE_FILTER_MAX_MS', () => {
    const base = { HS_NATS_URL: 'nats://127.0.0.1:4222' };
    assert.deepEqual(loadConfig(base).filterBudget, { maxSteps: 100_000, maxMs: 100 });
    assert.deepEqual(loadConfig({ ...base, HS_ROUTE_FILTER_MAX_STEPS: '5000', HS_ROUTE_FILTER_MAX_MS: '20' }).filterBudget, {
      maxSteps: 5_000,
      maxMs: 20,
    });
    assert.throws(() => loadConfig({ ...base, HS_ROUTE_FILTER_MAX_STEPS: '0' }), /HS_ROUTE_FILTER_MAX_STEPS/);
  });
});
