import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { circuitKey, Header } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig, tokenDigest } from '@hookstream/control';
import { encodeCircuitReport } from '@hookstream/models';
import { createLogger, type NatsHandle, openBucket, openCircuitBucket, topology } from '@hookstream/runtime';
import { connectTestNats, httpRequest, type NatsServer, startNatsServer, storedMessages, waitFor } from '@hookstream/testkit';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { NO_STATS_NOTE } from '../src/health.ts';

const NS = 'con';
const t = topology(NS);
const ADMIN = 'console-admin-token-0123456789';
const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcd';
const SECRETS = [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }];
const logger = createLogger({ service: 'test', level: 'silent' });

describe('control: the web console API against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let control: ControlApp;
  let dir: string;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    dir = mkdtempSync(join(tmpdir(), 'hs-console-'));
    writeFileSync(join(dir, 'secret.txt'), 'outside dist');
    const users = join(dir, 'users');
    writeFileSync(
      users,
      `# name role sha256(token)\nvera viewer ${tokenDigest(VIEWER).toString('hex')}\n\nolga operator ${tokenDigest(OPERATOR).toString('hex')}\n`,
    );
    control = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: NS,
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
        HS_CONTROL_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: ADMIN,
        HS_CONSOLE_PORT: '0',
        HS_CONSOLE_DIR: join(dir, 'dist'),
        HS_CONSOLE_USERS_FILE: users,
      }),
      { logger },
    );
    await control.run();
  });

  after(async () => {
    await control?.close();
    await nats?.drain();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, token?: string) =>
    httpRequest({ port: control.consolePort(), path, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const rpc = async (method: string, body: unknown, token = ADMIN, contentType = 'application/json') => {
    const r = await httpRequest({
      port: control.consolePort(),
      path: `/api/rpc/${method}`,
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    });
    return { status: r.status, json: JSON.parse(r.body) as Record<string, unknown> & { error?: { code: string; message: string } } };
  };

  it('console: static files are served with a strict CSP; paths outside dist/ and dot files are refused; a missing build says so', async () => {
    const missing = await get('/');
    assert.equal(missing.status, 503);
    assert.match(missing.body, /make build/);
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><title>hookstream</title><script type="module" src="/app.js"></script>');
    writeFileSync(join(dir, 'dist', 'app.js'), 'console.log(1);');
    writeFileSync(join(dir, 'dist', '.env'), 'SECRET=1');
    const index = await get('/');
    assert.equal(index.status, 200);
    assert.match(index.headers['content-type'] as string, /^text\/html/);
    assert.match(index.headers['content-security-policy'] as string, /script-src 'self'; style-src 'self'/);
    assert.equal(index.headers['x-frame-options'], 'DENY');
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    const js = await get('/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'] as string, /^text\/javascript/);
    const etag = js.headers.etag as string;
    const cached = await httpRequest({ port: control.consolePort(), path: '/app.js', headers: { 'if-none-match': etag } });
    assert.equal(cached.status, 304);
    for (const path of ['/%2e%2e/secret.txt', '/..%2fsecret.txt', '/.env', '/nope.js', '/a%00b', '/%E0%A4%A']) {
      const r = await get(path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body, /outside dist|SECRET/, path);
    }
    assert.equal((await httpRequest({ port: control.consolePort(), path: '/', method: 'POST', body: '' })).status, 405);
  });

  it('console: no data without a known token; the control token is admin, users-file tokens have their role', async () => {
    const none = await get('/api/session');
    assert.equal(none.status, 401);
    assert.match(none.headers['www-authenticate'] as string, /^Bearer/);
    assert.equal(JSON.parse(none.body).error.code, 'UNAUTHENTICATED');
    assert.equal((await get('/api/session', 'not-a-token-at-all-000000')).status, 401);
    assert.equal((await rpc('ListEndpoints', {}, 'wrong-token-0123456789')).status, 401);
    assert.deepEqual(JSON.parse((await get('/api/session', ADMIN)).body), { user: 'admin', role: 'admin' });
    assert.deepEqual(JSON.parse((await get('/api/session', VIEWER)).body), { user: 'vera', role: 'viewer' });
    assert.deepEqual(JSON.parse((await get('/api/session', OPERATOR)).body), { user: 'olga', role: 'operator' });
  });

  it('console: RPCs take and give proto3 JSON through the same handlers; errors carry gRPC codes as HTTP statuses', async () => {
    const created = await rpc('CreateEndpoint', {
      configJson: JSON.stringify({ id: 'web', url: 'https://example.com/hook', secrets: SECRETS }),
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.id, 'web');
    const listed = await rpc('ListEndpoints', {});
    assert.deepEqual(
      (listed.json.endpoints as { id: string }[]).map((e) => e.id),
      ['web'],
    );
    assert.match((listed.json.endpoints as { configJson: string }[])[0]?.configJson ?? '', /\*\*\*/, 'secrets stay redacted');
    const missing = await rpc('GetEndpoint', { id: 'nope' });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error?.code, 'NOT_FOUND');
    const invalid = await rpc('CreateEndpoint', { configJson: '{"id":"bad"}' });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error?.code, 'INVALID_ARGUMENT');
    assert.equal((await rpc('ListEndpoints', '{not json')).status, 400);
    assert.equal((await rpc('ListEndpoints', '[1]')).status, 400);
    assert.equal((await rpc('ListEndpoints', {}, ADMIN, 'text/plain')).status, 415);
    assert.equal((await rpc('NoSuchMethod', {})).status, 404);
    assert.equal((await rpc('constructor', {})).status, 404);
    assert.equal((await get('/api/rpc/ListEndpoints', ADMIN)).status, 405);
    const series = await rpc('StatsSeries', {});
    assert.equal(series.status, 501);
    assert.match(series.json.error?.message ?? '', /HS_CLICKHOUSE_URL/);
  });

  it('console: a viewer reads only; an operator also replays and toggles endpoints but cannot change configuration', async () => {
    assert.equal((await rpc('ListEndpoints', {}, VIEWER)).status, 200);
    assert.equal((await rpc('EndpointHealth', {}, VIEWER)).status, 200);
    const denied = await rpc('ReplayDeadLetters', { sequence: 1 }, VIEWER);
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error?.code, 'PERMISSION_DENIED');
    assert.equal((await rpc('SetEndpointEnabled', { id: 'web', enabled: false }, VIEWER)).status, 403);
    const toggled = await rpc('SetEndpointEnabled', { id: 'web', enabled: false }, OPERATOR);
    assert.equal(toggled.status, 200, JSON.stringify(toggled.json));
    assert.equal((await rpc('SetEndpointEnabled', { id: 'web', enabled: true }, OPERATOR)).status, 200);
    assert.equal((await rpc('CreateEndpoint', { configJson: '{}' }, OPERATOR)).status, 403);
    assert.equal((await rpc('RotateEndpointSecret', { id: 'web' }, OPERATOR)).status, 403);
    assert.equal((await rpc('GetDeadLetter', { sequence: 1 }, VIEWER)).status, 404, 'a read, answered NOT_FOUND');
  });

  it('console: EndpointHealth joins the record, the 410 state, circuit reports and dead-letter counts (no ClickHouse: a note)', async () => {
    await rpc('CreateEndpoint', { configJson: JSON.stringify({ id: 'gone', url: 'https://example.com/gone', secrets: SECRETS }) });
    const states = await openBucket(nats.nc, t.buckets.endpointState, { replicas: 1 });
    await states.put('gone', JSON.stringify({ disabled: true, reason: 'HTTP 410 from https://example.com/gone', at: Date.now() }));
    const circuits = await openCircuitBucket(nats.nc, t.buckets.circuits, { replicas: 1 });
    await circuits.put(
      circuitKey('web', 'pod-b'),
      encodeCircuitReport({ endpoint: 'web', replica: 'pod-b', state: 'open', reportedAtMs: Date.now() }),
    );
    await circuits.put(
      circuitKey('web', 'pod-a'),
      encodeCircuitReport({ endpoint: 'web', replica: 'pod-a', state: 'half-open', reportedAtMs: Date.now() }),
    );
    // A report older than its TTL does not count even before the bucket drops it.
    await circuits.put(
      circuitKey('gone', 'pod-a'),
      encodeCircuitReport({ endpoint: 'gone', replica: 'pod-a', state: 'open', reportedAtMs: 1 }),
    );
    const js = jetstream(nats.nc);
    for (let i = 0; i < 3; i++) {
      const h = headers();
      h.set(Header.endpointId, 'web');
      h.set(Header.dlqStage, 'deliver');
      await js.publish(t.dlq('deliver', 'web'), '{}', { headers: h });
    }
    // The health RPCs read live copies of the buckets: the writes above show within the watch's delay.
    const health = await waitFor('the 410 state in EndpointHealth', async () => {
      const h = await rpc('EndpointHealth', {}, VIEWER);
      const gone = (h.json.endpoints as { endpointId: string; disabledReason?: string }[] | undefined)?.find(
        (e) => e.endpointId === 'gone',
      );
      return gone?.disabledReason !== undefined ? h : undefined;
    });
    assert.equal(health.status, 200);
    assert.equal(health.json.statsNote, NO_STATS_NOTE);
    const byId = new Map((health.json.endpoints as Record<string, unknown>[]).map((e) => [e.endpointId, e]));
    const web = byId.get('web') as { circuits: { replica: string; state: string; reportedAtMs: number }[] };
    assert.deepEqual(
      web.circuits.map((c) => [c.replica, c.state]),
      [
        ['pod-a', 'half-open'],
        ['pod-b', 'open'],
      ],
    );
    assert.ok(web.circuits.every((c) => Date.now() - c.reportedAtMs < 60_000));
    assert.deepEqual(
      { ...web, circuits: [] },
      { endpointId: 'web', url: 'https://example.com/hook', enabled: true, circuits: [], deadLetters: 3 },
    );
    assert.deepEqual(byId.get('gone'), {
      endpointId: 'gone',
      url: 'https://example.com/gone',
      enabled: true,
      disabledReason: 'HTTP 410 from https://example.com/gone',
    });
    const one = await rpc('EndpointHealth', { endpoint: 'gone' });
    assert.deepEqual(
      (one.json.endpoints as { endpointId: string }[]).map((e) => e.endpointId),
      ['gone'],
    );
    assert.equal((await rpc('EndpointHealth', { endpoint: 'nope' })).status, 404);
  });

  it('console: ListEvents newestFirst feeds the live view; ReplayToEndpoint with eventId replays that one event once per request id', async () => {
    const js = jetstream(nats.nc);
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const id = `feed-${i}`;
      ids.push(id);
      const source = i % 3 === 0 ? 'shop' : 'crm';
      const type = i % 3 === 0 ? 'order.created' : 'contact.updated';
      const h = headers();
      h.set(Header.eventId, id);
      h.set(Header.source, source);
      h.set(Header.eventType, type);
      h.set(Header.receivedAt, String(Date.now()));
      await js.publish(t.events(source, type), `{"n":${i}}`, { headers: h, msgID: `${id}:route` });
    }
    const newest = await rpc('ListEvents', { newestFirst: true, pageSize: 5 });
    assert.deepEqual(
      (newest.json.events as { eventId: string }[]).map((e) => e.eventId),
      ['feed-299', 'feed-298', 'feed-297', 'feed-296', 'feed-295'],
    );
    // 100 shop events among 300: the backwards scan widens its window until it has them.
    const shop = await rpc('ListEvents', { newestFirst: true, pageSize: 100, source: 'shop' });
    const shopIds = (shop.json.events as { eventId: string }[]).map((e) => e.eventId);
    assert.equal(shopIds.length, 100);
    assert.equal(shopIds[0], 'feed-297');
    assert.equal(shopIds[99], 'feed-0');
    const nobody = await rpc('ListEvents', { newestFirst: true, pageSize: 10, source: 'nobody' });
    assert.deepEqual(nobody.json, {}, 'a source without events: an empty answer');
    const contacts = await rpc('ListEvents', { newestFirst: true, pageSize: 2, eventType: 'contact.*' });
    assert.deepEqual(
      (contacts.json.events as { eventId: string }[]).map((e) => e.eventId),
      ['feed-299', 'feed-298'],
    );

    await rpc('CreateEndpoint', {
      configJson: JSON.stringify({ id: 'shop-only', url: 'https://example.com/s', sources: ['shop'], secrets: SECRETS }),
    });
    const replay = await rpc('ReplayToEndpoint', { endpointId: 'shop-only', eventId: 'feed-297', requestId: 'r1' }, OPERATOR);
    assert.equal(replay.status, 200, JSON.stringify(replay.json));
    assert.deepEqual(replay.json, { replayed: 1, requestId: 'r1' });
    const again = await rpc('ReplayToEndpoint', { endpointId: 'shop-only', eventId: 'feed-297', requestId: 'r1' }, OPERATOR);
    assert.deepEqual(again.json, { duplicates: 1, requestId: 'r1' });
    const skipped = await rpc('ReplayToEndpoint', { endpointId: 'shop-only', eventId: 'feed-298', requestId: 'r2' }, OPERATOR);
    assert.deepEqual(skipped.json, { skipped: 1, requestId: 'r2' });
    assert.equal((await rpc('ReplayToEndpoint', { endpointId: 'shop-only', eventId: 'no-such-event' })).status, 404);
    assert.equal((await rpc('ReplayToEndpoint', { endpointId: 'shop-only' })).status, 400);
    const tasks = await storedMessages(jsm, t.streams.delivery, t.deliver('shop-only'));
    assert.equal(tasks.length, 1);
    assert.equal(new TextDecoder().decode(tasks[0]?.data), '{"n":297}');
  });

  it('console: SourceHealth counts events stored and dead letters per source (every stage but deliver); no ClickHouse: a note', async () => {
    // Runs after the feed test stored 100 shop and 200 crm events.
    for (const id of ['shop', 'crm', 'quiet']) {
      const created = await rpc('CreateSource', { configJson: JSON.stringify({ id, provider: 'stripe', secrets: SECRETS }) });
      assert.equal(created.status, 200, JSON.stringify(created.json));
    }
    const js = jetstream(nats.nc);
    for (const stage of ['verify', 'validate']) await js.publish(t.dlq(stage, 'shop'), '{}');
    await js.publish(t.dlq('deliver', 'shop'), '{}'); // an endpoint named like the source: not the source's
    const health = await waitFor('three sources in SourceHealth', async () => {
      const h = await rpc('SourceHealth', {}, VIEWER);
      return (h.json.sources as unknown[] | undefined)?.length === 3 ? h : undefined;
    });
    assert.equal(health.status, 200, JSON.stringify(health.json));
    assert.equal(health.json.statsNote, NO_STATS_NOTE);
    assert.deepEqual(health.json.sources, [
      { sourceId: 'crm', provider: 'stripe', enabled: true, eventsStored: 200 },
      { sourceId: 'quiet', provider: 'stripe', enabled: true },
      { sourceId: 'shop', provider: 'stripe', enabled: true, eventsStored: 100, deadLetters: 2 },
    ]);
    const one = await rpc('SourceHealth', { source: 'shop' });
    assert.equal((one.json.sources as unknown[]).length, 1);
    assert.equal((await rpc('SourceHealth', { source: 'nope' })).status, 404);
  });
  it('control: /metrics reports hookstream_dlq_messages, the messages in HS_DLQ (no other service does), and hookstream_build_info', async () => {
    const js = jetstream(nats.nc);
    const jsm = await jetstreamManager(nats.nc);
    await js.publish(t.dlq('verify', 'metrics-src'), '{}');
    await js.publish(t.dlq('deliver', 'metrics-ep'), '{}');
    const stored = (await jsm.streams.info(t.streams.dlq)).state.messages;
    assert.ok(stored >= 2);
    const text = (await httpRequest({ port: control.healthPort(), path: '/metrics' })).body;
    assert.match(text, new RegExp(`^hookstream_dlq_messages ${stored}$`, 'm'));
    assert.match(text, /^hookstream_build_info\{version="\d+\.\d+\.\d+",node="v\d+[^"]*",service="control"\} 1$/m);
  });
});
