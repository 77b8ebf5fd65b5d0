import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findNatsServer } from '@hookstream/testkit';
import { findBinary, MissingBinaryError } from '../src/binaries.ts';

describe('testkit binaries', () => {
  it('testkit: a missing server binary is an error that says how to install it', () => {
    assert.throws(
      () => findBinary('hs-no-such-server', 'hs-no-such-package'),
      (err: unknown) => err instanceof MissingBinaryError && /apt-get install hs-no-such-package/.test(err.message),
    );
  });

  it('testkit: the nats-server in use is a supported release (>= 2.11)', () => {
    const { path, version } = findNatsServer();
    assert.match(path, /nats-server$/);
    const [major, minor] = version.slice(1).split('.').map(Number);
    assert.ok((major ?? 0) > 2 || (major === 2 && (minor ?? 0) >= 11), `nats-server ${version} at ${path}`);
  });
});
