import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError, secretBoxFromEnv } from '@hookstream/runtime';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

// The master keys are configuration (runtime's config reads them); the box
// they open is a record model (packages/models/test/secret-box.test.ts).
describe('master keys', () => {
  it('secrets: keys come from HS_MASTER_KEY or HS_MASTER_KEYS, and bad ones are named', () => {
    assert.equal(secretBoxFromEnv({}), undefined);
    assert.equal(secretBoxFromEnv({ HS_MASTER_KEY: k1.toString('base64') })?.currentKeyId, 'k1');
    const both = secretBoxFromEnv({ HS_MASTER_KEYS: `a:${k1.toString('base64')},b:${k2.toString('base64')}`, HS_MASTER_KEY_ID: 'a' });
    assert.equal(both?.currentKeyId, 'a');
    assert.throws(() => secretBoxFromEnv({ HS_MASTER_KEY: 'c2hvcnQ=' }), ConfigError);
    assert.throws(() => secretBoxFromEnv({ HS_MASTER_KEYS: `a:${k1.toString('base64')}`, HS_MASTER_KEY_ID: 'z' }), ConfigError);
  });
});
