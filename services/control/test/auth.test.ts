import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { hasBearer } from '../src/auth.ts';

describe('control: auth', () => {
  it('control: hasBearer accepts only "Bearer <token>" with the exact token', () => {
    const md = (value?: string) => {
      const m = new Metadata();
      if (value !== undefined) m.set('authorization', value);
      return m;
    };
    assert.equal(hasBearer(md('Bearer s3cret-token-value'), 's3cret-token-value'), true);
    assert.equal(hasBearer(md('bearer s3cret-token-value'), 's3cret-token-value'), true);
    assert.equal(hasBearer(md('Bearer s3cret-token-valuX'), 's3cret-token-value'), false);
    assert.equal(hasBearer(md('Bearer s3cret'), 's3cret-token-value'), false);
    assert.equal(hasBearer(md('s3cret-token-value'), 's3cret-token-value'), false);
    assert.equal(hasBearer(md(), 's3cret-token-value'), false);
  });
});
