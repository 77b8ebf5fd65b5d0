import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BaseConfig, buildService, EnvReader, readBaseConfig } from '@hookstream/runtime';
import { httpRequest, type NatsServer, startNatsServer } from '@hookstream/testkit';

/** A config compiled from env as a service compiles it: this server, a free health port, its own namespace. */
function configOf(url: string, namespace: string): BaseConfig {
  const reader = new EnvReader({
    HS_LOG_LEVEL: 'silent',
    HS_NATS_URL: url,
    HS_HEALTH_PORT: '0',
    HS_HEALTH_HOST: '127.0.0.1',
    HS_NAMESPACE: namespace,
  });
  const config = readBaseConfig(reader, 'service-test', 0);
  reader.done();
  return config;
}

describe('buildService against a real nats-server', () => {
  let server: NatsServer;

  before(async () => {
    server = await startNatsServer();
  });

  after(async () => {
    await server?.stop();
  });

  it('service: health answers the wiring checks after nats; close unwinds start, health, setup, nats, prepare in that order', async () => {
    const order: string[] = [];
    let serving = false;
    const app = buildService({
      config: configOf(server.url, 'svc1'),
      prepare: async ({ cleanup }) => {
        order.push('prepare');
        cleanup.push('prepared', () => {
          order.push('close prepared');
        });
      },
      setup: async ({ platform, topology, cleanup }) => {
        // NATS is open and the streams exist before setup runs.
        assert.equal(platform.nats.isConnected(), true);
        assert.equal((await platform.jsm.streams.info(topology.streams.events)).config.name, 'svc1_HS_EVENTS');
        order.push('setup');
        cleanup.push('set up', () => {
          order.push('close set up');
        });
        return {
          readiness: { serving: () => serving },
          start: async () => {
            // The health server listens before start runs.
            const early = await httpRequest({ port: app.healthPort(), path: '/readyz' });
            assert.equal(early.status, 503);
            assert.deepEqual(JSON.parse(early.body).checks, { nats: true, serving: false });
            order.push('start');
            serving = true;
            cleanup.push('started', () => {
              order.push('close started');
            });
          },
        };
      },
    });
    assert.equal(app.healthPort(), 0);
    await app.run();
    const ready = await httpRequest({ port: app.healthPort(), path: '/readyz' });
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body).checks, { nats: true, serving: true });
    const live = await httpRequest({ port: app.healthPort(), path: '/healthz' });
    assert.equal(live.status, 200);
    assert.deepEqual(JSON.parse(live.body).checks, { process: true });
    const port = app.healthPort();
    await app.close();
    assert.deepEqual(order, ['prepare', 'setup', 'start', 'close started', 'close set up', 'close prepared']);
    // The health server is closed with the rest.
    await assert.rejects(httpRequest({ port, path: '/healthz' }));
  });

  it('service: a failing setup rejects run(); close still releases what was opened', async () => {
    const order: string[] = [];
    const app = buildService({
      config: configOf(server.url, 'svc2'),
      setup: async ({ cleanup }) => {
        cleanup.push('half open', () => {
          order.push('close half open');
        });
        throw new Error('setup failed');
      },
    });
    await assert.rejects(app.run(), /setup failed/);
    assert.equal(app.healthPort(), 0);
    await app.close();
    assert.deepEqual(order, ['close half open']);
  });
});
