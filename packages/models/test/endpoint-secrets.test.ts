import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ValidationError } from '@hookstream/contracts';
import { decodeEndpoint, encodeRecord, parseEndpointConfig, REDACTED, redactSecrets, SecretBox } from '@hookstream/models';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

// Moved from runtime's secret-box.test.ts with the endpoint model: the box
// seals what an endpoint record holds (its secrets, headers, URL query).
describe('endpoint secrets at rest', () => {
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
