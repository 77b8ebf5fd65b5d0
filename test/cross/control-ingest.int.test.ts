import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, loadPackageDefinition, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Header } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { buildApp as buildIngest, type IngestApp, loadConfig as loadIngestConfig } from '@hookstream/ingest';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { createLogger, type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import {
  connectTestNats,
  httpRequest,
  type NatsServer,
  rejectsWithStatus,
  startNatsServer,
  storedMessages,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { service as healthService } from 'grpc-health-check';

const NS = 'cp';
const t = topology(NS);
const TOKEN = 'test-token-0123456789abcdef';
const MASTER_KEY = randomBytes(32).toString('base64');
const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const logger = createLogger({ service: 'test', level: 'silent' });

const githubSignature = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('control plane against a real nats-server', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let control: ControlApp;
  let ingest: IngestApp;
  let api: ControlApi;
  let address: string;
  /** Ingest's clock: the real one unless a test pins it (the secret-window test does). */
  let ingestNowMs: number | undefined;

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    const env = {
      HS_NATS_URL: server.url,
      HS_NAMESPACE: NS,
      HS_HEALTH_PORT: '0',
      HS_HEALTH_HOST: '127.0.0.1',
      HS_LOG_LEVEL: 'silent',
      HS_MASTER_KEY: MASTER_KEY,
    };
    control = buildApp(
      loadConfig({ ...env, HS_CONTROL_PORT: '0', HS_CONTROL_HOST: '127.0.0.1', HS_CONTROL_TOKEN: TOKEN, HS_CONSOLE_PORT: '0' }),
      { logger },
    );
    await control.run();
    ingest = buildIngest(loadIngestConfig({ ...env, HS_INGEST_PORT: '0', HS_INGEST_HOST: '127.0.0.1' }), {
      logger,
      now: () => ingestNowMs ?? Date.now(),
    });
    await ingest.run();
    address = `127.0.0.1:${control.grpcPort()}`;
    api = connectControl({ url: address, token: TOKEN });
  });

  after(async () => {
    api?.close();
    await ingest?.close();
    await control?.close();
    await nats?.drain();
    await server?.stop();
  });

  it('control: a call without the token, or with a wrong one, is UNAUTHENTICATED', async () => {
    const anonymous = connectControl({ url: address });
    const wrong = connectControl({ url: address, token: 'not-the-token-at-all' });
    try {
      await rejectsWithStatus(anonymous.listSources(), status.UNAUTHENTICATED);
      await rejectsWithStatus(wrong.getSource({ id: 'x' }), status.UNAUTHENTICATED);
    } finally {
      anonymous.close();
      wrong.close();
    }
  });

  it('control: grpc.health.v1 answers SERVING for the server and the ControlPlane service', async () => {
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const client = new Health(address, credentials.createInsecure());
    try {
      for (const name of ['', 'hookstream.v1.ControlPlane']) {
        const answer = await new Promise<{ status: string }>((resolve, reject) => {
          (client as unknown as Record<string, (req: object, cb: (e: Error | null, r: { status: string }) => void) => void>).check?.(
            { service: name },
            (err, res) => (err === null ? resolve(res) : reject(err)),
          );
        });
        assert.equal(answer.status, 'SERVING');
      }
    } finally {
      client.close();
    }
    const readyz = await httpRequest({ port: control.healthPort(), path: '/readyz' });
    assert.equal(readyz.status, 200);
  });

  it('control: server reflection lists the ControlPlane service (for grpcurl and friends)', async () => {
    const root = dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json'));
    const definition = loadSync(join(root, 'build/proto/grpc/reflection/v1/reflection.proto'), { keepCase: true });
    const pkg = loadPackageDefinition(definition) as unknown as {
      grpc: {
        reflection: {
          v1: { ServerReflection: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => ReflectionClient };
        };
      };
    };
    interface ReflectionClient {
      ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(msg: object): boolean; end(): void };
      close(): void;
    }
    const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
    try {
      const names = await new Promise<string[]>((resolve, reject) => {
        const call = client.ServerReflectionInfo();
        call.on('data', (res: { list_services_response?: { service: { name: string }[] } }) => {
          resolve((res.list_services_response?.service ?? []).map((s) => s.name));
          call.end();
        });
        call.on('error', reject);
        call.write({ list_services: '*' });
      });
      assert.ok(names.includes('hookstream.v1.ControlPlane'), names.join(', '));
    } finally {
      client.close();
    }
  });

  it('control: Stats without ClickHouse is UNIMPLEMENTED and says how to enable it', async () => {
    await rejectsWithStatus(api.stats(), status.UNIMPLEMENTED, /HS_CLICKHOUSE_URL/);
  });

  it('control: sources — create shows the secret once, reads redact it, and KV holds it sealed', async () => {
    const config = { id: 'shop', provider: 'shopify', secrets: [{ id: 'k1', value: 'shpss_one' }] };
    const created = await api.createSource({ configJson: JSON.stringify(config) });
    assert.equal(created.id, 'shop');
    assert.ok(created.revision > 0);
    assert.equal(JSON.parse(created.configJson).secrets[0].value, 'shpss_one');
    const got = await api.getSource({ id: 'shop' });
    assert.equal(JSON.parse(got.configJson).secrets[0].value, '***');
    assert.equal(JSON.parse(got.configJson).enabled, true, 'defaults filled');
    const raw = await (await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).get('shop');
    const stored = JSON.parse(new TextDecoder().decode(raw?.value));
    assert.match(stored.secrets[0].value, /^enc:v1:k1:/);
    assert.doesNotMatch(new TextDecoder().decode(raw?.value), /shpss_one/);
    await rejectsWithStatus(api.createSource({ configJson: JSON.stringify(config) }), status.ALREADY_EXISTS);
  });

  it('control: sources — bad input is INVALID_ARGUMENT naming the field; missing ones NOT_FOUND', async () => {
    const bad = await rejectsWithStatus(
      api.createSource({ configJson: JSON.stringify({ id: 'x', provider: 'nope' }) }),
      status.INVALID_ARGUMENT,
    );
    assert.match(bad.details, /^provider: /);
    assert.deepEqual(bad.metadata.get('hs-field'), ['provider']);
    await rejectsWithStatus(
      api.createSource({ configJson: JSON.stringify({ id: 'bad id!', scheme: { kind: 'none' } }) }),
      status.INVALID_ARGUMENT,
      /^id: /,
    );
    await rejectsWithStatus(api.createSource({ configJson: '{not json' }), status.INVALID_ARGUMENT, /^config_json: is not JSON/);
    await rejectsWithStatus(api.getSource({ id: 'ghost' }), status.NOT_FOUND);
    await rejectsWithStatus(api.getSource({}), status.INVALID_ARGUMENT, /^id: /);
    await rejectsWithStatus(api.deleteSource({ id: 'ghost' }), status.NOT_FOUND);
    await rejectsWithStatus(api.updateSource({ configJson: JSON.stringify({ id: 'ghost', scheme: { kind: 'none' } }) }), status.NOT_FOUND);
  });

  it('control: sources — update checks the revision and keeps "***" secrets; delete checks it too', async () => {
    const created = await api.createSource({
      configJson: JSON.stringify({ id: 'gh', provider: 'github', secrets: [{ id: 'a', value: 'gh-secret-a' }] }),
    });
    const read = await api.getSource({ id: 'gh' });
    const edited = { ...JSON.parse(read.configJson), description: 'GitHub org hooks' };
    const updated = await api.updateSource({ configJson: JSON.stringify(edited), revision: read.revision });
    assert.ok(updated.revision > created.revision);
    assert.equal(JSON.parse(updated.configJson).description, 'GitHub org hooks');
    await rejectsWithStatus(
      api.updateSource({ configJson: JSON.stringify(edited), revision: read.revision }),
      status.FAILED_PRECONDITION,
      /read it again/,
    );
    // The stored secret survived the redacted round trip: ingest still verifies with it.
    const raw = await (await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).get('gh');
    assert.match(JSON.parse(new TextDecoder().decode(raw?.value)).secrets[0].value, /^enc:v1:/);
    const unknown = { ...edited, secrets: [{ id: 'zz', value: '***' }] };
    await rejectsWithStatus(api.updateSource({ configJson: JSON.stringify(unknown) }), status.INVALID_ARGUMENT, /^secrets\[0\]\.value/);
    await rejectsWithStatus(api.deleteSource({ id: 'gh', revision: created.revision }), status.FAILED_PRECONDITION);
    await api.deleteSource({ id: 'gh', revision: updated.revision });
    await rejectsWithStatus(api.getSource({ id: 'gh' }), status.NOT_FOUND);
    // A deleted id can be created again.
    await api.createSource({ configJson: JSON.stringify({ id: 'gh', provider: 'github', secrets: [{ id: 'a', value: 's' }] }) });
  });

  it('control: sources — list pages by page_size and page_token', async () => {
    for (const id of ['p1', 'p2', 'p3']) await api.createSource({ configJson: JSON.stringify({ id, scheme: { kind: 'none' } }) });
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await api.listSources({ pageSize: 2, pageToken: token });
      assert.ok(page.sources.length <= 2);
      for (const s of page.sources) {
        seen.push(s.id);
        for (const secret of JSON.parse(s.configJson).secrets ?? []) assert.equal(secret.value, '***');
      }
      token = page.nextPageToken;
      pages++;
    } while (token !== '');
    assert.deepEqual(seen, [...seen].sort());
    for (const id of ['p1', 'p2', 'p3', 'shop']) assert.ok(seen.includes(id), id);
    assert.ok(pages >= 3);
    await rejectsWithStatus(api.listSources({ pageSize: -1 }), status.INVALID_ARGUMENT, /^page_size/);
  });

  it('control: a source created through the API is accepted by a running ingest within a second', async () => {
    const post = () =>
      httpRequest({
        port: ingest.server().port,
        path: '/v1/webhooks/fresh',
        method: 'POST',
        body: '{"a":1}',
        headers: { 'content-type': 'application/json' },
      });
    assert.equal((await post()).status, 404);
    await api.createSource({ configJson: JSON.stringify({ id: 'fresh', scheme: { kind: 'none' } }) });
    const started = Date.now();
    await waitFor('ingest accepts the new source', async () => ((await post()).status === 202 ? true : undefined), 1_000);
    assert.ok(Date.now() - started <= 1_000);
  });

  it('control: RotateSourceSecret — the new secret works at once, the old one until its time, then not', async () => {
    // Scenario: inline verification at ingest (401 on a bad signature) makes
    // the verdict observable over HTTP; ingest opens the sealed secrets with
    // the same master key.
    await api.createSource({
      configJson: JSON.stringify({ id: 'rot', provider: 'github', verifyInline: true, secrets: [{ id: 'old', value: 'old-secret' }] }),
    });
    const body = '{"action":"opened"}';
    const post = (secret: string) =>
      httpRequest({
        port: ingest.server().port,
        path: '/v1/webhooks/rot',
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'pull_request',
          'x-github-delivery': randomBytes(8).toString('hex'),
          'x-hub-signature-256': githubSignature(secret, body),
        },
      });
    await waitFor('old secret accepted', async () => ((await post('old-secret')).status === 202 ? true : undefined));
    const validUntil = Date.now() + 2_000;
    const rotated = await api.rotateSourceSecret({
      id: 'rot',
      newSecret: 'new-secret',
      newSecretId: 'new',
      previousValidUntilMs: validUntil,
    });
    assert.equal(rotated.secretId, 'new');
    assert.equal(rotated.secretValue, 'new-secret');
    const secrets = JSON.parse(rotated.configJson).secrets;
    assert.deepEqual(
      secrets.map((s: { id: string; notAfterMs?: number }) => [s.id, s.notAfterMs]),
      [
        ['new', undefined],
        ['old', validUntil],
      ],
    );
    await waitFor('new secret accepted', async () => ((await post('new-secret')).status === 202 ? true : undefined));
    // Ingest now holds both secrets; its clock is pinned either side of the bound, so both checks run however long that took.
    try {
      ingestNowMs = validUntil - 1;
      assert.equal((await post('old-secret')).status, 202, 'old secret still valid before its time');
      ingestNowMs = validUntil + 50;
      assert.equal((await post('old-secret')).status, 401, 'old secret refused after its time');
      assert.equal((await post('new-secret')).status, 202);
    } finally {
      ingestNowMs = undefined;
    }
    await rejectsWithStatus(api.rotateSourceSecret({ id: 'rot', newSecretId: 'new' }), status.INVALID_ARGUMENT, /^new_secret_id/);
    await rejectsWithStatus(api.rotateSourceSecret({ id: 'nope' }), status.NOT_FOUND);
  });

  it('control: endpoints — create, redacted get, filter checked, enable/disable, rotate, list, delete', async () => {
    const config = { id: 'ep1', url: 'https://hooks.example/in', secrets: [{ id: 'k1', value: ENDPOINT_SECRET }] };
    const created = await api.createEndpoint({ configJson: JSON.stringify(config) });
    assert.equal(JSON.parse(created.configJson).secrets[0].value, ENDPOINT_SECRET);
    assert.equal(JSON.parse(created.configJson).timeoutMs, 3_000, 'defaults filled');
    await rejectsWithStatus(api.createEndpoint({ configJson: JSON.stringify(config) }), status.ALREADY_EXISTS);
    const badFilter = await rejectsWithStatus(
      api.createEndpoint({ configJson: JSON.stringify({ ...config, id: 'ep2', filter: 'data.amount >' }) }),
      status.INVALID_ARGUMENT,
      /^filter: does not compile/,
    );
    assert.deepEqual(badFilter.metadata.get('hs-field'), ['filter']);
    await rejectsWithStatus(
      api.createEndpoint({ configJson: JSON.stringify({ ...config, id: 'ep2', url: 'ftp://x' }) }),
      status.INVALID_ARGUMENT,
      /^url/,
    );
    const got = await api.getEndpoint({ id: 'ep1' });
    assert.equal(JSON.parse(got.configJson).secrets[0].value, '***');

    const disabled = await api.setEndpointEnabled({ id: 'ep1', enabled: false });
    assert.equal(JSON.parse(disabled.configJson).enabled, false);
    assert.equal(JSON.parse(disabled.configJson).secrets[0].value, '***');
    await rejectsWithStatus(api.setEndpointEnabled({ id: 'ep1', enabled: true, revision: got.revision }), status.FAILED_PRECONDITION);
    const enabled = await api.setEndpointEnabled({ id: 'ep1', enabled: true, revision: disabled.revision });
    assert.equal(JSON.parse(enabled.configJson).enabled, true);

    const rotated = await api.rotateEndpointSecret({ id: 'ep1', previousValidUntilMs: Date.now() + 60_000 });
    assert.match(rotated.secretValue, /^whsec_[A-Za-z0-9+/]+=*$/);
    const afterRotation = JSON.parse(rotated.configJson).secrets;
    assert.equal(afterRotation.length, 2);
    assert.equal(afterRotation[0].value, rotated.secretValue);
    assert.equal(afterRotation[1].value, '***', 'a rotation answer shows the new secret only');
    assert.ok(afterRotation[1].notAfterMs > Date.now());
    const raw = await (await openBucket(nats.nc, t.buckets.endpoints, { replicas: 1 })).get('ep1');
    assert.doesNotMatch(new TextDecoder().decode(raw?.value), /whsec_/);

    const list = await api.listEndpoints({});
    assert.deepEqual(
      list.endpoints.map((e) => e.id),
      ['ep1'],
    );
    assert.equal(list.nextPageToken, '');
    await api.deleteEndpoint({ id: 'ep1' });
    await rejectsWithStatus(api.getEndpoint({ id: 'ep1' }), status.NOT_FOUND);
  });

  it('control: schemas — must compile; versions grow; revisions are checked; list filters by source', async () => {
    const schema = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } };
    const created = await api.createSchema({
      source: 'shop',
      eventType: 'orders/create',
      schemaJson: JSON.stringify(schema),
      description: 'orders',
    });
    assert.equal(created.version, 1);
    assert.deepEqual(JSON.parse(created.schemaJson), schema);
    await rejectsWithStatus(
      api.createSchema({ source: 'shop', eventType: 'orders/create', schemaJson: JSON.stringify(schema) }),
      status.ALREADY_EXISTS,
    );
    await rejectsWithStatus(
      api.createSchema({ source: 'shop', eventType: 'bad', schemaJson: JSON.stringify({ type: 'no-such-type' }) }),
      status.INVALID_ARGUMENT,
      /^schema_json: does not compile/,
    );
    await rejectsWithStatus(
      api.createSchema({ source: 'bad source', eventType: 'x', schemaJson: '{}' }),
      status.INVALID_ARGUMENT,
      /^source/,
    );
    const updated = await api.updateSchema({
      source: 'shop',
      eventType: 'orders/create',
      schemaJson: JSON.stringify({ ...schema, required: ['id', 'total'] }),
      revision: created.revision,
    });
    assert.equal(updated.version, 2);
    await rejectsWithStatus(
      api.updateSchema({ source: 'shop', eventType: 'orders/create', schemaJson: JSON.stringify(schema), revision: created.revision }),
      status.FAILED_PRECONDITION,
    );
    await api.createSchema({ source: 'gh', eventType: 'push', schemaJson: 'true' });
    const shopOnly = await api.listSchemas({ source: 'shop' });
    assert.deepEqual(
      shopOnly.schemas.map((s) => [s.source, s.eventType, s.version]),
      [['shop', 'orders/create', 2]],
    );
    assert.equal((await api.listSchemas({})).schemas.length, 2);
    assert.equal((await api.getSchema({ source: 'shop', eventType: 'orders/create' })).version, 2);
    await api.deleteSchema({ source: 'shop', eventType: 'orders/create' });
    await rejectsWithStatus(api.getSchema({ source: 'shop', eventType: 'orders/create' }), status.NOT_FOUND);
  });

  describe('dead letters', () => {
    async function deadLetter(eventId: string, stage: string, source: string, reason: string, body: string): Promise<number> {
      const h = headers();
      h.set(Header.eventId, eventId);
      h.set(Header.source, source);
      h.set(Header.receivedAt, String(Date.now()));
      h.set('hs-h-content-type', 'application/json');
      h.set(Header.dlqStage, stage);
      h.set(Header.dlqReason, reason);
      h.set(Header.dlqDetail, 'no active secret matches the signature');
      h.set(Header.dlqSubject, t.raw(source));
      h.set(Header.dlqAt, String(Date.now()));
      h.set(Header.dlqDeliveries, '1');
      const ack = await jetstream(nats.nc).publish(t.dlq(stage, source), body, {
        headers: h,
        msgID: `${eventId}:dlq:${t.dlq(stage, source)}`,
      });
      return ack.seq;
    }

    const onRaw = async (msgId: string) => (await storedMessages(jsm, t.streams.raw)).filter((m) => m.header.get('Nats-Msg-Id') === msgId);

    it('control: ListDeadLetters filters by stage and reason; GetDeadLetter has payload and headers', async () => {
      const a = await deadLetter('evt-a', 'verify', 'src', 'bad_signature', '{"n":"a"}');
      const b = await deadLetter('evt-b', 'verify', 'src', 'stale_timestamp', '{"n":"b"}');
      const c = await deadLetter('evt-c', 'validate', 'other', 'schema_violation', '{"n":"c"}');
      const all = await api.listDeadLetters({});
      assert.deepEqual(
        all.deadLetters.map((d) => d.sequence),
        [a, b, c],
      );
      assert.equal(all.deadLetters[0]?.payload.length, 0, 'no payload in a listing');
      assert.equal(all.deadLetters[0]?.payloadSize, 9);
      const verifyOnly = await api.listDeadLetters({
        filter: { stage: 'verify', source: '', endpoint: '', reason: '', sinceMs: 0, untilMs: 0 },
      });
      assert.deepEqual(
        verifyOnly.deadLetters.map((d) => d.eventId),
        ['evt-a', 'evt-b'],
      );
      const stale = await api.listDeadLetters({
        filter: { stage: '', source: 'src', endpoint: '', reason: 'stale_timestamp', sinceMs: 0, untilMs: 0 },
      });
      assert.deepEqual(
        stale.deadLetters.map((d) => d.sequence),
        [b],
      );
      const firstPage = await api.listDeadLetters({ pageSize: 2 });
      assert.equal(firstPage.deadLetters.length, 2);
      const secondPage = await api.listDeadLetters({ pageSize: 2, pageToken: firstPage.nextPageToken });
      assert.deepEqual(
        secondPage.deadLetters.map((d) => d.sequence),
        [c],
      );
      const one = await api.getDeadLetter({ sequence: a });
      assert.equal(Buffer.from(one.payload).toString(), '{"n":"a"}');
      assert.equal(one.reason, 'bad_signature');
      assert.equal(one.stage, 'verify');
      assert.equal(one.originalSubject, t.raw('src'));
      assert.equal(one.detail, 'no active secret matches the signature');
      assert.ok(one.headers.some((h) => h.name === 'hs-h-content-type' && h.value === 'application/json'));
      await rejectsWithStatus(api.getDeadLetter({ sequence: 999_999 }), status.NOT_FOUND);
      await rejectsWithStatus(api.listDeadLetters({ pageToken: 'x' }), status.INVALID_ARGUMENT, /^page_token/);
    });

    it('control: ReplayDeadLetters republishes to hs-dlq-subject with {event id}:replay:{seq} and no hs-dlq-* headers', async () => {
      const seq = await deadLetter('evt-r', 'verify', 'src', 'bad_signature', '{"replay":true}');
      const result = await api.replayDeadLetters({ sequence: seq });
      assert.equal(result.replayed, 1);
      assert.deepEqual(result.results[0], { sequence: seq, subject: t.raw('src'), msgId: `evt-r:replay:${seq}`, duplicate: false });
      const [replayed] = await waitFor('replay on the raw subject', async () => {
        const found = await onRaw(`evt-r:replay:${seq}`);
        return found.length === 1 ? found : undefined;
      });
      assert.equal(replayed?.subject, `${NS}.hs.raw.src`);
      assert.equal(Buffer.from(replayed?.data ?? []).toString(), '{"replay":true}');
      assert.equal(replayed?.header.get(Header.eventId), 'evt-r');
      assert.equal(replayed?.header.get('hs-h-content-type'), 'application/json');
      for (const [name] of replayed?.header ?? []) assert.ok(!name.toLowerCase().startsWith('hs-dlq-'), name);
      // A repeat within the duplicate window is stored once.
      const again = await api.replayDeadLetters({ sequence: seq });
      assert.equal(again.results[0]?.duplicate, true);
      assert.equal((await onRaw(`evt-r:replay:${seq}`)).length, 1);
    });

    it('control: a filtered batch replay replays every match at the given rate, and purge removes them', async () => {
      const s1 = await deadLetter('evt-b1', 'validate', 'batch', 'schema_violation', '{"i":1}');
      const s2 = await deadLetter('evt-b2', 'validate', 'batch', 'schema_violation', '{"i":2}');
      const s3 = await deadLetter('evt-b3', 'validate', 'batch', 'schema_violation', '{"i":3}');
      const started = Date.now();
      const result = await api.replayDeadLetters({
        filter: { stage: 'validate', source: 'batch', endpoint: '', reason: '', sinceMs: 0, untilMs: 0 },
        maxPerSecond: 10,
        purge: true,
      });
      assert.equal(result.replayed, 3);
      assert.ok(Date.now() - started >= 180, 'three at 10/s take at least 200 ms (less timer slack)');
      for (const [seq, id] of [
        [s1, 'evt-b1'],
        [s2, 'evt-b2'],
        [s3, 'evt-b3'],
      ] as const) {
        assert.equal((await onRaw(`${id}:replay:${seq}`)).length, 1);
        await rejectsWithStatus(api.getDeadLetter({ sequence: seq }), status.NOT_FOUND);
      }
    });

    it('control: PurgeDeadLetters by sequence, by filter, and all only when asked', async () => {
      const seq = await deadLetter('evt-p', 'route', 'purge', 'filter_error', '{}');
      assert.equal((await api.purgeDeadLetters({ sequence: seq })).purged, 1);
      await rejectsWithStatus(api.getDeadLetter({ sequence: seq }), status.NOT_FOUND);
      await rejectsWithStatus(api.purgeDeadLetters({ sequence: seq }), status.NOT_FOUND);
      await rejectsWithStatus(api.purgeDeadLetters({}), status.INVALID_ARGUMENT, /all=true/);
      await deadLetter('evt-p2', 'route', 'purge', 'filter_error', '{}');
      assert.equal(
        (await api.purgeDeadLetters({ filter: { stage: 'route', source: '', endpoint: '', reason: '', sinceMs: 0, untilMs: 0 } })).purged,
        1,
      );
      assert.ok((await api.listDeadLetters({})).deadLetters.length > 0);
      await api.purgeDeadLetters({ all: true });
      assert.equal((await api.listDeadLetters({})).deadLetters.length, 0);
    });

    it('control: a dead letter that names no pipeline subject is not replayed (FAILED_PRECONDITION)', async () => {
      const h = headers();
      h.set(Header.eventId, 'evt-x');
      h.set(Header.dlqSubject, 'somewhere.else');
      const ack = await jetstream(nats.nc).publish(t.dlq('verify', 'x'), '{}', { headers: h });
      await rejectsWithStatus(api.replayDeadLetters({ sequence: ack.seq }), status.FAILED_PRECONDITION, /cannot replay/);
    });

    it('control: a dead letter stored without its body is not replayed (it would send an empty body): FAILED_PRECONDITION naming where it came from', async () => {
      const h = headers();
      h.set(Header.eventId, 'evt-reduced');
      h.set(Header.dlqSubject, t.subject('hs.verified.shop'));
      h.set(Header.dlqReduced, 'too_large');
      h.set(Header.dlqOriginStream, t.streams.raw);
      h.set(Header.dlqOriginSeq, '42');
      const ack = await jetstream(nats.nc).publish(t.dlq('dedup', 'shop'), new Uint8Array(0), { headers: h });
      await rejectsWithStatus(api.replayDeadLetters({ sequence: ack.seq }), status.FAILED_PRECONDITION, /without its body.*sequence 42/);
    });
  });
});

describe('control: configuration', () => {
  it('control: refuses to start without HS_CONTROL_TOKEN unless HS_CONTROL_INSECURE=true', () => {
    assert.throws(() => loadConfig({}), /HS_CONTROL_TOKEN: required/);
    assert.throws(() => loadConfig({ HS_CONTROL_TOKEN: 'short' }), /at least 16/);
    assert.equal(loadConfig({ HS_CONTROL_INSECURE: 'true' }).token, undefined);
    const config = loadConfig({ HS_CONTROL_TOKEN: TOKEN });
    assert.equal(config.port, 50051);
    assert.equal(config.healthPort, 9107);
    assert.throws(() => loadConfig({ HS_CONTROL_TOKEN: TOKEN, HS_CONTROL_TLS_CERT: '/nonexistent.pem' }), /HS_CONTROL_TLS_CERT/);
  });
});
