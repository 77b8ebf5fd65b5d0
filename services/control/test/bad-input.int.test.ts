import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { type ControlApi, ControlPlaneService, connectControl } from '@hookstream/proto';
import { createLogger } from '@hookstream/runtime';
import { httpRequest, type NatsServer, rejectsWithStatus, startNatsServer } from '@hookstream/testkit';
import { DEFAULT_MAX_CONFIG_BYTES, DEFAULT_MAX_CONFIG_DEPTH } from '../src/config.ts';

const TOKEN = 'bad-input-token-0123456789ab';
const BAD_IDS = ['>', '../../x', 'a.b', '*', 'a b', 'x'.repeat(65)];

describe('control: bad client input against a real nats-server', () => {
  let server: NatsServer;
  let control: ControlApp;
  let api: ControlApi;
  // Error lines the control service logs (an INTERNAL answer logs one per call).
  const errors: string[] = [];

  before(async () => {
    server = await startNatsServer();
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '' && JSON.parse(line).level >= 50) errors.push(line);
    });
    control = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'bad',
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
        HS_CONTROL_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
        HS_CONSOLE_PORT: '0',
        HS_CONSOLE_HOST: '127.0.0.1',
      }),
      { logger: createLogger({ service: 'control', level: 'warn', destination }) },
    );
    await control.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await control?.close();
    await server?.stop();
  });

  const consoleRpc = async (method: string, body: unknown) => {
    const r = await httpRequest({
      port: control.consolePort(),
      path: `/api/rpc/${method}`,
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });
    return { status: r.status, error: (JSON.parse(r.body) as { error?: { code: string; message: string } }).error };
  };

  it('control: ids that are not source/endpoint ids are INVALID_ARGUMENT / 400 naming the field, on gRPC and the console', async () => {
    const idField = /must match \[A-Za-z0-9_-\]\{1,64\}/;
    for (const id of BAD_IDS) {
      const calls: [string, () => Promise<unknown>][] = [
        ['id', () => api.getSource({ id })],
        ['id', () => api.getEndpoint({ id })],
        ['id', () => api.deleteSource({ id })],
        ['id', () => api.deleteEndpoint({ id })],
        ['id', () => api.rotateSourceSecret({ id })],
        ['id', () => api.rotateEndpointSecret({ id })],
        ['id', () => api.setEndpointEnabled({ id, enabled: false })],
        ['id', () => api.updateSource({ configJson: JSON.stringify({ id, scheme: { kind: 'none' } }) })],
        ['id', () => api.updateEndpoint({ configJson: JSON.stringify({ id, url: 'https://h.example', secrets: [] }) })],
        ['source', () => api.getSchema({ source: id, eventType: 'a' })],
        ['source', () => api.deleteSchema({ source: id, eventType: 'a' })],
        ['source', () => api.updateSchema({ source: id, eventType: 'a', schemaJson: '{}' })],
        ['source', () => api.listSchemas({ source: id })],
        ['endpoint', () => api.endpointHealth({ endpoint: id })],
        ['source', () => api.sourceHealth({ source: id })],
        ['endpoint_id', () => api.replayToEndpoint({ endpointId: id, sinceMs: 1 })],
      ];
      for (const [field, call] of calls) {
        const err = await rejectsWithStatus(call(), status.INVALID_ARGUMENT);
        assert.deepEqual(err.metadata.get('hs-field'), [field], `${id}: ${err.details}`);
        assert.match(err.details, new RegExp(`^${field}: `));
      }
      await rejectsWithStatus(api.getSource({ id }), status.INVALID_ARGUMENT, idField);
      const web = await consoleRpc('GetSource', { id });
      assert.equal(web.status, 400);
      assert.equal(web.error?.code, 'INVALID_ARGUMENT');
      assert.match(web.error?.message ?? '', /^id: must match/);
    }
    await rejectsWithStatus(api.getSchema({ source: 'ok', eventType: 'x'.repeat(257) }), status.INVALID_ARGUMENT, /^event_type: .*256/);
    // JSON numbers the proto's integers cannot be (gRPC clients cannot even send them).
    for (const revision of ['abc', -1, 1.5]) {
      const web = await consoleRpc('UpdateSource', { configJson: '{"id":"s","scheme":{"kind":"none"}}', revision });
      assert.deepEqual([web.status, web.error?.message.split(':')[0]], [400, 'revision'], String(revision));
    }
    const page = await consoleRpc('ListSources', { pageSize: 'x' });
    assert.deepEqual([page.status, page.error?.message.split(':')[0]], [400, 'page_size']);
    assert.deepEqual(errors, [], 'a client error logs no error line');
  });

  it('control: a request message that does not decode (not protobuf, an integer over 2^53) is INVALID_ARGUMENT, not INTERNAL', async () => {
    // Scenario: grpc-js answers INTERNAL when a request cannot be decoded;
    // ts-proto refuses uint64 values above Number.MAX_SAFE_INTEGER. Raw bytes
    // stand in for a client in another language.
    const Raw = makeGenericClientConstructor(
      {
        deleteSource: {
          path: '/hookstream.v1.ControlPlane/DeleteSource',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'Raw',
    );
    const client = new Raw(`127.0.0.1:${control.grpcPort()}`, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const call = (bytes: Buffer) =>
      new Promise<unknown>((resolve, reject) => {
        (client as unknown as Record<string, (b: Buffer, m: Metadata, cb: (e: Error | null, r: unknown) => void) => void>).deleteSource?.(
          bytes,
          metadata,
          (err, res) => (err === null ? resolve(res) : reject(err)),
        );
      });
    // Field 1 (id) = "s", field 2 (revision, uint64) = 2^60 as a varint.
    let varint = 2n ** 60n;
    const revision: number[] = [];
    while (varint >= 0x80n) {
      revision.push(Number((varint & 0x7fn) | 0x80n));
      varint >>= 7n;
    }
    revision.push(Number(varint));
    try {
      for (const bytes of [Buffer.from([0x0a, 0x01, 0x73, 0x10, ...revision]), Buffer.from([0xff, 0xff, 0xff])]) {
        const err = await rejectsWithStatus(call(bytes), status.INVALID_ARGUMENT, /^request: not a valid deleteSource request message/);
        assert.deepEqual(err.metadata.get('hs-field'), ['request']);
      }
    } finally {
      client.close();
    }
    assert.deepEqual(errors, [], 'a client error logs no error line');
  });

  it('control: refuses to start when HS_CONTROL_MAX_CONFIG_BYTES cannot fit the server, naming both numbers', async () => {
    const app = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'bad2',
        HS_HEALTH_PORT: '0',
        HS_CONTROL_PORT: '0',
        HS_CONTROL_TOKEN: TOKEN,
        HS_CONSOLE_ENABLED: 'false',
        HS_CONTROL_MAX_CONFIG_BYTES: '600000',
      }),
      { logger: createLogger({ service: 'control', level: 'silent' }) },
    );
    try {
      await assert.rejects(app.run(), /HS_CONTROL_MAX_CONFIG_BYTES=600000: .*max_payload of 1048576 bytes; lower it to at most 522240/);
    } finally {
      await app.close();
    }
  });

  it('console: hostile values in any field of any RPC answer 4xx, never 5xx, and log no error', async () => {
    // Scenario: every RPC, every request field name the API uses, values a
    // fuzzer would try first (wildcards, traversal, wrong types, huge and
    // fractional numbers). Only UNIMPLEMENTED (no ClickHouse: 501) may be 5xx.
    const methods = Object.keys(ControlPlaneService).map((k) => `${k.charAt(0).toUpperCase()}${k.slice(1)}`);
    const fields = ['id', 'source', 'endpoint', 'endpointId', 'eventId', 'eventType', 'typePattern', 'configJson', 'schemaJson'];
    fields.push('description', 'pageToken', 'pageSize', 'revision', 'sequence', 'sinceMs', 'untilMs', 'limit', 'maxPerSecond');
    fields.push('stepSeconds', 'requestId', 'newSecret', 'newSecretId', 'previousValidUntilMs', 'enabled', 'newestFirst', 'filter');
    fields.push('expression');
    const values: unknown[] = [
      '>',
      '../../x',
      '*',
      '',
      'a'.repeat(5_000),
      -1,
      1.5,
      'abc',
      1e300,
      {},
      [],
      null,
      true,
      '\u0000',
      '{"id":">"}',
    ];
    const refused: string[] = [];
    for (const method of methods) {
      for (const field of fields) {
        for (const value of values) {
          const body =
            field === 'filter'
              ? { filter: { stage: value, source: value, endpoint: value, reason: value } }
              : { sinceMs: 1, [field]: value };
          const r = await httpRequest({
            port: control.consolePort(),
            path: `/api/rpc/${method}`,
            method: 'POST',
            body: JSON.stringify(body),
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          });
          if (r.status >= 500 && r.status !== 501) refused.push(`${method} ${JSON.stringify(body).slice(0, 60)} -> ${r.status} ${r.body}`);
        }
      }
    }
    assert.deepEqual(refused, []);
    assert.deepEqual(errors, [], 'a client error logs no error line');
  });

  it('control: config JSON over the size or nesting limit is INVALID_ARGUMENT / 400 naming the field and the limit', async () => {
    const big = JSON.stringify({ id: 'big', scheme: { kind: 'none' }, description: 'x'.repeat(1_100_000) });
    const deep = `{"id":"deep","scheme":{"kind":"none"},"extra":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const sizeMessage = new RegExp(
      `^config_json: is \\d+ bytes, over the limit of ${DEFAULT_MAX_CONFIG_BYTES} bytes \\(HS_CONTROL_MAX_CONFIG_BYTES\\)`,
    );
    const depthMessage = new RegExp(`deeper than the limit of ${DEFAULT_MAX_CONFIG_DEPTH} levels \\(HS_CONTROL_MAX_CONFIG_DEPTH\\)`);
    for (const [call, message] of [
      [() => api.createSource({ configJson: big }), sizeMessage],
      [() => api.updateSource({ configJson: big }), sizeMessage],
      [() => api.createEndpoint({ configJson: big }), sizeMessage],
      [() => api.createSource({ configJson: deep }), depthMessage],
      [() => api.updateEndpoint({ configJson: deep }), depthMessage],
    ] as const) {
      const err = await rejectsWithStatus(call(), status.INVALID_ARGUMENT, message);
      assert.deepEqual(err.metadata.get('hs-field'), ['config_json']);
    }
    const schemaDeep = `{"type":"object","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    await rejectsWithStatus(
      api.createSchema({ source: 's', eventType: 't', schemaJson: schemaDeep }),
      status.INVALID_ARGUMENT,
      /^schema_json: .*deeper/,
    );
    await rejectsWithStatus(
      api.createSchema({ source: 's', eventType: 't', schemaJson: `{"description":"${'x'.repeat(300_000)}"}` }),
      status.INVALID_ARGUMENT,
      /^schema_json: is \d+ bytes, over the limit/,
    );
    await rejectsWithStatus(
      api.createSchema({ source: 's', eventType: 't', schemaJson: '{}', description: 'x'.repeat(5_000) }),
      status.INVALID_ARGUMENT,
      /^description: .*4096/,
    );
    for (const [method, body, message] of [
      ['CreateSource', { configJson: big }, sizeMessage],
      ['CreateEndpoint', { configJson: deep }, depthMessage],
    ] as const) {
      const web = await consoleRpc(method, body);
      assert.equal(web.status, 400, method);
      assert.equal(web.error?.code, 'INVALID_ARGUMENT');
      assert.match(web.error?.message ?? '', message);
    }
    // A config just under the limit is still taken.
    const fits = JSON.stringify({ id: 'fits', scheme: { kind: 'none' }, description: '' });
    const padded = JSON.stringify({
      id: 'fits',
      scheme: { kind: 'none' },
      description: 'x'.repeat(DEFAULT_MAX_CONFIG_BYTES - fits.length),
    });
    assert.equal(Buffer.byteLength(padded), DEFAULT_MAX_CONFIG_BYTES);
    await api.createSource({ configJson: padded });
    await rejectsWithStatus(api.getSource({ id: 'big' }), status.NOT_FOUND);
    assert.deepEqual(errors, [], 'a client error logs no error line');
  });
});
