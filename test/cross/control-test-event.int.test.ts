import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { buildApp, type ControlApp, loadConfig, tokenDigest } from '@hookstream/control';
import { buildApp as buildDeliver, type DeliverApp, loadConfig as loadDeliverConfig } from '@hookstream/deliver';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { createLogger } from '@hookstream/runtime';
import { signStandardWebhooks } from '@hookstream/signing';
import { httpRequest, type NatsServer, rejectsWithStatus, startNatsServer, waitFor } from '@hookstream/testkit';

const NS = 'tev';
const TOKEN = 'test-event-token-0123456789abc';
const VIEWER = 'viewer-token-test-event-012345';
const OPERATOR = 'operator-token-test-event-0123';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const logger = createLogger({ service: 'test', level: 'silent' });

interface Received {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A receiver that records each request's URL, headers and body, and answers 204. */
async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('control: CheckFilter and SendTestEvent against a real nats-server, deliver and an HTTP endpoint', () => {
  let server: NatsServer;
  let control: ControlApp;
  let deliver: DeliverApp;
  let api: ControlApi;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dir: string;

  before(async () => {
    server = await startNatsServer();
    receiver = await startReceiver();
    dir = mkdtempSync(join(tmpdir(), 'hs-test-event-'));
    const users = join(dir, 'users');
    writeFileSync(users, `vera viewer ${tokenDigest(VIEWER).toString('hex')}\nolga operator ${tokenDigest(OPERATOR).toString('hex')}\n`);
    const env = { HS_NATS_URL: server.url, HS_NAMESPACE: NS, HS_HEALTH_PORT: '0', HS_HEALTH_HOST: '127.0.0.1', HS_LOG_LEVEL: 'silent' };
    control = buildApp(
      loadConfig({
        ...env,
        HS_CONTROL_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
        HS_CONSOLE_PORT: '0',
        HS_CONSOLE_HOST: '127.0.0.1',
        HS_CONSOLE_USERS_FILE: users,
      }),
      { logger },
    );
    await control.run();
    deliver = buildDeliver(loadDeliverConfig({ ...env, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' }), { logger });
    await deliver.run();
    api = connectControl({ url: `127.0.0.1:${control.grpcPort()}`, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await deliver?.close();
    await control?.close();
    await receiver?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const consoleRpc = async (method: string, body: unknown, token: string) => {
    const r = await httpRequest({
      port: control.consolePort(),
      path: `/api/rpc/${method}`,
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
  };

  it('control: CheckFilter accepts what an endpoint may store and answers a refusal with its position; a viewer may call it', async () => {
    assert.deepEqual(await api.checkFilter({ expression: 'type == "invoice.paid" && data.amount > 100' }), {
      ok: true,
      error: '',
      line: 0,
      column: 0,
    });
    const bad = await api.checkFilter({ expression: 'data.amount > 10 &&& x' });
    assert.equal(bad.ok, false);
    assert.match(bad.error, /^filter: does not compile: /);
    assert.deepEqual([bad.line, bad.column], [1, 18]);
    const long = await api.checkFilter({ expression: `type == "${'a'.repeat(5_000)}"` });
    assert.equal(long.ok, false);
    assert.match(long.error, /is longer than \d+ characters/);
    // The same expression is what UpdateEndpoint refuses: the check and the write agree.
    await rejectsWithStatus(
      api.createEndpoint({ configJson: JSON.stringify({ id: 'cf', url: `${receiver.url}/cf`, filter: 'data.amount > 10 &&& x' }) }),
      status.INVALID_ARGUMENT,
      /does not compile/,
    );
    const viewer = await consoleRpc('CheckFilter', { expression: 'type ==' }, VIEWER);
    assert.equal(viewer.status, 200);
    assert.equal(viewer.body.ok, undefined, 'false is a default: proto3 JSON leaves it out');
    assert.match(String(viewer.body.error), /does not compile/);
  });

  it('control: SendTestEvent delivers a signed sample to that endpoint only, through deliver; a viewer may not send one', async () => {
    // Scenario: two endpoints; the test event goes to one. Deliver signs it
    // with the endpoint's secret like any task, so the receiver can check it.
    await api.createEndpoint({
      configJson: JSON.stringify({ id: 'tev-a', url: `${receiver.url}/a`, secrets: [{ id: 'k1', value: SECRET }] }),
    });
    await api.createEndpoint({
      configJson: JSON.stringify({ id: 'tev-b', url: `${receiver.url}/b`, secrets: [{ id: 'k1', value: SECRET }] }),
    });
    const sent = await api.sendTestEvent({ endpointId: 'tev-a', eventType: '' });
    assert.match(sent.eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(sent.subject, /deliver\.tev-a$/);
    const request = await waitFor(
      'the test event at /a',
      () => receiver.received.find((r) => r.headers['webhook-id'] === sent.eventId),
      15_000,
    );
    assert.equal(request.url, '/a');
    const body = JSON.parse(request.body.toString('utf8')) as { type: string; test: boolean };
    assert.deepEqual([body.type, body.test], ['hookstream.test', true]);
    const timestamp = Number(request.headers['webhook-timestamp']);
    assert.equal(request.headers['webhook-signature'], signStandardWebhooks(sent.eventId, timestamp, request.body, [SECRET]));
    assert.equal(
      receiver.received.some((r) => r.url === '/b'),
      false,
    );

    const typed = await consoleRpc('SendTestEvent', { endpointId: 'tev-a', eventType: 'invoice.paid' }, OPERATOR);
    assert.equal(typed.status, 200);
    const second = await waitFor(
      'the typed test event',
      () => receiver.received.find((r) => r.headers['webhook-id'] === typed.body.eventId),
      15_000,
    );
    assert.equal(JSON.parse(second.body.toString('utf8')).type, 'invoice.paid');
    assert.equal(receiver.received.filter((r) => r.headers['webhook-id'] === sent.eventId).length, 1, 'the first sample was sent once');
    assert.equal((await consoleRpc('SendTestEvent', { endpointId: 'tev-a' }, VIEWER)).status, 403);

    await rejectsWithStatus(api.sendTestEvent({ endpointId: 'nope', eventType: '' }), status.NOT_FOUND);
    await rejectsWithStatus(api.sendTestEvent({ endpointId: 'tev-a', eventType: 'a b' }), status.INVALID_ARGUMENT, /event_type/);
    await api.setEndpointEnabled({ id: 'tev-b', enabled: false, revision: 0 });
    await rejectsWithStatus(api.sendTestEvent({ endpointId: 'tev-b', eventType: '' }), status.FAILED_PRECONDITION, /disabled/);
  });
});
