import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { parseSchemaRecord, parseSourceConfig } from '@hookstream/models';
import {
  compilePattern,
  compileSchema,
  MAX_PATTERN_PROGRAM,
  MAX_SCHEMA_PROGRAM,
  RegexBudgetError,
  RegexMeter,
  SchemaCache,
} from '@hookstream/schema-compiler';
import { judge, type UniqueMessage } from '@hookstream/validate';
import { DriftLimiter, findDrift } from '../src/drift.ts';
import { handleUnique } from '../src/handler.ts';

// The pattern and body from the issue: with a backtracking engine each extra
// `a` doubles the time (28 a's took 21.6 s); 40 would take hours.
const HOSTILE_PATTERN = '^(a+)+$';
const HOSTILE_TEXT = `${'a'.repeat(40)}b`;

const stripe = parseSourceConfig({ id: 'stripe', provider: 'stripe' });

function message(body: string): UniqueMessage {
  const headers: Record<string, string> = { [Header.eventId]: 'evt-1', [Header.source]: 'stripe', [Header.eventType]: 'thing' };
  return { subject: 'hs.unique.stripe', data: new TextEncoder().encode(body), header: (n) => headers[n] };
}

describe('validate schema regexes', () => {
  it('validate: a catastrophic-backtracking pattern is answered by RE2, with the same verdicts as ECMA-262', () => {
    const compiled = compileSchema({ type: 'string', pattern: HOSTILE_PATTERN }, 'additive');
    assert.ok(compiled.ok);
    assert.deepEqual(compiled.check(HOSTILE_TEXT), [{ path: '', keyword: 'pattern', message: 'must match pattern "^(a+)+$"' }]);
    assert.deepEqual(compiled.check('a'.repeat(100_000)), []);
    const long = `${'a'.repeat(100_000)}b`;
    assert.equal(compiled.check(long).length, 1);
  });

  it('validate: common JSON Schema patterns read as in ECMA-262 (unicode escapes, classes, anchors, named groups)', () => {
    const cases: [string, string[]][] = [
      ['^[a-z]{3}$', ['eur', 'EUR', 'euro', '', 'eu\n']],
      ['^\\u00e9t\\u00e9$', ['été', 'ete']],
      ['^\\d{4}-\\d{2}-\\d{2}$', ['2024-01-31', '2024-1-31', '２０２４-01-31']],
      ['^\\/v1\\/[\\w-]+$', ['/v1/a-b_c', '/v1/a b']],
      ['^\\p{L}+$', ['Ünïcödé', 'abc1']],
      ['(?<year>\\d{4})', ['in 1999', 'none']],
      ['^[^]?x$', ['\nx', 'x', 'yyx']],
      ['^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', ['0190a3b4-1c2d-7e8f-9a0b-1c2d3e4f5a6b', 'nope']],
      ['^\\S+@\\S+$', ['a@b', 'a @b']],
      ['^$', ['', 'x']],
      ['cat|dog', ['hotdog', 'bird']],
    ];
    for (const [source, texts] of cases) {
      const safe = compilePattern(source);
      for (const text of texts) assert.equal(safe.test(text), new RegExp(source, 'u').test(text), `${source} on ${JSON.stringify(text)}`);
    }
  });

  it('validate: a schema whose regex RE2 cannot run does not compile, and the error names where and why', () => {
    const refused: [unknown, RegExp][] = [
      [{ pattern: '^(a)\\1$' }, /^\/pattern: pattern "\^\(a\)\\\\1\$" uses a backreference/],
      [{ properties: { name: { pattern: '(?<n>a)\\k<n>' } } }, /^\/properties\/name\/pattern: .* named backreference/],
      [{ items: { anyOf: [{ pattern: 'a(?=b)' }] } }, /^\/items\/anyOf\/0\/pattern: .*lookaround/],
      [{ patternProperties: { '^(?<!x)y': {} } }, /^\/patternProperties\/\^\(\?<!x\)y: .*lookaround/],
      [{ $defs: { a: { pattern: 'a{1001}' } } }, /^\/\$defs\/a\/pattern: .*cannot run in linear time \(RE2\): .*invalid repeat count/],
      [{ pattern: '(' }, /^\/pattern: .*is not a valid regular expression/],
      [{ pattern: '[a-z]{1000}[a-z]{1000}[a-z]{1000}' }, new RegExp(`RE2 instructions, more than ${MAX_PATTERN_PROGRAM}`)],
      [
        { properties: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`p${i}`, { pattern: `${i}[a-z]{1000}` }])) },
        new RegExp(`more than ${MAX_SCHEMA_PROGRAM} RE2 instructions in all`),
      ],
    ];
    for (const [schema, reason] of refused) {
      const compiled = compileSchema(schema as Record<string, unknown>, 'additive');
      assert.equal(compiled.ok, false, JSON.stringify(schema));
      assert.match(compiled.ok ? '' : compiled.error, reason);
    }
    // A regex in a position only ajv knows still goes through RE2.
    const hidden = compileSchema({ propertyNames: { pattern: '(a)\\1' } }, 'strict');
    assert.equal(hidden.ok, false);
  });

  it('validate: a stored schema with a backreference fails its events with schema_invalid instead of running it', () => {
    const record = parseSchemaRecord({
      source: 'stripe',
      eventType: 'thing',
      version: 4,
      schema: { properties: { a: { pattern: '(x+)\\1' } } },
    });
    const cache = new SchemaCache();
    const verdict = judge(message('{"a":"xx"}'), stripe, {
      schema: () => record,
      compiled: (r, mode) => cache.compiled(r, mode),
      maxDepth: 128,
    });
    assert.equal(verdict.kind, 'rejected');
    assert.equal(verdict.kind === 'rejected' && verdict.reason, 'schema_invalid');
    assert.match(
      verdict.kind === 'rejected' ? verdict.detail : '',
      /^schema version 4 does not compile: \/properties\/a\/pattern: .*backreference/,
    );
  });

  it('validate: the regex budget is charged before each test, and an event past it is dead-lettered as regex_budget', async () => {
    const meter = new RegexMeter(1_000);
    const safe = compilePattern('^[a-z]+$');
    assert.equal(safe.test('abc', meter), true);
    assert.equal(meter.spent, 4 * safe.size);
    assert.throws(() => safe.test('x'.repeat(1_000), meter), RegexBudgetError);

    // Scenario: 50 strings of 1,000 characters against a ~1,000-instruction
    // pattern: 5e7 units, over a budget of 1e7, so the event stops early.
    const record = parseSchemaRecord({
      source: 'stripe',
      eventType: 'thing',
      version: 1,
      schema: { type: 'object', properties: { list: { type: 'array', items: { type: 'string', pattern: '^[a-z]{1,500}' } } } },
    });
    const cache = new SchemaCache();
    const failures: string[] = [];
    const body = JSON.stringify({ list: Array.from({ length: 50 }, () => 'q'.repeat(1_000)) });
    const outcome = await handleUnique(message(body), {
      source: () => stripe,
      schema: () => record,
      compiled: (r, mode) => cache.compiled(r, mode),
      maxDepth: 128,
      regexBudget: 10_000_000,
      drift: new DriftLimiter({ intervalMs: 1, now: () => 0 }),
      now: () => 0,
      noteNoSchema: () => undefined,
      forward: async () => assert.fail('must not be forwarded'),
      recordDrift: async () => undefined,
      recordFailure: async (r) => {
        failures.push(r.reason);
      },
    });
    assert.equal(outcome.kind, 'term');
    assert.equal(outcome.kind === 'term' && outcome.reason, 'regex_budget');
    assert.match(outcome.kind === 'term' ? (outcome.detail ?? '') : '', /regex work over the budget of 10000000/);
    assert.deepEqual(failures, ['regex_budget']);
  });

  it('validate: drift tests patternProperties with RE2, so a hostile property name cannot stall it', () => {
    const schema = { type: 'object', properties: {}, patternProperties: { [HOSTILE_PATTERN]: {} } };
    assert.deepEqual(findDrift({ [HOSTILE_TEXT]: 1, aaaa: 2 }, schema), [{ path: `$.${HOSTILE_TEXT}`, jsonType: 'number' }]);
  });
});
