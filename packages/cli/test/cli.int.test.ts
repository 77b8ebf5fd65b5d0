import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { createLogger, Header, type NatsHandle, topology } from '@hookstream/runtime';
import { connectTestNats, type NatsServer, startNatsServer, storedMessages } from '@hookstream/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TOKEN = 'cli-test-token-0123456789';
const t = topology('cli');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('hs against a real control plane', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  let app: ControlApp;
  let dir: string;
  let env: Record<string, string>;

  /** Runs the real binary (`node packages/cli/src/main.ts …`). */
  const hs = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    app = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'cli',
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
        HS_CONTROL_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
      }),
      { logger: createLogger({ service: 'test', level: 'silent' }) },
    );
    await app.run();
    env = { PATH: process.env.PATH ?? '', HS_CONTROL_URL: `127.0.0.1:${app.grpcPort()}`, HS_CONTROL_TOKEN: TOKEN };
    dir = mkdtempSync(join(tmpdir(), 'hs-cli-'));
  });

  after(async () => {
    await app?.close();
    await nats?.drain();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hs: sources create, list, get (redacted), delete; a second create exits 1 with ALREADY_EXISTS', async () => {
    const file = join(dir, 'source.json');
    writeFileSync(file, JSON.stringify({ id: 'stripe', provider: 'stripe', secrets: [{ id: 'k1', value: 'whsec_c3RyaXBl' }] }));
    const created = await hs('sources', 'create', '-f', file);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created source stripe/);
    const again = await hs('sources', 'create', '-f', file);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ALREADY_EXISTS/);
    const list = await hs('sources', 'list');
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^ID\s+ENABLED\s+SCHEME\s+REVISION\nstripe\s+yes\s+stripe\s+\d+\n$/);
    const json = await hs('sources', 'list', '--json');
    assert.deepEqual(
      JSON.parse(json.stdout).map((s: { id: string }) => s.id),
      ['stripe'],
    );
    const got = await hs('sources', 'get', 'stripe');
    assert.equal(JSON.parse(got.stdout).secrets[0].value, '***');
    assert.equal((await hs('sources', 'delete', 'stripe')).code, 0);
    const missing = await hs('sources', 'get', 'stripe');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND: source stripe not found/);
  });

  it('hs: endpoints and schemas round-trip; bad input exits 1 with INVALID_ARGUMENT', async () => {
    const ep = join(dir, 'endpoint.json');
    writeFileSync(
      ep,
      JSON.stringify({ id: 'wh', url: 'https://x.example/h', secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }] }),
    );
    assert.equal((await hs('endpoints', 'create', '-f', ep)).code, 0);
    assert.match((await hs('endpoints', 'list')).stdout, /wh\s+yes\s+https:\/\/x\.example\/h\s+\*/);
    const schema = join(dir, 'schema.json');
    writeFileSync(schema, '{"type":"object"}');
    const created = await hs('schemas', 'create', 'stripe', 'charge.succeeded', '-f', schema);
    assert.equal(created.code, 0, created.stderr);
    assert.match((await hs('schemas', 'list', '--source', 'stripe')).stdout, /stripe\s+charge\.succeeded\s+1/);
    assert.deepEqual(JSON.parse((await hs('schemas', 'get', 'stripe', 'charge.succeeded')).stdout), { type: 'object' });
    writeFileSync(schema, '{"type":"nonsense"}');
    const bad = await hs('schemas', 'create', 'stripe', 'other', '-f', schema);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /INVALID_ARGUMENT: schema_json: does not compile/);
    assert.equal((await hs('schemas', 'delete', 'stripe', 'charge.succeeded')).code, 0);
    assert.equal((await hs('endpoints', 'delete', 'wh')).code, 0);
  });

  it('hs: dlq list, show and replay a dead letter to its original subject', async () => {
    const h = headers();
    h.set(Header.eventId, 'evt-cli');
    h.set(Header.source, 'stripe');
    h.set(Header.dlqStage, 'verify');
    h.set(Header.dlqReason, 'bad_signature');
    h.set(Header.dlqSubject, t.raw('stripe'));
    const ack = await jetstream(nats.nc).publish(t.dlq('verify', 'stripe'), '{"dead":true}', { headers: h });
    const list = await hs('dlq', 'list', '--stage', 'verify');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${ack.seq}\\s+verify\\s+stripe\\s+bad_signature\\s+evt-cli`, 'm'));
    const show = await hs('dlq', 'show', String(ack.seq));
    assert.match(show.stdout, /payload:\n\{"dead":true\}/);
    assert.match(show.stdout, /replays to\s+cli\.hs\.raw\.stripe/);
    const replay = await hs('dlq', 'replay', String(ack.seq));
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, new RegExp(`replayed ${ack.seq} -> cli\\.hs\\.raw\\.stripe as evt-cli:replay:${ack.seq}`));
    const raw = await storedMessages(await jetstreamManager(nats.nc), t.streams.raw);
    assert.equal(raw.filter((m) => m.header.get('Nats-Msg-Id') === `evt-cli:replay:${ack.seq}`).length, 1);
  });

  it('hs: usage errors exit 2, a wrong token exits 1 with UNAUTHENTICATED, an unreachable server exits 3', async () => {
    assert.equal((await hs()).code, 2);
    assert.equal((await hs('sources', 'frobnicate')).code, 2);
    assert.equal((await hs('sources', 'get')).code, 2);
    assert.equal((await hs('dlq', 'show', 'abc')).code, 2);
    assert.equal((await hs('--help')).code, 0);
    const denied = await hs('sources', 'list', '--token', 'wrong-token-wrong-token');
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /UNAUTHENTICATED/);
    const down = await hs('sources', 'list', '--url', '127.0.0.1:1');
    assert.equal(down.code, 3, down.stderr);
  });
});
