import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Header } from '@hookstream/contracts';
import {
  buildApp,
  capturedHeaderBytes,
  DEFAULT_DROPPED_HEADERS,
  DEFAULT_MAX_HEADER_BYTES,
  type IngestApp,
  loadConfig,
} from '@hookstream/ingest';
import { SourceStore } from '@hookstream/models';
import { ConfigError, createLogger, envelopeHeadroomBytes, metrics, type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import { connectTestNats, httpRequest, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { uuidv7Time } from '../src/event-id.ts';

const NONE = { kind: 'none' } as const;
const logger = createLogger({ service: 'test', level: 'silent' });

/**
 * Writes `bytes` on a fresh connection and resolves with the status code of
 * the first response, once the server has closed the connection.
 */
function exchange(port: number, bytes: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (status === undefined) reject(new Error(`no response: ${JSON.stringify(text.slice(0, 200))}`));
      else resolve(Number(status));
    });
  });
}

/**
 * POSTs `body` in 64 KiB writes and resolves with the status as soon as a
 * response arrives (ingest may answer 413 before reading the body, and close).
 */
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

/** Sender headers (besides content-type) whose captured size, content-type included, is exactly `target` bytes. */
function senderHeadersOfCapturedSize(target: number, contentType = 'application/json'): Record<string, string> {
  const drop = new Set(DEFAULT_DROPPED_HEADERS);
  const headers: Record<string, string> = { 'content-type': contentType };
  const size = () => capturedHeaderBytes(Object.entries(headers).flat(), drop);
  // Many small headers: node's own header limit counts names and values only.
  for (let i = 0; size() + 300 < target; i++) headers[`x-pad-${String(i).padStart(2, '0')}`] = 'v'.repeat(250);
  headers['x-pad-last'] = '';
  headers['x-pad-last'] = 'w'.repeat(target - size());
  assert.equal(size(), target);
  return headers;
}

const post = (
  port: number,
  path: string,
  body: Buffer | string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  method = 'POST',
) => httpRequest({ port, path, body, headers, method });

