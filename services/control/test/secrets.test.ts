import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { RpcError } from '../src/errors.ts';
import { REDACTED, redact, restoreRedacted, rotate, rotatedView } from '../src/secrets.ts';

describe('control: secrets', () => {
  it('control: rotate puts the new secret first, bounds the others, drops expired ones', () => {
    const record = {
      id: 'src',
      secrets: [
        { id: 'a', value: 'va' },
        { id: 'b', value: 'vb', notAfterMs: 1_500 },
        { id: 'c', value: 'vc', notAfterMs: 900 },
      ],
    };
    const rotated = rotate(record, { id: 'n', value: 'vn', previousValidUntilMs: 2_000, nowMs: 1_000 });
    assert.deepEqual(rotated.secrets, [
      { id: 'n', value: 'vn' },
      { id: 'a', value: 'va', notAfterMs: 2_000 },
      { id: 'b', value: 'vb', notAfterMs: 1_500 },
    ]);
    assert.throws(
      () => rotate(record, { id: 'a', value: 'x', previousValidUntilMs: 2_000, nowMs: 1_000 }),
      (err: RpcError) => err.code === status.INVALID_ARGUMENT && err.field === 'new_secret_id',
    );
  });

  it('control: redact hides values; restoreRedacted brings stored ones back by id', () => {
    const stored = { id: 'e', secrets: [{ id: 'k1', value: 'whsec_AAAA' }] };
    const shown = redact(stored);
    assert.deepEqual(shown.secrets, [{ id: 'k1', value: REDACTED }]);
    assert.deepEqual(restoreRedacted(shown, stored), stored);
    assert.throws(() => restoreRedacted({ id: 'e', secrets: [{ id: 'k9', value: REDACTED }] }, stored), /secrets\[0\]\.value/);
    assert.deepEqual(redact({ id: 'no-secrets' }), { id: 'no-secrets' });
  });

  it('control: redacted headers and URL query values come back from the stored record by name; unknown ones are refused', () => {
    const stored = {
      id: 'e',
      url: 'https://h.example/old?token=t1&token=t2&plain',
      headers: { Authorization: 'Bearer a', 'X-Team': 'ops' },
      secrets: [{ id: 'k1', value: 'whsec_AAAA' }],
    };
    const shown = redact(stored);
    assert.deepEqual(shown.headers, { Authorization: REDACTED, 'X-Team': REDACTED });
    assert.equal(shown.url, 'https://h.example/old?token=***&token=***&***');
    assert.deepEqual(restoreRedacted(shown, stored), stored);
    // The path changes, the tokens stay; a header named in another case keeps its value; a new value replaces.
    assert.deepEqual(
      restoreRedacted(
        { ...shown, url: 'https://h.example/new?token=***&token=x', headers: { authorization: REDACTED, 'X-Team': 'dev' } },
        stored,
      ),
      { ...stored, url: 'https://h.example/new?token=t1&token=x', headers: { authorization: 'Bearer a', 'X-Team': 'dev' } },
    );
    assert.throws(
      () => restoreRedacted({ ...shown, headers: { 'X-New': REDACTED } }, stored),
      (err: RpcError) => err.code === status.INVALID_ARGUMENT && err.field === 'headers.X-New',
    );
    assert.throws(
      () => restoreRedacted({ ...shown, url: 'https://h.example/old?other=***' }, stored),
      (err: RpcError) => err.code === status.INVALID_ARGUMENT && err.field === 'url',
    );
  });

  it('control: a rotation answer shows the new secret and redacts every other secret-bearing value', () => {
    const record = {
      id: 'e',
      url: 'https://h.example/?token=t',
      headers: { Authorization: 'Bearer a' },
      secrets: [
        { id: 'new', value: 'whsec_NEW' },
        { id: 'old', value: 'whsec_OLD', notAfterMs: 5 },
      ],
    };
    assert.deepEqual(rotatedView(record, 'new'), {
      id: 'e',
      url: 'https://h.example/?token=***',
      headers: { Authorization: REDACTED },
      secrets: [
        { id: 'new', value: 'whsec_NEW' },
        { id: 'old', value: REDACTED, notAfterMs: 5 },
      ],
    });
  });
});
