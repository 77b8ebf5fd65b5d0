import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '@hookstream/contracts';
import { parseEndpointConfig, parseSourceConfig } from '@hookstream/models';

describe('operational source', () => {
  it('models: _hookstream is reserved for operational events: no source may take it, an endpoint may subscribe to it', () => {
    assert.throws(
      () => parseSourceConfig({ id: '_hookstream', scheme: { kind: 'none' } }),
      (err: unknown) => err instanceof ValidationError && /reserved for operational events/.test(err.message),
    );
    assert.doesNotThrow(() => parseSourceConfig({ id: '_hookstream2', scheme: { kind: 'none' } }));
    const endpoint = parseEndpointConfig({
      id: 'pager',
      url: 'https://ops.example.com/hooks',
      secrets: [{ id: 's', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
      sources: ['_hookstream'],
      eventTypes: ['endpoint.*', 'delivery.exhausted'],
    });
    assert.deepEqual(endpoint.sources, ['_hookstream']);
  });
});
