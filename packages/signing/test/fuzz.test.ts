import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { type RejectionReason, type SchemeConfig, type Secret, verifySignature } from '@hookstream/signing';
import { NOW_MS, NOW_S } from './helpers.ts';

const SCHEMES: readonly SchemeConfig[] = [
  { kind: 'standard-webhooks' },
  { kind: 'stripe' },
  { kind: 'github' },
  { kind: 'shopify' },
  { kind: 'slack' },
  { kind: 'razorpay' },
  { kind: 'hmac', header: 'X-Sig', algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' },
  { kind: 'hmac', header: 'X-Sig', algorithm: 'sha1', encoding: 'base64', timestampHeader: 'X-Ts', template: '{timestamp}.{body}' },
  { kind: 'none' },
];
const REASONS: readonly RejectionReason[] = ['missing_signature', 'malformed_signature', 'bad_signature', 'stale_timestamp', 'no_secret'];
const ROUNDS = 400;

/** mulberry32: a seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  't=',
  'v1=',
  'v0=',
  'v1,',
  'v1a,',
  'v2,',
  'sha256=',
  'whsec_',
  ',',
  ' ',
  '  ',
  '=',
  '==',
  '.',
  ':',
  '-',
  '+',
  '/',
  String(NOW_S),
  String(NOW_MS),
  '0',
  '9'.repeat(30),
  '-1',
  '1e9',
  'NaN',
  'ffff',
  'AAAA',
  'zz',
  '\u00e9',
  '\u2615',
  '\ud83d\ude00',
  '\u0000',
  '\t',
  '\n',
  'a'.repeat(64),
  'A'.repeat(88),
  '%',
  '{body}',
  '__proto__',
];

function fuzzString(next: () => number): string {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
  const ts = () => String(NOW_S + Math.floor((next() - 0.5) * 1200));
  const plausible = [
    () => `t=${ts()},v1=${bytes(32).toString('hex')}`,
    () => `v1,${bytes(32).toString('base64')} v1a,${bytes(64).toString('base64')}`,
    () => `sha256=${bytes(32).toString('hex')}`,
    () => `v0=${bytes(32).toString('hex')}`,
    () => bytes(32).toString('hex'),
    () => bytes(20).toString('base64'),
    ts,
  ];
  const mode = next();
  if (mode < 0.3) return plausible[Math.floor(next() * plausible.length)]?.() ?? '';
  if (mode < 0.55) {
    // Arbitrary code units, lone surrogates included.
    return String.fromCharCode(...Array.from({ length: Math.floor(next() * 120) }, () => Math.floor(next() * 0x10000)));
  }
  let s = '';
  const n = Math.floor(next() * 12);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(next() * PIECES.length)];
  return s;
}

describe('fuzz', () => {
  it('signing: a few hundred random headers through every scheme never throw', () => {
    const next = random(0x5eed);
    const secrets: Secret[] = [
      { id: 'hmac', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      { id: 'plain', value: 'plain secret' },
      { id: 'pk', value: 'whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=' },
      { id: 'junk-pk', value: 'whpk_!!' },
      { id: 'junk', value: 'whsec_' },
    ];
    const seen = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const values = new Map<string, string | undefined>();
      const header = (name: string) => {
        const key = name.toLowerCase();
        if (!values.has(key)) values.set(key, next() < 0.15 ? undefined : fuzzString(next));
        return values.get(key);
      };
      const body = Buffer.from(fuzzString(next), 'utf8');
      for (const scheme of SCHEMES) {
        const result = verifySignature(scheme, { body, header, nowMs: NOW_MS }, secrets);
        assert.equal(typeof result.ok, 'boolean');
        if (result.ok) {
          assert.equal(scheme.kind, 'none', `round ${round}: a random header verified under ${scheme.kind}`);
        } else {
          assert.ok(REASONS.includes(result.reason), result.reason);
          assert.equal(typeof result.detail, 'string');
          assert.ok(!result.detail.includes('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') && !result.detail.includes('plain secret'));
          seen.add(result.reason);
        }
      }
    }
    // The fuzzer reached past header presence into parsing and timestamp checks.
    for (const reason of ['missing_signature', 'malformed_signature', 'stale_timestamp', 'bad_signature'] as const) {
      assert.ok(seen.has(reason), reason);
    }
  });

  it('signing: odd Secret windows and values never throw', () => {
    const odd: Secret[] = [
      { id: 'nan', value: 'x', notBeforeMs: Number.NaN },
      { id: 'inf', value: '', notAfterMs: Number.POSITIVE_INFINITY },
      { id: 'neg', value: 'whpk_', notBeforeMs: -1 },
    ];
    const header = (name: string) => (name.toLowerCase().includes('timestamp') ? String(NOW_S) : 'v1,AAAA t=1,v1=00 sha256=00 v0=00');
    for (const scheme of SCHEMES) {
      const result = verifySignature(scheme, { body: new Uint8Array(), header, nowMs: NOW_MS }, odd);
      assert.equal(typeof result.ok, 'boolean');
    }
  });
});
