import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Header } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig, tokenDigest } from '@hookstream/control';
import { buildApp as buildDeliver, type DeliverApp, loadConfig as loadDeliverConfig } from '@hookstream/deliver';
import { decodeEndpoint, EndpointStore, SecretBox, SourceStore } from '@hookstream/models';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { AckingPublisher, createLogger, type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import { connectTestNats, httpRequest, type NatsServer, rejectsWithStatus, startNatsServer, waitFor } from '@hookstream/testkit';
import type { KV } from '@nats-io/kv';
import { headers as natsHeaders } from '@nats-io/transport-node';

const NS = 'sec';
const t = topology(NS);
const TOKEN = 'secrets-test-token-0123456789';
const VIEWER = 'viewer-token-0123456789abcdef';
const MASTER_KEY = randomBytes(32).toString('base64');
const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const logger = createLogger({ service: 'test', level: 'silent' });

/** A receiver that records each request's URL and headers. */
async function startReceiver(): Promise<{
  url: string;
  received: { url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}> {
  const received: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('control: secrets are secrets, against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let control: ControlApp;
  let deliver: DeliverApp;
  let api: ControlApi;
  let dir: string;
  let endpointsKv: KV;
  let sourcesKv: KV;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    dir = mkdtempSync(join(tmpdir(), 'hs-secrets-'));
    const users = join(dir, 'users');
    writeFileSync(users, `vera viewer ${tokenDigest(VIEWER).toString('hex')}\n`);
    const env = {
      HS_NATS_URL: server.url,
      HS_NAMESPACE: NS,
      HS_HEALTH_PORT: '0',
      HS_HEALTH_HOST: '127.0.0.1',
      HS_LOG_LEVEL: 'silent',
      HS_MASTER_KEY: MASTER_KEY,
    };
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
    endpointsKv = await openBucket(nats.nc, t.buckets.endpoints, { replicas: 1 });
    sourcesKv = await openBucket(nats.nc, t.buckets.sources, { replicas: 1 });
  });

  after(async () => {
    api?.close();
    await deliver?.close();
    await control?.close();
    await nats?.drain();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const consoleRpc = async (method: string, body: unknown, token = VIEWER) => {
    const r = await httpRequest({
      port: control.consolePort(),
      path: `/api/rpc/${method}`,
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    return { status: r.status, body: r.body };
  };
  const stored = async (kv: KV, id: string): Promise<string> => new TextDecoder().decode((await kv.get(id))?.value);

  it('control: endpoint headers and URL query tokens are sealed in KV, redacted in every answer but Create, and deliver still sends the real ones', async () => {
    // Scenario: the docs tell users to put credentials in endpoint headers
    // (Authorization) or the URL (?token=…). Every answer a console viewer
    // can get (Get, List, Update, SetEnabled, EndpointHealth, Rotate) must
    // hide them, KV must hold them sealed, route (no master key) must still
    // read the record, and deliver must send the real values.
    const receiver = await startReceiver();
    try {
      const credentials = ['qtok-123', 'cred-456', ENDPOINT_SECRET];
      const config = {
        id: 'crm',
        url: `${receiver.url}/hook?token=qtok-123&team=ops`,
        headers: { Authorization: 'Bearer cred-456' },
        secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
      };
      const created = await api.createEndpoint({ configJson: JSON.stringify(config) });
      assert.equal(JSON.parse(created.configJson).headers.Authorization, 'Bearer cred-456', 'Create shows what it was sent');
      assert.equal(JSON.parse(created.configJson).url, config.url);

      const raw = await stored(endpointsKv, 'crm');
      for (const c of credentials) assert.equal(raw.includes(c), false, `KV holds ${c} in clear`);
      // Route decodes endpoints without the master key: the record still parses, with what route needs.
      const forRoute = decodeEndpoint('crm', new TextEncoder().encode(raw));
      assert.deepEqual(forRoute.eventTypes, ['*']);
      assert.match(forRoute.url, /^http:\/\/127\.0\.0\.1:\d+\/hook\?token=enc%3Av1%3A/);

      const answers: [string, string][] = [];
      const got = await api.getEndpoint({ id: 'crm' });
      answers.push(['GetEndpoint', got.configJson]);
      assert.deepEqual(JSON.parse(got.configJson).headers, { Authorization: '***' });
      assert.equal(JSON.parse(got.configJson).url, `${receiver.url}/hook?token=***&team=***`);
      answers.push(['ListEndpoints', JSON.stringify(await api.listEndpoints({}))]);
      // Get → edit → Update with the redacted values keeps the stored ones.
      const updated = await api.updateEndpoint({
        configJson: JSON.stringify({ ...JSON.parse(got.configJson), description: 'CRM' }),
        revision: got.revision,
      });
      answers.push(['UpdateEndpoint', updated.configJson]);
      answers.push(['SetEndpointEnabled', (await api.setEndpointEnabled({ id: 'crm', enabled: true })).configJson]);
      answers.push(['EndpointHealth', JSON.stringify(await api.endpointHealth({ endpoint: 'crm' }))]);
      answers.push(['EndpointHealth (all)', JSON.stringify(await api.endpointHealth({}))]);
      for (const method of ['GetEndpoint', 'ListEndpoints', 'EndpointHealth']) {
        const r = await consoleRpc(method, method === 'GetEndpoint' ? { id: 'crm' } : {});
        assert.equal(r.status, 200, `${method}: ${r.body}`);
        answers.push([`console ${method}`, r.body]);
      }
      const rotated = await api.rotateEndpointSecret({ id: 'crm', previousValidUntilMs: Date.now() + 60_000 });
      answers.push(['RotateEndpointSecret', rotated.configJson]);
      assert.equal(JSON.parse(rotated.configJson).secrets[0].value, rotated.secretValue, 'Rotate shows the new secret');
      assert.equal(JSON.parse(rotated.configJson).secrets[1].value, '***', 'and not the old one');
      for (const [where, answer] of answers) for (const c of credentials) assert.equal(answer.includes(c), false, `${where} shows ${c}`);
      assert.match(JSON.stringify(await api.endpointHealth({ endpoint: 'crm' })), /token=\*\*\*/);

      const publisher = new AckingPublisher(nats.nc, 10_000);
      const h = natsHeaders();
      h.set('Nats-Msg-Id', 'evt-sec-1:crm');
      h.set(Header.eventId, 'evt-sec-1');
      h.set(Header.source, 'shop');
      h.set(Header.receivedAt, String(Date.now()));
      h.set(Header.eventType, 'order.created');
      h.set(Header.endpointId, 'crm');
      h.set('hs-h-content-type', 'application/json');
      try {
        await publisher.publish(t.deliver('crm'), new TextEncoder().encode('{"id":1}'), h);
      } finally {
        publisher.close();
      }
      const request = await waitFor('the POST', () => receiver.received[0]);
      assert.equal(request.url, '/hook?token=qtok-123&team=ops', 'deliver opens the sealed query');
      assert.equal(request.headers.authorization, 'Bearer cred-456', 'deliver opens the sealed header');
      await api.deleteEndpoint({ id: 'crm' });
    } finally {
      await receiver.close();
    }
  });

  it('control: RotateSourceSecret answers the new secret only, never the old ones', async () => {
    await api.createSource({
      configJson: JSON.stringify({ id: 'gh-rot', provider: 'github', secrets: [{ id: 'old', value: 'gh-old-secret' }] }),
    });
    const rotated = await api.rotateSourceSecret({ id: 'gh-rot', newSecretId: 'new', newSecret: 'gh-new-secret' });
    assert.equal(rotated.secretValue, 'gh-new-secret');
    assert.deepEqual(
      JSON.parse(rotated.configJson).secrets.map((s: { id: string; value: string }) => [s.id, s.value]),
      [
        ['new', 'gh-new-secret'],
        ['old', '***'],
      ],
    );
    assert.equal(rotated.configJson.includes('gh-old-secret'), false);
    await api.deleteSource({ id: 'gh-rot' });
  });

  it('control: a value in the sealed form that does not open is refused at write time, and nothing is stored', async () => {
    const bogus = `enc:v1:k1:${randomBytes(40).toString('base64')}`;
    await rejectsWithStatus(
      api.createSource({ configJson: JSON.stringify({ id: 'bogus', provider: 'github', secrets: [{ id: 'a', value: bogus }] }) }),
      status.INVALID_ARGUMENT,
      /^secrets\[0\]\.value: starts with enc:v1: .*does not open/,
    );
    const endpoint = { id: 'bogus-ep', url: 'https://hooks.example/in', secrets: [{ id: 'k1', value: ENDPOINT_SECRET }] };
    const header = await rejectsWithStatus(
      api.createEndpoint({ configJson: JSON.stringify({ ...endpoint, headers: { Authorization: bogus } }) }),
      status.INVALID_ARGUMENT,
      /^headers\.Authorization: starts with enc:v1: /,
    );
    assert.deepEqual(header.metadata.get('hs-field'), ['headers.Authorization']);
    await rejectsWithStatus(
      api.createEndpoint({ configJson: JSON.stringify({ ...endpoint, secrets: [{ id: 'k1', value: bogus }] }) }),
      status.INVALID_ARGUMENT,
      /^secrets\[0\]\.value: /,
    );
    await rejectsWithStatus(
      api.createEndpoint({
        configJson: JSON.stringify({ ...endpoint, url: `https://hooks.example/in?token=${encodeURIComponent(bogus)}` }),
      }),
      status.INVALID_ARGUMENT,
      /^url: /,
    );
    // A "***" copied from a Get answer into a Create stands for nothing: refused, not stored as the value.
    await rejectsWithStatus(
      api.createEndpoint({ configJson: JSON.stringify({ ...endpoint, headers: { Authorization: '***' } }) }),
      status.INVALID_ARGUMENT,
      /^headers\.Authorization: "\*\*\*" keeps a stored header value/,
    );
    await api.createSource({ configJson: JSON.stringify({ id: 'fine', provider: 'github', secrets: [{ id: 'a', value: 'x' }] }) });
    await rejectsWithStatus(
      api.updateSource({ configJson: JSON.stringify({ id: 'fine', provider: 'github', secrets: [{ id: 'a', value: bogus }] }) }),
      status.INVALID_ARGUMENT,
      /^secrets\[0\]\.value: /,
    );
    await rejectsWithStatus(api.getSource({ id: 'bogus' }), status.NOT_FOUND);
    await rejectsWithStatus(api.getEndpoint({ id: 'bogus-ep' }), status.NOT_FOUND);
    assert.equal(JSON.parse((await api.getSource({ id: 'fine' })).configJson).secrets[0].value, '***');
    await api.getSource({ id: 'fine' });
    await api.listSources({});
    await api.deleteSource({ id: 'fine' });
  });

  it('control: records that cannot be opened or parsed are still listed, read, replaced and deleted; nothing answers 500', async () => {
    // Scenario: records written under a master key this control service no
    // longer holds, one that a newer parser refuses, and one that is not
    // JSON at all (written to KV by hand). Before, one such record made
    // List/Get/Update/Delete answer INTERNAL for everyone.
    const lost = new SecretBox(new Map([['lost', randomBytes(32)]]), 'lost');
    await new SourceStore(sourcesKv, lost).put({ id: 'orphan', provider: 'github', secrets: [{ id: 'a', value: 'gh-orphan-secret' }] });
    await new EndpointStore(endpointsKv, lost).put({
      id: 'orphan-ep',
      url: 'https://hooks.example/in?token=orphan-token',
      headers: { Authorization: 'Bearer orphan-cred' },
      secrets: [{ id: 'k1', value: ENDPOINT_SECRET }],
    });
    await sourcesKv.put('outdated', JSON.stringify({ id: 'outdated', provider: 'no-such-provider' }));
    await sourcesKv.put('junk', 'not json {');

    const listed = await api.listSources({});
    for (const id of ['orphan', 'outdated', 'junk'])
      assert.ok(
        listed.sources.some((s) => s.id === id),
        id,
      );
    const orphan = await api.getSource({ id: 'orphan' });
    assert.equal(JSON.parse(orphan.configJson).secrets[0].value, '***');
    assert.equal(JSON.parse((await api.getSource({ id: 'outdated' })).configJson).provider, 'no-such-provider');
    assert.deepEqual(JSON.parse((await api.getSource({ id: 'junk' })).configJson), { id: 'junk' });
    const ep = JSON.parse((await api.getEndpoint({ id: 'orphan-ep' })).configJson);
    assert.deepEqual([ep.url, ep.headers.Authorization, ep.secrets[0].value], ['https://hooks.example/in?token=***', '***', '***']);
    assert.ok((await api.listEndpoints({})).endpoints.some((e) => e.id === 'orphan-ep'));
    const viewer = await consoleRpc('ListSources', {});
    assert.equal(viewer.status, 200, viewer.body);

    // Keeping "***" would keep a value nobody can open: refused, naming it. Changes that build on the record say why.
    await rejectsWithStatus(
      api.updateSource({ configJson: orphan.configJson }),
      status.INVALID_ARGUMENT,
      /^secrets\[0\]\.value: .*does not open/,
    );
    await rejectsWithStatus(
      api.rotateSourceSecret({ id: 'orphan' }),
      status.FAILED_PRECONDITION,
      /orphan cannot be read .*update it .* or delete it/,
    );
    await rejectsWithStatus(api.setEndpointEnabled({ id: 'orphan-ep', enabled: false }), status.FAILED_PRECONDITION, /cannot be read/);
    // New values replace it, and it reads normally again.
    const fixed = await api.updateSource({
      configJson: JSON.stringify({ ...JSON.parse(orphan.configJson), secrets: [{ id: 'b', value: 'gh-new' }] }),
      revision: orphan.revision,
    });
    assert.equal(JSON.parse(fixed.configJson).secrets[0].id, 'b');
    await api.rotateSourceSecret({ id: 'orphan' });
    await api.updateSource({ configJson: JSON.stringify({ id: 'outdated', scheme: { kind: 'none' } }) });

    for (const id of ['orphan', 'outdated', 'junk']) {
      await api.deleteSource({ id });
      await rejectsWithStatus(api.getSource({ id }), status.NOT_FOUND);
    }
    await api.deleteEndpoint({ id: 'orphan-ep' });
    await rejectsWithStatus(api.getEndpoint({ id: 'orphan-ep' }), status.NOT_FOUND);
  });
});
