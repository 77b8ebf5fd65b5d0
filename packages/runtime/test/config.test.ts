import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, EnvReader, readBaseConfig } from '@hookstream/runtime';

describe('config', () => {
  it('config: every bad variable is named in one error', () => {
    const reader = new EnvReader({ HS_HEALTH_PORT: 'x', HS_LOG_LEVEL: 'loud', HS_NAMESPACE: 'bad ns' });
    readBaseConfig(reader, 'svc', 9000);
    assert.throws(
      () => reader.done(),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 3);
        assert.match(err.message, /HS_HEALTH_PORT/);
        assert.match(err.message, /HS_LOG_LEVEL/);
        assert.match(err.message, /HS_NAMESPACE/);
        return true;
      },
    );
  });

  it('config: defaults resolve when nothing is set', () => {
    const reader = new EnvReader({});
    const config = readBaseConfig(reader, 'svc', 9000);
    reader.done();
    assert.deepEqual(config.natsServers, ['nats://127.0.0.1:4222']);
    assert.equal(config.healthPort, 9000);
    assert.equal(config.namespace, '');
  });
});
