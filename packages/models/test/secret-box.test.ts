import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeSource, parseSourceConfig, SecretBox, SecretBoxError } from '@hookstream/models';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

describe('secret box', () => {
  it('secrets: sealed values open again, and a sealed value hides the secret', () => {
    const box = new SecretBox(new Map([['k1', k1]]), 'k1');
    const sealed = box.seal('whsec_plain');
    assert.match(sealed, /^enc:v1:k1:/);
    assert.equal(sealed.includes('whsec_plain'), false);
    assert.notEqual(box.seal('whsec_plain'), sealed, 'a fresh IV every time');
    assert.equal(box.open(sealed), 'whsec_plain');
    assert.equal(box.open('not sealed'), 'not sealed');
    assert.equal(box.seal(sealed), sealed, 'sealing twice is a no-op');
    assert.throws(
      () => box.seal('enc:v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      SecretBoxError,
      'a sealed-looking value that does not open',
    );
  });

  it('secrets: the master key rotates; values under the old key still open', () => {
    const old = new SecretBox(new Map([['k1', k1]]), 'k1');
    const rotated = new SecretBox(
      new Map([
        ['k1', k1],
        ['k2', k2],
      ]),
      'k2',
    );
    const before = old.seal('s1');
    assert.equal(rotated.open(before), 's1');
    assert.match(rotated.seal('s2'), /^enc:v1:k2:/);
    assert.throws(() => old.open(rotated.seal('s2')), SecretBoxError, 'k2 is unknown to the old box');
  });

  it('secrets: tampering, truncation and moving a value between key ids are detected', () => {
    const box = new SecretBox(
      new Map([
        ['k1', k1],
        ['k2', k1],
      ]),
      'k1',
    );
    const sealed = box.seal('secret');
    const raw = Buffer.from(sealed.slice('enc:v1:k1:'.length), 'base64');
    raw[14] = (raw[14] ?? 0) ^ 1;
    assert.throws(() => box.open(`enc:v1:k1:${raw.toString('base64')}`), SecretBoxError);
    assert.throws(() => box.open('enc:v1:k1:AAAA'), SecretBoxError);
    assert.throws(() => box.open(sealed.replace('enc:v1:k1:', 'enc:v1:k2:')), SecretBoxError, 'the key id is authenticated');
  });

  it('secrets: a stored source decodes with its secrets opened, or left sealed without the key', () => {
    const box = new SecretBox(new Map([['k1', k1]]), 'k1');
    const source = parseSourceConfig({ id: 's', provider: 'stripe', secrets: [{ id: 'a', value: 'whsec_x' }] });
    const stored = { ...source, secrets: [{ id: 'a', value: box.seal('whsec_x') }] };
    const bytes = new TextEncoder().encode(JSON.stringify(stored));
    assert.equal(decodeSource('s', bytes, box).secrets?.[0]?.value, 'whsec_x');
    assert.match(decodeSource('s', bytes).secrets?.[0]?.value ?? '', /^enc:v1:/);
  });
});
