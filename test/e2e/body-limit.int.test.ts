import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import { buildApp as buildDedup, loadConfig as dedupConfig } from '@hookstream/dedup';
import {
  buildApp as buildIngest,
  capturedHeaderBytes,
  DEFAULT_DROPPED_HEADERS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  type IngestApp,
  loadConfig as ingestConfig,
} from '@hookstream/ingest';
import { SourceStore } from '@hookstream/models';
import { buildApp as buildRoute, loadConfig as routeConfig } from '@hookstream/route';
import { type App, createLogger, type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import { connectTestNats, httpRequest, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { buildApp as buildValidate, loadConfig as validateConfig } from '@hookstream/validate';
import { buildApp as buildVerify, loadConfig as verifyConfig } from '@hookstream/verify';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';

const t = topology('lim');
const logger = createLogger({ service: 'test', level: 'silent' });

/** A JSON body of exactly `size` bytes: `{"type":…,"pad":"aaa…"}` (no type when `type` is undefined). */
function jsonOfSize(size: number, type: string | undefined): Buffer {
  const head = type === undefined ? '{"pad":"' : `{"type":"${type}","pad":"`;
  return Buffer.from(`${head}${'a'.repeat(size - head.length - 2)}"}`);
}

/** Sender headers, content-type included, that ingest captures as exactly `target` bytes. */
function senderHeadersOfCapturedSize(target: number): Record<string, string> {
  const drop = new Set(DEFAULT_DROPPED_HEADERS);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const size = () => capturedHeaderBytes(Object.entries(headers).flat(), drop);
  for (let i = 0; size() + 300 < target; i++) headers[`x-pad-${String(i).padStart(2, '0')}`] = 'v'.repeat(250);
  headers['x-pad-last'] = '';
  headers['x-pad-last'] = 'w'.repeat(target - size());
  assert.equal(size(), target);
  return headers;
}

/** POSTs in 64 KiB writes; resolves with the status as soon as one arrives (a 413 comes before the body is read). */
function postStreaming(port: number, path: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false }, (res) => {
      answered = true;
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    let at = 0;
    const writeMore = (): void => {
      while (!answered && at < body.length) {
        const chunk = body.subarray(at, at + 65_536);
        at += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', writeMore);
          return;
        }
      }
      if (!answered) req.end();
    };
    writeMore();
  });
}

describe('the body limit through the pipeline, on a nats-server with the default max_payload (1 MiB)', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let ingest: IngestApp;
  const apps: App[] = [];

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({
      id: 'big',
      scheme: { kind: 'none' },
      eventType: { from: 'json', path: '$.type' },
      schemaMode: 'off',
    });
    // Every service with its defaults: the limits must agree out of the box.
    const env = { HS_NATS_URL: server.url, HS_NAMESPACE: 'lim', HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1' };
    ingest = buildIngest(ingestConfig({ ...env, HS_INGEST_PORT: '0', HS_INGEST_HOST: '127.0.0.1' }), { logger });
    apps.push(
      ingest,
      buildVerify(verifyConfig(env), { logger }),
      buildDedup(dedupConfig(env), { logger }),
      buildValidate(validateConfig(env), { logger }),
      buildRoute(routeConfig(env), { logger }),
    );
    for (const app of apps) await app.run();
  });

  after(async () => {
    for (const app of apps.reverse()) await app.close();
    await nats?.drain();
    await server?.stop();
  });

  it('limits: a body of exactly the default limit, with sender headers at their limit, reaches events.* and the DLQ whole', async () => {
    // Scenario (issue 17, item 1): bodies just under the old 1 MiB limit got
    // 202 and then stuck between dedup and the DLQ. At the new default limit
    // (1,015,808 bytes) with 16,384 bytes of captured sender headers, one
    // event reaches events.big.big.one and one without a type is
    // dead-lettered by validate with its whole body.
    const port = ingest.server().port;
    const headers = senderHeadersOfCapturedSize(DEFAULT_MAX_HEADER_BYTES);
    const valid = jsonOfSize(DEFAULT_MAX_BODY_BYTES, 'big.one');
    const untyped = jsonOfSize(DEFAULT_MAX_BODY_BYTES, undefined);
    assert.equal(valid.length, 1_015_808);
    const a = await httpRequest({ port, path: '/v1/webhooks/big', method: 'POST', body: valid, headers });
    const b = await httpRequest({ port, path: '/v1/webhooks/big', method: 'POST', body: untyped, headers });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    const validId = (JSON.parse(a.body) as { id: string }).id;
    const untypedId = (JSON.parse(b.body) as { id: string }).id;

    const event = await waitFor(
      'the event on events.big.big.one',
      async () =>
        (await storedMessages(jsm, t.streams.events, t.events('big', 'big.one'))).find((m) => m.header.get(Header.eventId) === validId),
      30_000,
      100,
    );
    assert.ok(Buffer.from(event.data).equals(valid), 'byte-identical');
    assert.equal(event.header.get('hs-h-x-pad-last').length > 0, true, 'captured headers travel with it');
    const dead = await waitFor(
      'the dead letter of the untyped one',
      async () =>
        (await storedMessages(jsm, t.streams.dlq, t.dlq('validate', 'big'))).find((m) => m.header.get(Header.eventId) === untypedId),
      30_000,
      100,
    );
    assert.equal(dead.header.get(Header.dlqReason), 'missing_event_type');
    assert.equal(dead.header.has(Header.dlqReduced), false, 'dead-lettered whole');
    assert.ok(Buffer.from(dead.data).equals(untyped));
  });

  it('limits: one byte over the default limit is 413, and so is the old 1 MiB limit (never 503)', async () => {
    const port = ingest.server().port;
    const json = { 'content-type': 'application/json' };
    for (const size of [DEFAULT_MAX_BODY_BYTES + 1, 1_048_150, 1_048_248, 1_048_576]) {
      const body = jsonOfSize(size, 'big.one');
      assert.equal(await postStreaming(port, '/v1/webhooks/big', body, json), 413, `${size} bytes, declared`);
      assert.equal(
        await postStreaming(port, '/v1/webhooks/big', body, { ...json, 'transfer-encoding': 'chunked' }),
        413,
        `${size} bytes, chunked`,
      );
    }
  });
});