describe('ingest against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let app: IngestApp;
  let port: number;
  const t = topology('it');

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    const kv = await openBucket(nats.nc, t.buckets.sources, { replicas: 1 });
    const store = new SourceStore(kv);
    await store.put({ id: 'stripe', scheme: NONE });
    await store.put({ id: 'tiny', scheme: NONE, maxBodyBytes: 16 });
    await store.put({ id: 'limited', scheme: NONE, rateLimit: { perSecond: 0.5, burst: 2 } });
    const config = loadConfig({
      HS_NATS_URL: server.url,
      HS_NAMESPACE: 'it',
      HS_INGEST_PORT: '0',
      HS_HEALTH_PORT: '0',
      HS_HEALTH_HOST: '127.0.0.1',
      HS_INGEST_HOST: '127.0.0.1',
      HS_INGEST_PUBLISH_TIMEOUT_MS: '500',
    });
    app = buildApp(config, { logger });
    await app.run();
    port = app.server().port;
  });

  after(async () => {
    await app?.close();
    await nats?.drain();
    await server?.stop();
  });

  it('ingest: a posted body arrives byte-identical on hs.raw.{source} with headers and event id', async () => {
    // Scenario: bytes a re-serialising parser would change (spacing, key order,
    // escaped unicode, a trailing newline) must come out exactly as sent.
    const body = Buffer.from('{ "b":1,  "a" : "caf\\u00e9 ☕",\n"n": 1.50 }\n', 'utf8');
    const res = await post(port, '/v1/webhooks/stripe', body, {
      'content-type': 'application/json; charset=utf-8',
      'Stripe-Signature': 't=123,v1=deadbeef',
      authorization: 'Bearer secret-token',
    });
    assert.equal(res.status, 202);
    const { id } = JSON.parse(res.body) as { id: string };
    assert.match(id, /^[0-9a-f-]{36}$/);
    const jsm = await jetstreamManager(nats.nc);
    const msgs = await storedMessages(jsm, t.streams.raw, t.raw('stripe'));
    const msg = msgs.find((m) => m.header.get(Header.eventId) === id);
    assert.ok(msg, 'message with the event id is in HS_RAW');
    assert.deepEqual(Buffer.from(msg.data), body);
    assert.equal(msg.header.get(Header.source), 'stripe');
    assert.equal(msg.header.get('hs-h-stripe-signature'), 't=123,v1=deadbeef');
    assert.equal(msg.header.get('hs-h-content-type'), 'application/json; charset=utf-8');
    assert.equal(msg.header.has('hs-h-authorization'), false, 'credentials are not archived');
    const receivedAt = Number(msg.header.get(Header.receivedAt));
    assert.ok(Math.abs(receivedAt - Date.now()) < 60_000);
    assert.equal(uuidv7Time(id), receivedAt);
  });

  it('ingest: binary bodies that are not UTF-8 survive untouched', async () => {
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x80, 0x7d]);
    const res = await post(port, '/v1/webhooks/stripe', body);
    assert.equal(res.status, 202);
    const { id } = JSON.parse(res.body) as { id: string };
    const jsm = await jetstreamManager(nats.nc);
    const msg = (await storedMessages(jsm, t.streams.raw)).find((m) => m.header.get(Header.eventId) === id);
    assert.deepEqual(Buffer.from(msg?.data ?? []), body);
  });

  it('ingest: 413 over the limit, by Content-Length and by a chunked body', async () => {
    const big = 'x'.repeat(17);
    assert.equal((await post(port, '/v1/webhooks/tiny', big)).status, 413);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/webhooks/tiny',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('0123456789');
      req.write('0123456789');
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal((await post(port, '/v1/webhooks/tiny', '{"ok":true}')).status, 202);
  });

  it('ingest: 404 for unknown sources and paths, 405 for GET, 415 for unsupported media', async () => {
    const unknown = await post(port, '/v1/webhooks/nope', '{}');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /unknown source/);
    assert.equal((await post(port, '/elsewhere', '{}')).status, 404);
    const get = await post(port, '/v1/webhooks/stripe', '', {}, 'GET');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await post(port, '/v1/webhooks/stripe', '<x/>', { 'content-type': 'application/xml' })).status, 415);
  });

  it('ingest: every answer is an hs.obs.received record: path source, status, reason, bytes, and the event id of a 202', async () => {
    // Scenario: acceptance rate = 202s / all answers per source, so refused
    // requests count too, an unknown source's 404 under the path's id.
    const accepted = await post(port, '/v1/webhooks/stripe', '{"received":1}');
    assert.equal(accepted.status, 202);
    const { id } = JSON.parse(accepted.body) as { id: string };
    assert.equal((await post(port, '/v1/webhooks/mistyped-src', '{}')).status, 404);
    assert.equal((await post(port, '/v1/webhooks/tiny', 'x'.repeat(17))).status, 413);
    const jsm = await jetstreamManager(nats.nc);
    type Received = {
      request_id: string;
      source: string;
      status: number;
      reason: string;
      bytes: number;
      event_id: string;
      received_at: number;
      at: number;
    };
    const records = async (): Promise<Received[]> =>
      (await storedMessages(jsm, t.streams.obs, t.obs('received'))).map((m) => JSON.parse(Buffer.from(m.data).toString()) as Received);
    const mine = await waitFor('three received records', async () => {
      const all = await records();
      const found = [
        all.find((r) => r.event_id === id),
        all.find((r) => r.source === 'mistyped-src'),
        all.find((r) => r.source === 'tiny' && r.status === 413),
      ];
      return found.every((r) => r !== undefined) ? (found as Received[]) : undefined;
    });
    const [ok, unknown, tooBig] = mine as [Received, Received, Received];
    assert.deepEqual(
      { source: ok.source, status: ok.status, reason: ok.reason, bytes: ok.bytes, request_id: ok.request_id },
      { source: 'stripe', status: 202, reason: '', bytes: 14, request_id: id },
    );
    assert.equal(uuidv7Time(id), ok.received_at);
    assert.ok(ok.at >= ok.received_at);
    assert.deepEqual(
      { status: unknown.status, reason: unknown.reason, event_id: unknown.event_id },
      { status: 404, reason: 'unknown source: mistyped-src', event_id: '' },
    );
    assert.match(unknown.request_id, /^[0-9a-f-]{36}$/);
    assert.equal(tooBig.reason, 'body over the limit of 16 bytes');
  });

  it('ingest: 429 with Retry-After over the source rate limit', async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await post(port, '/v1/webhooks/limited', '{}'));
    assert.deepEqual(
      results.map((r) => r.status),
      [202, 202, 429, 429],
    );
    assert.equal(results[2]?.headers['retry-after'], '2');
  });

  it('ingest: a source added while running is accepted without a restart', async () => {
    assert.equal((await post(port, '/v1/webhooks/late', '{}')).status, 404);
    const store = new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 }));
    await store.put({ id: 'late', scheme: NONE });
    await waitFor('late source', async () => ((await post(port, '/v1/webhooks/late', '{}')).status === 202 ? true : undefined));
    await store.delete('late');
    await waitFor('late source removed', async () => ((await post(port, '/v1/webhooks/late', '{}')).status === 404 ? true : undefined));
  });

  it('ingest: requests to random source paths add no metric series (405 and 404 are labelled _unknown)', async () => {
    // Scenario (issue 17, item 4): an anonymous scan of /v1/webhooks/<random>
    // with GET (405) and POST (404) must not create a series per name.
    for (let i = 0; i < 50; i++) {
      assert.equal((await post(port, `/v1/webhooks/scan-get-${i}`, '', {}, 'GET')).status, 405);
      assert.equal((await post(port, `/v1/webhooks/scan-post-${i}`, '{}')).status, 404);
    }
    assert.equal((await post(port, '/v1/webhooks/stripe', '', {}, 'GET')).status, 405);
    const series = (await metrics.ingestRequests.get()).values;
    const labels = new Set(series.map((v) => v.labels.source));
    for (const label of labels) assert.ok(['_unknown', 'stripe', 'tiny', 'limited', 'late'].includes(String(label)), `label ${label}`);
    const unknown405 = series.find((v) => v.labels.source === '_unknown' && v.labels.status === '405');
    assert.ok((unknown405?.value ?? 0) >= 50);
    assert.ok(
      series.some((v) => v.labels.source === 'stripe' && v.labels.status === '405'),
      'a configured source keeps its label',
    );
  });

  it('ingest: a Content-Length shorter than the body gets 400 and nothing is stored', async () => {
    // Scenario (issue 17, item 8): the declared length cuts the JSON after
    // 6 bytes; the rest does not parse as a next request. Before, the 6-byte
    // prefix was published (and later dead-lettered).
    const body = '{"cl":1,"rest":"not a request"}';
    const status = await exchange(
      port,
      `POST /v1/webhooks/stripe HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\n${body}`,
    );
    assert.equal(status, 400);
    // Anything the first request published went out before this one's.
    const marker = await post(port, '/v1/webhooks/stripe', '{"marker":"after-short-length"}');
    assert.equal(marker.status, 202);
    const jsm = await jetstreamManager(nats.nc);
    const stored = (await storedMessages(jsm, t.streams.raw, t.raw('stripe'))).map((m) => new TextDecoder().decode(m.data));
    assert.ok(stored.includes('{"marker":"after-short-length"}'));
    assert.equal(
      stored.some((d) => d.startsWith('{"cl"')),
      false,
      'the prefix is not stored',
    );
  });

  it('ingest: health and readiness answer on the health port', async () => {
    const ready = await post(app.healthPort(), '/readyz', '', {}, 'GET');
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body).checks, { nats: true, sources: true, http: true });
  });

  it('ingest: 503 (never 202) while nats-server is down, and 202 again after it restarts', async () => {
    // Scenario: nats-server crashes. Every answer while it is down must be
    // 503 with Retry-After; once it is back, the same ingest process accepts
    // again, and every id it acknowledged is in the stream.
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await post(port, '/v1/webhooks/stripe', `{"before":${i}}`);
      assert.equal(r.status, 202);
      acked.push((JSON.parse(r.body) as { id: string }).id);
    }
    await server.kill();
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await post(port, '/v1/webhooks/stripe', `{"during":${i}}`));
    for (const r of during) {
      assert.equal(r.status, 503);
      assert.ok(Number(r.headers['retry-after']) > 0);
    }
    assert.equal((await post(app.healthPort(), '/readyz', '', {}, 'GET')).status, 503);
    await server.restart();
    const after = await waitFor(
      'a 202 after restart',
      async () => {
        const r = await post(port, '/v1/webhooks/stripe', '{"after":1}');
        return r.status === 202 ? r : undefined;
      },
      20_000,
      100,
    );
    acked.push((JSON.parse(after.body) as { id: string }).id);
    const jsm = await waitFor('jsm after restart', () => jetstreamManager(nats.nc), 20_000, 100);
    const stored = new Set((await storedMessages(jsm, t.streams.raw)).map((m) => m.header.get(Header.eventId)));
    for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} is stored`);
  });
});

describe('ingest slow-loris guard', () => {
  it('ingest: a client that never finishes its headers is disconnected after the headers timeout', async () => {
    const server = await startNatsServer();
    const app = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'sl',
        HS_INGEST_PORT: '0',
        HS_INGEST_HOST: '127.0.0.1',
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
        HS_INGEST_HEADERS_TIMEOUT_MS: '500',
        HS_INGEST_REQUEST_TIMEOUT_MS: '1000',
      }),
      { logger },
    );
    try {
      await app.run();
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const socket = connect(app.server().port, '127.0.0.1', () => {
          socket.write('POST /v1/webhooks/x HTTP/1.1\r\nHost: a\r\n');
          // ... and never the blank line that ends the headers.
        });
        socket.resume(); // read the 408 so the close can be seen
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(Date.now() - started));
        setTimeout(() => reject(new Error('connection still open after 10 s')), 10_000).unref();
      });
      assert.ok(closedAfter >= 400, `closed after ${closedAfter} ms`);
    } finally {
      await app.close();
      await server.stop();
    }
  });
});

describe('ingest limits against a nats-server with max_payload 128 KiB', () => {
  const MAX_PAYLOAD = 128 * 1024;
  const headroom = envelopeHeadroomBytes(DEFAULT_MAX_HEADER_BYTES);
  const limit = MAX_PAYLOAD - headroom;
  const t = topology('lim');
  let server: NatsServer;
  let nats: NatsHandle;
  const env = (extra: Record<string, string>) =>
    loadConfig({
      HS_NATS_URL: server.url,
      HS_NAMESPACE: 'lim',
      HS_INGEST_PORT: '0',
      HS_HEALTH_PORT: '0',
      HS_HEALTH_HOST: '127.0.0.1',
      HS_INGEST_HOST: '127.0.0.1',
      ...extra,
    });

  before(async () => {
    server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
    nats = await connectTestNats(server.url);
    const store = new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 }));
    await store.put({ id: 'plain', scheme: NONE });
    await store.put({ id: 'roomy', scheme: NONE, maxBodyBytes: 10 * 1024 * 1024 });
  });

  after(async () => {
    await nats?.drain();
    await server?.stop();
  });

  it('ingest: refuses to start when the body limit plus the envelope headroom does not fit max_payload, naming both numbers', async () => {
    const app = buildApp(env({ HS_INGEST_MAX_BODY_BYTES: String(limit + 1) }), { logger });
    try {
      await assert.rejects(app.run(), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /HS_INGEST_MAX_BODY_BYTES/);
        assert.match(err.message, new RegExp(`body limit ${limit + 1} bytes`));
        assert.match(err.message, new RegExp(`max_payload of ${MAX_PAYLOAD} bytes`));
        assert.match(err.message, new RegExp(`at most ${limit} bytes`));
        return true;
      });
    } finally {
      await app.close();
    }
  });

  it("ingest: at a limit that exactly fits, a body of the limit is 202 and one byte more is 413, a source's larger limit included", async () => {
    const app = buildApp(env({ HS_INGEST_MAX_BODY_BYTES: String(limit) }), { logger });
    try {
      await app.run();
      const port = app.server().port;
      const json = { 'content-type': 'application/json' };
      const exact = Buffer.alloc(limit, 0x61);
      const res = await post(port, '/v1/webhooks/plain', exact);
      assert.equal(res.status, 202);
      const id = (JSON.parse(res.body) as { id: string }).id;
      const jsm = await jetstreamManager(nats.nc);
      const raw = (await storedMessages(jsm, t.streams.raw, t.raw('plain'))).find((m) => m.header.get(Header.eventId) === id);
      assert.equal(raw?.data.length, limit, 'stored whole');
      const over = Buffer.alloc(limit + 1, 0x61);
      assert.equal(await postStreaming(port, '/v1/webhooks/plain', over, json), 413, 'declared length');
      assert.equal(await postStreaming(port, '/v1/webhooks/plain', over, { ...json, 'transfer-encoding': 'chunked' }), 413, 'chunked');
      // The source allows 10 MiB, but no limit goes above what max_payload leaves room for.
      assert.equal((await post(port, '/v1/webhooks/roomy', exact)).status, 202);
      assert.equal(await postStreaming(port, '/v1/webhooks/roomy', over, json), 413);
    } finally {
      await app.close();
    }
  });

  it('ingest: captured sender headers of exactly the header limit are accepted, one byte more is 431', async () => {
    const app = buildApp(env({ HS_INGEST_MAX_BODY_BYTES: String(limit) }), { logger });
    try {
      await app.run();
      const port = app.server().port;
      const atLimit = senderHeadersOfCapturedSize(DEFAULT_MAX_HEADER_BYTES);
      assert.equal((await post(port, '/v1/webhooks/plain', Buffer.alloc(limit, 0x62), atLimit)).status, 202);
      const over = senderHeadersOfCapturedSize(DEFAULT_MAX_HEADER_BYTES + 1);
      assert.equal((await post(port, '/v1/webhooks/plain', '{}', over)).status, 431);
    } finally {
      await app.close();
    }
  });
});
