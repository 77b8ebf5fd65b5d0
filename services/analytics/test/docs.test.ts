import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { QUERIES } from '../src/queries.ts';

const DOC = readFileSync(new URL('../../../docs/analytics.md', import.meta.url), 'utf8');

describe('docs/analytics.md', () => {
  // Scenario: the doc's SQL is what the tests run. Each question is a
  // `### n. Title` heading followed by one ```sql block equal to QUERIES.
  it('analytics: the analyst queries in the doc are exactly the ones the tests run', () => {
    const section = DOC.slice(DOC.indexOf('## Analyst questions'));
    const found = [...section.matchAll(/^### \d+\. (.+)\n[\s\S]*?```sql\n([\s\S]*?)\n```/gm)].map((m) => ({ title: m[1], sql: m[2] }));
    assert.deepEqual(
      found,
      Object.values(QUERIES).map((q) => ({ title: q.title, sql: q.sql })),
    );
  });
});
