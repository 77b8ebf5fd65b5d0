import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { createLogger } from '@hookstream/runtime';
import { type NatsServer, rejectsWithStatus, startNatsServer } from '@hookstream/testkit';

const TOKEN = 'code-budgets-token-0123456789';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('control: user-supplied code is checked when written, against a real nats-server', () => {
  let server: NatsServer;
  let control: ControlApp;
  let api: ControlApi;

  before(async () => {
    server = await startNatsServer();
    control = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'budgets',
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
        HS_CONTROL_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
        HS_CONSOLE_PORT: '0',
        HS_CONSOLE_HOST: '127.0.0.1',
      }),
      { logger: createLogger({ service: 'control', level: 'silent' }) },
    );
    await control.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await control?.close();
    await server?.stop();
  });

  it('control: a schema regex RE2 cannot run is INVALID_ARGUMENT naming schema_json, where the regex is and why', async () => {
    const schema = (pattern: string) => JSON.stringify({ type: 'object', properties: { word: { type: 'string', pattern } } });
    const backref = await rejectsWithStatus(
      api.createSchema({ source: 'shop', eventType: 'backref', schemaJson: schema('^(\\w+) \\1$') }),
      status.INVALID_ARGUMENT,
      /^schema_json: does not compile: \/properties\/word\/pattern: pattern "\^\(\\\\w\+\) \\\\1\$" uses a backreference/,
    );
    assert.deepEqual(backref.metadata.get('hs-field'), ['schema_json']);
    await rejectsWithStatus(
      api.createSchema({ source: 'shop', eventType: 'lookahead', schemaJson: schema('^(?=.*\\d)\\w+$') }),
      status.INVALID_ARGUMENT,
      /^schema_json: does not compile: \/properties\/word\/pattern: .*lookaround/,
    );
    await rejectsWithStatus(
      api.createSchema({ source: 'shop', eventType: 'huge', schemaJson: schema('[a-z]{1000}[a-z]{1000}[a-z]{1000}') }),
      status.INVALID_ARGUMENT,
      /more than 2000: use smaller repeat counts/,
    );
    // RE2 runs this one in linear time, so it is stored.
    const created = await api.createSchema({ source: 'shop', eventType: 'nested', schemaJson: schema('^(a+)+$') });
    assert.equal(created.version, 1);
  });

  it('control: a filter nested more than 3 comprehensions deep or longer than 4096 characters is INVALID_ARGUMENT naming filter', async () => {
    const endpoint = (id: string, filter: string) =>
      JSON.stringify({ id, url: 'https://hooks.example/in', secrets: [{ id: 'k1', value: SECRET }], filter });
    const deep = await rejectsWithStatus(
      api.createEndpoint({
        configJson: endpoint('deep', 'data.a.all(w, data.a.all(x, data.a.all(y, data.a.all(z, true))))'),
      }),
      status.INVALID_ARGUMENT,
      /^filter: nests comprehensions \(all, exists, exists_one, map, filter\) 4 deep, more than 3/,
    );
    assert.deepEqual(deep.metadata.get('hs-field'), ['filter']);
    await rejectsWithStatus(
      api.createEndpoint({ configJson: endpoint('long', `type == "${'x'.repeat(4_100)}"`) }),
      status.INVALID_ARGUMENT,
      /^filter: is longer than 4096 characters/,
    );
    const cube = await api.createEndpoint({
      configJson: endpoint('cube', 'data.items.all(x, data.items.all(y, data.items.all(z, true)))'),
    });
    assert.equal(JSON.parse(cube.configJson).id, 'cube', 'three deep is stored; route bounds each evaluation');
  });
});
