import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@hookstream/runtime';
import { loadStages, PIPELINE_HEALTH_PORT } from '../src/app.ts';

describe('pipeline: configuration', () => {
  it('pipeline: one ConfigError names the bad variables of every stage at once', () => {
    assert.throws(
      () => loadStages({ HS_NATS_URL: 'nats://127.0.0.1:4222', HS_INGEST_PORT: 'many', HS_VERIFY_CONCURRENCY: '0' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.problems.join('\n');
        assert.match(text, /HS_INGEST_PORT/);
        assert.match(text, /HS_VERIFY_CONCURRENCY/);
        return true;
      },
    );
  });

  it('pipeline: each stage gets its config from the shared environment, its health server on a loopback port', () => {
    const { health, stages } = loadStages({ HS_NATS_URL: 'nats://127.0.0.1:4222', HS_INGEST_PORT: '8081', HS_HEALTH_PORT: '9200' });
    assert.deepEqual(
      stages.map(([name]) => name),
      ['verify', 'dedup', 'validate', 'route', 'deliver', 'ingest'],
    );
    assert.equal(health.port, 9200, 'the combined health server takes HS_HEALTH_PORT');
    for (const [, config] of stages) {
      const c = config as { healthPort: number; healthHost: string };
      assert.equal(c.healthPort, 0);
      assert.equal(c.healthHost, '127.0.0.1');
    }
    const ingest = stages.find(([n]) => n === 'ingest')?.[1] as { port: number } | undefined;
    assert.equal(ingest?.port, 8081);
    assert.equal(loadStages({}).health.port, PIPELINE_HEALTH_PORT);
  });
});
