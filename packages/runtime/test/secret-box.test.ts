import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ValidationError } from '@hookstream/contracts';
import {
  ConfigError,
  decodeEndpoint,
  decodeSource,
  encodeRecord,
  parseEndpointConfig,
  parseSourceConfig,
  REDACTED,
  redactSecrets,
  SecretBox,
  SecretBoxError,
  secretBoxFromEnv,
} from '@hookstream/runtime';

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

  it('secrets: keys come from HS_MASTER_KEY or HS_MASTER_KEYS, and bad ones are named', () => {
    assert.equal(secretBoxFromEnv({}), undefined);
    assert.equal(secretBoxFromEnv({ HS_MASTER_KEY: k1.toString('base64') })?.currentKeyId, 'k1');
    const both = secretBoxFromEnv({ HS_MASTER_KEYS: `a:${k1.toString('base64')},b:${k2.toString('base64')}`, HS_MASTER_KEY_ID: 'a' });
    assert.equal(both?.currentKeyId, 'a');
    assert.throws(() => secretBoxFromEnv({ HS_MASTER_KEY: 'c2hvcnQ=' }), ConfigError);
    assert.throws(() => secretBoxFromEnv({ HS_MASTER_KEYS: `a:${k1.toString('base64')}`, HS_MASTER_KEY_ID: 'z' }), ConfigError);
  });

  it('secrets: a stored source decodes with its secrets opened, or left sealed without the key', () => {
    const box = new SecretBox(new Map([['k1', k1]]), 'k1');
    const source = parseSourceConfig({ id: 's', provider: 'stripe', secrets: [{ id: 'a', value: 'whsec_x' }] });
    const stored = { ...source, secrets: [{ id: 'a', value: box.seal('whsec_x') }] };
    const bytes = new TextEncoder().encode(JSON.stringify(stored));
    assert.equal(decodeSource('s', bytes, box).secrets?.[0]?.value, 'whsec_x');
    assert.match(decodeSource('s', bytes).secrets?.[0]?.value ?? '', /^enc:v1:/);
  });

  it('secrets: endpoint headers and URL query values are sealed at rest, opened with the key, and still parse without it', () => {
    const box = new SecretBox(new Map([['k1', k1]]), 'k1');
    const endpoint = parseEndpointConfig({
      id: 'e',
      url: 'https://hooks.example/in?token=tok%2Fen-1&team=ops&flag#frag',
      headers: { Authorization: 'Bearer sk_live_1', 'X-Team': 'ops' },
      secrets: [{ id: 'a', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
    });
    const text = encodeRecord(endpoint, box);
    for (const clear of ['tok%2Fen-1', 'Bearer sk_live_1', 'whsec_', '=ops', '"ops"']) assert.equal(text.includes(clear), false, clear);
    const bytes = new TextEncoder().encode(text);
    assert.deepEqual(decodeEndpoint('e', bytes, box), endpoint);
    // Route decodes without the key: the record still parses; names, host and path stay readable.
    const sealed = decodeEndpoint('e', bytes);
    assert.match(sealed.url, /^https:\/\/hooks\.example\/in\?token=enc%3Av1%3Ak1%3A[^&]+&team=enc%3Av1%3A[^&]+&enc%3Av1%3A[^#]+#frag$/);
    assert.match(sealed.headers?.Authorization ?? '', /^enc:v1:k1:/);
    assert.deepEqual(redactSecrets(sealed), redactSecrets(endpoint));
    assert.deepEqual(redactSecrets(endpoint).headers, { Authorization: REDACTED, 'X-Team': REDACTED });
    assert.equal(redactSecrets(endpoint).url, 'https://hooks.example/in?token=***&team=***&***#frag');
    assert.deepEqual(redactSecrets({ id: 'no-secrets' }), { id: 'no-secrets' });
  });

  it('secrets: a value in the sealed form that does not open is refused at write time, naming the field', () => {
    const box = new SecretBox(new Map([['k1', k1]]), 'k1');
    const other = new SecretBox(new Map([['k2', k2]]), 'k2');
    const base = { id: 'e', url: 'https://hooks.example/in', secrets: [{ id: 'a', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }] };
    const cases: [object, string][] = [
      [{ ...base, secrets: [{ id: 'a', value: 'enc:v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }] }, 'secrets[0].value'],
      [{ ...base, headers: { Authorization: other.seal('Bearer x') } }, 'headers.Authorization'],
      [{ ...base, url: `https://hooks.example/in?token=${encodeURIComponent(other.seal('t'))}` }, 'url'],
    ];
    for (const [input, field] of cases) {
      assert.throws(
        () => encodeRecord(parseEndpointConfig(input), box),
        (err: unknown) => err instanceof ValidationError && err.field === field && /does not open/.test(err.message),
        field,
      );
    }
    // A value sealed under a key the box holds is kept as it is.
    const sealed = box.seal('Bearer y');
    assert.match(
      encodeRecord(parseEndpointConfig({ ...base, headers: { Authorization: sealed } }), box),
      new RegExp(sealed.replace(/[+/]/g, '\\$&')),
    );
  });
});
