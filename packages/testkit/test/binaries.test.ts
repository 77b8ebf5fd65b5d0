import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findBinary, MissingBinaryError } from '@hookstream/testkit';

describe('testkit binaries', () => {
  it('testkit: a missing server binary is an error that says how to install it', () => {
    assert.throws(
      () => findBinary('hs-no-such-server', 'hs-no-such-package'),
      (err: unknown) => err instanceof MissingBinaryError && /apt-get install hs-no-such-package/.test(err.message),
    );
  });

  it('testkit: nats-server is found where Debian installs it', () => {
    assert.match(findBinary('nats-server', 'nats-server'), /nats-server$/);
  });
});
