import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSourceConfig } from '@hookstream/models';
import { ApplyFileError, type Current, describeChange, parseDesired, plan, stableJson } from '../src/apply.ts';
import { parseTime } from '../src/time.ts';

const empty: Current = { sources: new Map(), endpoints: new Map(), schemas: new Map() };

describe('hs apply: planning', () => {
  it('hs apply: a file with everything missing plans creates, sources before endpoints before schemas', () => {
    const desired = parseDesired(`
schemas:
  - { source: s1, eventType: t, schema: { type: object } }
endpoints:
  - { id: e1, url: "https://x.example/h", secrets: [{ id: k1, value: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }] }
sources:
  - { id: s1, scheme: { kind: none } }
`);
    assert.deepEqual(plan(desired, empty, false).map(describeChange), [
      '+ create source s1',
      '+ create endpoint e1',
      '+ create schema s1/t',
    ]);
  });

  it('hs apply: secrets compare by id; prune deletes only kinds the file lists, in reverse order', () => {
    const desired = parseDesired('sources:\n  - { id: s1, scheme: { kind: none }, secrets: [{ id: k1, value: new-value }] }\n');
    const current: Current = {
      sources: new Map([
        ['s1', JSON.parse(JSON.stringify(parseDesiredSource('s1')))],
        ['s2', { id: 's2', scheme: { kind: 'none' } }],
      ]),
      endpoints: new Map([['e9', { id: 'e9' }]]),
      schemas: new Map(),
    };
    assert.deepEqual(plan(desired, current, false), []);
    assert.deepEqual(plan(desired, current, true).map(describeChange), ['- delete source s2']);
  });

  it('hs apply: a bad file is an ApplyFileError naming the entry', () => {
    assert.throws(() => parseDesired('sources:\n  - { id: x }\n'), ApplyFileError);
    assert.throws(() => parseDesired('whatever: 1\n'), /unknown key/);
    assert.throws(() => parseDesired('sources:\n  - { id: a, scheme: { kind: none } }\n  - { id: a, scheme: { kind: none } }\n'), /twice/);
  });

  it('hs apply: stableJson ignores key order', () => {
    assert.equal(stableJson({ b: 1, a: [{ d: 2, c: 3 }] }), stableJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  });
});

/** The redacted record the control plane would answer for a `none` source with secret k1. */
function parseDesiredSource(id: string): unknown {
  const stored = parseSourceConfig({ id, scheme: { kind: 'none' }, secrets: [{ id: 'k1', value: 'old-value' }] });
  return { ...stored, secrets: [{ id: 'k1', value: '***' }] };
}

describe('hs: time options', () => {
  it('hs: parseTime takes ISO times and durations ago', () => {
    const now = Date.parse('2026-05-01T12:00:00Z');
    assert.equal(parseTime('2h', now), now - 7_200_000);
    assert.equal(parseTime('90s', now), now - 90_000);
    assert.equal(parseTime('2026-05-01T10:00:00Z', now), Date.parse('2026-05-01T10:00:00Z'));
    assert.equal(parseTime('yesterday', now), undefined);
    assert.equal(parseTime('12', now), undefined);
  });
});
