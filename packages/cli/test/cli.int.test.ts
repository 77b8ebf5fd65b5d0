import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { createLogger, type NatsHandle, topology } from '@hookstream/runtime';
import { connectTestNats, findBinary, type NatsServer, startNatsServer, storedMessages } from '@hookstream/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { runCli } from '../src/cli.ts';
import { recordingIo } from './fake-io.ts';

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
        HS_CONSOLE_PORT: '0',
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
    assert.equal((await hs('sources', 'delete', 'stripe', '--yes')).code, 0);
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
    assert.equal((await hs('schemas', 'delete', 'stripe', 'charge.succeeded', '--yes')).code, 0);
    assert.equal((await hs('endpoints', 'delete', 'wh', '--yes')).code, 0);
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
    assert.match(list.stdout, new RegExp(`^${ack.seq}\\s+verify\\s+stripe\\s+-\\s+bad_signature\\s+evt-cli`, 'm'));
    const show = await hs('dlq', 'show', String(ack.seq));
    assert.match(show.stdout, /payload:\n\{"dead":true\}/);
    assert.match(show.stdout, /replays to\s+cli\.hs\.raw\.stripe/);
    const replay = await hs('dlq', 'replay', String(ack.seq));
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, new RegExp(`replayed ${ack.seq} -> cli\\.hs\\.raw\\.stripe as evt-cli:replay:${ack.seq}`));
    const raw = await storedMessages(await jetstreamManager(nats.nc), t.streams.raw);
    assert.equal(raw.filter((m) => m.header.get('Nats-Msg-Id') === `evt-cli:replay:${ack.seq}`).length, 1);
  });

  /** Stores an event on HS_EVENTS as route does. */
  async function storeEvent(id: string, source: string, type: string, body: string): Promise<void> {
    const h = headers();
    h.set(Header.eventId, id);
    h.set(Header.source, source);
    h.set(Header.eventType, type);
    h.set(Header.receivedAt, String(Date.now()));
    await jetstream(nats.nc).publish(t.events(source, type), body, { headers: h, msgID: `${id}:route` });
  }

  it('hs: apply creates, a second apply prints "no changes", --dry-run changes nothing, --prune deletes', async () => {
    const file = join(dir, 'hookstream.yaml');
    const yaml = (extra: string) => `sources:
  - id: stripe-y
    provider: stripe
    secrets:
      - id: k1
        value: whsec_c3RyaXBlc3RyaXBl
  - id: gh-y
    provider: github
    secrets: [{ id: k1, value: ghsecret }]
endpoints:
  - id: echo-y
    url: https://echo.example/hook
    eventTypes: ["*"]
    secrets: [{ id: k1, value: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }]
schemas:
  - source: stripe-y
    eventType: charge.succeeded
    schema: { type: object, required: [id] }
${extra}`;
    writeFileSync(file, yaml(''));
    const first = await hs('apply', '-f', file);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      first.stdout,
      '+ create source stripe-y\n+ create source gh-y\n+ create endpoint echo-y\n+ create schema stripe-y/charge.succeeded\napplied 4 changes\n',
    );
    const second = await hs('apply', '-f', file);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'no changes\n');
    // A changed field is an update; --dry-run only prints it.
    writeFileSync(file, yaml('').replace('https://echo.example/hook', 'https://echo.example/v2'));
    const dry = await hs('apply', '-f', file, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, '~ update endpoint echo-y (url)\ndry run: nothing applied\n');
    assert.match((await hs('endpoints', 'get', 'echo-y')).stdout, /echo\.example\/hook/);
    assert.equal((await hs('apply', '-f', file)).stdout, '~ update endpoint echo-y (url)\napplied 1 change\n');
    assert.match((await hs('endpoints', 'get', 'echo-y')).stdout, /echo\.example\/v2/);
    // Something not in the file stays without --prune and goes with it.
    const extra = join(dir, 'extra.json');
    writeFileSync(extra, JSON.stringify({ id: 'stray', scheme: { kind: 'none' } }));
    assert.equal((await hs('sources', 'create', '-f', extra)).code, 0);
    assert.equal((await hs('apply', '-f', file)).stdout, 'no changes\n');
    const prune = await hs('apply', '-f', file, '--prune');
    assert.equal(prune.code, 0, prune.stderr);
    assert.equal(prune.stdout, '- delete source stray\napplied 1 change\n');
    assert.equal((await hs('sources', 'get', 'stray')).code, 1);
    writeFileSync(file, 'sources:\n  - id: bad\n');
    const bad = await hs('apply', '-f', file);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /sources\[0\]/);
  });

  it('hs: stats without ClickHouse exits 1 and says what is missing', async () => {
    const r = await hs('stats', '--since', '1h');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /UNIMPLEMENTED.*HS_CLICKHOUSE_URL/);
  });

  it('hs: sources update and rotate-secret', async () => {
    const file = join(dir, 'rot.json');
    writeFileSync(file, JSON.stringify({ id: 'rot', provider: 'github', secrets: [{ id: 'k1', value: 'one' }] }));
    assert.equal((await hs('sources', 'create', '-f', file)).code, 0);
    writeFileSync(file, JSON.stringify({ id: 'rot', provider: 'github', description: 'rotating', secrets: [{ id: 'k1', value: '***' }] }));
    const updated = await hs('sources', 'update', '-f', file);
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /updated source rot/);
    const rotated = await hs('sources', 'rotate-secret', 'rot', '--secret', 'two', '--secret-id', 'k2');
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /new secret k2[\s\S]*secret: two/);
    const got = JSON.parse((await hs('sources', 'get', 'rot')).stdout);
    assert.deepEqual(
      got.secrets.map((s: { id: string }) => s.id),
      ['k2', 'k1'],
    );
    assert.equal(got.description, 'rotating');
  });

  it('hs: events list and get; replay publishes delivery tasks for an endpoint', async () => {
    const since = new Date(Date.now() - 1_000).toISOString();
    await storeEvent('evt-l1', 'shop', 'order.created', '{"n":1}');
    await storeEvent('evt-l2', 'shop', 'order.paid', '{"n":2}');
    const list = await hs('events', 'list', '--since', '5m', '--type', 'order.*');
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      /^AT\s+EVENT\s+SOURCE\s+TYPE\s+BYTES\n.*evt-l1\s+shop\s+order\.created\s+7\n.*evt-l2\s+shop\s+order\.paid\s+7\n$/,
    );
    const get = await hs('events', 'get', 'evt-l2');
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /body:\n\{"n":2\}\nattempts: none \(delivery attempts come from ClickHouse/);
    assert.equal((await hs('events', 'get', 'evt-none')).code, 1);
    assert.equal((await hs('events', 'list', '--since', 'yesterday')).code, 2);
    const newest = await hs('events', 'list', '--newest', '--source', 'shop', '--limit', '1');
    assert.equal(newest.code, 0, newest.stderr);
    assert.match(newest.stdout, /^AT\s+EVENT\s+SOURCE\s+TYPE\s+BYTES\n.*evt-l2\s+shop\s+order\.paid\s+7\n$/);
    const uuid = '01930000-0000-7000-8000-00000000c11f';
    await storeEvent(uuid, 'finds', 'order.found', '{}');
    const found = await hs('events', 'find', uuid);
    assert.equal(found.code, 0, found.stderr);
    assert.match(
      found.stdout,
      new RegExp(
        `^event id\\s+${uuid}\nmatched by\\s+event_id\nstatus\\s+reached \\S*events\\.finds\\.order\\.found; no delivery attempt recorded\n`,
      ),
    );
    const find = await hs('events', 'find', 'evt-l2');
    assert.equal(find.code, 1, 'not a UUIDv7 nor an indexed provider id');
    assert.match(find.stderr, /NOT_FOUND.*nothing found for "evt-l2"/);
    assert.equal((await hs('events', 'find', 'evt_*')).code, 1);
    assert.equal((await hs('events', 'find')).code, 2);
    const ep = join(dir, 'replay-endpoint.json');
    writeFileSync(
      ep,
      JSON.stringify({ id: 'rp', url: 'https://rp.example/h', secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }] }),
    );
    assert.equal((await hs('endpoints', 'create', '-f', ep)).code, 0);
    const replay = await hs('replay', '--endpoint', 'rp', '--since', since, '--source', 'shop', '--rate', '50', '--request-id', 'r1');
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(replay.stdout, 'replayed 2 events to endpoint rp (request r1)\n');
    const tasks = await storedMessages(await jetstreamManager(nats.nc), t.streams.delivery, t.deliver('rp'));
    assert.deepEqual(
      tasks.map((m) => m.header.get('Nats-Msg-Id')),
      ['evt-l1:rp:replay:r1', 'evt-l2:rp:replay:r1'],
    );
    assert.equal((await hs('replay', '--endpoint', 'rp')).code, 2);
    const unknown = await hs('replay', '--endpoint', 'ghost', '--since', '1h');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /NOT_FOUND/);
    const one = await hs('replay', '--endpoint', 'rp', '--event', 'evt-l2', '--request-id', 'r2');
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, 'replayed 1 events to endpoint rp (request r2)\n');
    const after = await storedMessages(await jetstreamManager(nats.nc), t.streams.delivery, t.deliver('rp'));
    assert.equal(after.at(-1)?.header.get('Nats-Msg-Id'), 'evt-l2:rp:replay:r2');
    assert.equal(after.at(-1)?.header.get('hs-replay'), 'r2');
  });

  it('hs: health lists endpoints and sources with their dead letters and events; without ClickHouse it says why figures are missing', async () => {
    const r = await hs('health');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ENDPOINT\s+STATUS\s+SUCCESS\s+P95 MS\s+CIRCUIT\s+DLQ\s+LAST FAILURE\n/);
    assert.match(r.stdout, /\nrp\s+enabled\s+-\s+-\s+closed\s+0\s+-\n/);
    assert.match(r.stdout, /\nSOURCE\s+PROVIDER\s+EVENTS\s+REJECTED\s+REASONS\s+DUPLICATES\s+DLQ\s+RECEIVED\s+ACCEPT RATE\n/);
    assert.match(r.stdout, /note: .*HS_CLICKHOUSE_URL/);
    const json = JSON.parse((await hs('health', '--json')).stdout) as { endpoints: { endpoints: { endpointId: string }[] } };
    assert.ok(json.endpoints.endpoints.some((e) => e.endpointId === 'rp'));
  });

  it('hs: tail prints each message on events.> with its envelope headers and body', async () => {
    const child = spawn(process.execPath, [MAIN, 'tail', '--count', '2'], {
      env: { ...env, HS_NATS_URL: server.url, HS_NAMESPACE: 'cli' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const ready = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('tailing')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await ready;
    await storeEvent('evt-t1', 'stripe', 'charge.succeeded', '{\n  "id": "ch_1"\n}');
    await storeEvent('evt-t2', 'github', 'push', '{"ref":"main"}');
    assert.equal(await exited, 0, stderr);
    assert.equal(
      stdout,
      'cli.events.stripe.charge.succeeded  hs-event-id=evt-t1  hs-source=stripe  hs-event-type=charge.succeeded\n  { "id": "ch_1" }\n' +
        'cli.events.github.push  hs-event-id=evt-t2  hs-source=github  hs-event-type=push\n  {"ref":"main"}\n',
    );
    assert.equal((await hs('tail')).code, 2, 'no HS_NATS_URL');
  });

  it('hs: endpoints disable and enable; --json prints records with config as an object', async () => {
    const ep = join(dir, 'toggle.json');
    writeFileSync(
      ep,
      JSON.stringify({ id: 'tog', url: 'https://tog.example/h', secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }] }),
    );
    assert.equal((await hs('endpoints', 'create', '-f', ep)).code, 0);
    const disabled = await hs('endpoints', 'disable', 'tog');
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /^disabled endpoint tog \(revision \d+\)\n$/);
    assert.match((await hs('endpoints', 'list')).stdout, /\ntog\s+no\s+https:\/\/tog\.example\/h/);
    const got = JSON.parse((await hs('endpoints', 'get', 'tog', '--json')).stdout) as Record<string, unknown> & {
      config: Record<string, unknown>;
    };
    assert.equal(got.id, 'tog');
    assert.equal(got.configJson, undefined);
    assert.equal(got.config.enabled, false);
    assert.equal(got.config.url, 'https://tog.example/h');
    const enabled = await hs('endpoints', 'enable', 'tog', '--json');
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((JSON.parse(enabled.stdout) as { config: { enabled: boolean } }).config.enabled, true);
    assert.match((await hs('endpoints', 'list')).stdout, /\ntog\s+yes\s+https:\/\/tog\.example\/h/);
    const list = JSON.parse((await hs('endpoints', 'list', '--json')).stdout) as { id: string; config: { url: string } }[];
    assert.equal(list.find((e) => e.id === 'tog')?.config.url, 'https://tog.example/h');
    const ghost = await hs('endpoints', 'enable', 'ghost');
    assert.equal(ghost.code, 1);
    assert.match(ghost.stderr, /NOT_FOUND/);
    assert.equal((await hs('endpoints', 'delete', 'tog', '--yes')).code, 0);
  });

  it('hs: schemas update raises the version and keeps the description; --json prints the schema as an object', async () => {
    const file = join(dir, 'upd-schema.json');
    writeFileSync(file, '{"type":"object"}');
    const created = await hs('schemas', 'create', 'upd', 'order.paid', '-f', file, '--description', 'paid orders');
    assert.equal(created.code, 0, created.stderr);
    writeFileSync(file, '{"type":"object","required":["id"]}');
    const updated = await hs('schemas', 'update', 'upd', 'order.paid', '-f', file);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(updated.stdout, 'updated schema upd/order.paid to version 2\n');
    const got = JSON.parse((await hs('schemas', 'get', 'upd', 'order.paid', '--json')).stdout) as Record<string, unknown>;
    assert.deepEqual(got.schema, { type: 'object', required: ['id'] });
    assert.equal(got.schemaJson, undefined);
    assert.equal(got.version, 2);
    assert.equal(got.description, 'paid orders');
    const missing = await hs('schemas', 'update', 'upd', 'nothing', '-f', file);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND/);
    assert.equal((await hs('schemas', 'update', 'upd', 'order.paid')).code, 2, 'no -f');
  });

  it('hs: dlq list has an endpoint column; show of a deliver dead letter has its last error; purge asks for --yes, then purges one or by filter', async () => {
    const publishDead = async (stage: string, key: string, reason: string, eventId: string, extra: Record<string, string>) => {
      const h = headers();
      h.set(Header.eventId, eventId);
      h.set(Header.dlqStage, stage);
      h.set(Header.dlqReason, reason);
      for (const [name, value] of Object.entries(extra)) h.set(name, value);
      return (await jetstream(nats.nc).publish(t.dlq(stage, key), '{"dead":true}', { headers: h })).seq;
    };
    await storeEvent('evt-dl1', 'purgeshop', 'order.created', '{"n":1}');
    const deliverSeq = await publishDead('deliver', 'billing', 'retries_exhausted', 'evt-dl1', {
      [Header.source]: 'purgeshop',
      [Header.endpointId]: 'billing',
      [Header.dlqDetail]: '3 attempts; older than retry.maxAgeMs',
      [Header.dlqSubject]: t.deliver('billing'),
    });
    const verifySeqs = [
      await publishDead('verify', 'purgesrc', 'bad_signature', 'evt-pv1', {
        [Header.source]: 'purgesrc',
        [Header.dlqSubject]: t.raw('purgesrc'),
      }),
      await publishDead('verify', 'purgesrc', 'bad_signature', 'evt-pv2', {
        [Header.source]: 'purgesrc',
        [Header.dlqSubject]: t.raw('purgesrc'),
      }),
    ];
    const list = await hs('dlq', 'list', '--stage', 'deliver', '--endpoint', 'billing');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^SEQ\s+STAGE\s+SOURCE\s+ENDPOINT\s+REASON\s+EVENT\s+AT\n/);
    assert.match(list.stdout, new RegExp(`\\n${deliverSeq}\\s+deliver\\s+purgeshop\\s+billing\\s+retries_exhausted\\s+evt-dl1\\s`));
    const show = await hs('dlq', 'show', String(deliverSeq));
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /\nendpoint\s+billing\n/);
    // Without ClickHouse there are no attempts to take the last error from; the answer says why.
    assert.match(show.stdout, /\nlast error\s+not known \(delivery attempts come from ClickHouse .*HS_CLICKHOUSE_URL/);
    const shown = JSON.parse((await hs('dlq', 'show', String(deliverSeq), '--json')).stdout) as { lastError: string; endpoint: string };
    assert.equal(shown.endpoint, 'billing');
    assert.match(shown.lastError, /^not known/);

    const refused = await hs('dlq', 'purge', String(deliverSeq));
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      `hs: 'hs dlq purge' would purge dead letter ${deliverSeq}: pass --yes to confirm (stdin is not a terminal)\n`,
    );
    assert.equal((await hs('dlq', 'show', String(deliverSeq))).code, 0, 'still there');
    const byFilter = await hs('dlq', 'purge', '--stage', 'verify', '--source', 'purgesrc', '--yes');
    assert.equal(byFilter.code, 0, byFilter.stderr);
    assert.equal(byFilter.stdout, 'purged 2 dead letters\n');
    for (const seq of verifySeqs) assert.equal((await hs('dlq', 'show', String(seq))).code, 1);
    const one = await hs('dlq', 'purge', String(deliverSeq), '--yes', '--json');
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), { purged: 1 });
    const gone = await hs('dlq', 'show', String(deliverSeq));
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /NOT_FOUND/);
    assert.equal((await hs('dlq', 'purge', '--yes')).code, 2, 'an empty filter needs --all');
  });

  it('hs: the real binary answers help, --version, completion and a bad option without calling the API', async () => {
    const bad = await hs('sources', 'list', '--purge');
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      "hs: unknown option --purge for 'hs sources list'\nusage: hs sources list [--json]\nrun 'hs sources list --help' for details\n",
    );
    const help = await hs('sources', '--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: hs sources <command>/);
    assert.match(help.stdout, /hs sources delete <id> \[--yes\]/);
    const version = await hs('--version');
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^hs \d+\.\d+\.\d+\n$/);
    const bash = await hs('completion', 'bash');
    assert.equal(bash.code, 0);
    assert.match(bash.stdout, /complete -F _hs_completion hs\n$/);
    const zsh = await hs('completion', 'zsh');
    assert.equal(zsh.code, 0);
    assert.match(zsh.stdout, /^#compdef hs\n/);
  });

  it('hs: table headers are bold when stdout is a terminal; plain with NO_COLOR, with --json, or without a terminal', async () => {
    // runCli in this process, told which streams are terminals (the binary under execFile never has one).
    const out = async (extra: Record<string, string>, tty: boolean, ...argv: string[]) => {
      const io = recordingIo({ env: { ...env, ...extra }, tty: { stdout: tty } });
      assert.equal(await runCli(argv, io), 0, io.err());
      return io.out();
    };
    assert.ok((await out({}, true, 'dlq', 'list')).startsWith('\x1b[1mSEQ  '));
    assert.ok((await out({ NO_COLOR: '1' }, true, 'dlq', 'list')).startsWith('SEQ  '));
    assert.ok((await out({}, false, 'dlq', 'list')).startsWith('SEQ  '));
    assert.ok((await out({}, true, 'dlq', 'list', '--json')).startsWith('['));
  });

  it('hs: on a terminal a delete asks [y/N]; "n" and Ctrl-C keep the endpoint, "y" deletes it', async () => {
    // Scenario: the real binary under script(1), which gives it a pseudo-terminal; the answer is typed once the question shows.
    const scriptBin = findBinary('script', 'bsdutils');
    const ep = join(dir, 'ask.json');
    writeFileSync(
      ep,
      JSON.stringify({
        id: 'askme',
        url: 'https://ask.example/h',
        secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
      }),
    );
    assert.equal((await hs('endpoints', 'create', '-f', ep)).code, 0);
    const onTerminal = (answer: string): Promise<{ code: number | null; output: string }> =>
      new Promise((resolve) => {
        const child = spawn(scriptBin, ['-qec', `${process.execPath} ${MAIN} endpoints delete askme`, '/dev/null'], { env });
        let output = '';
        let answered = false;
        child.stdout.on('data', (d: Buffer) => {
          output += d.toString();
          if (!answered && output.includes('[y/N]')) {
            answered = true;
            child.stdin.write(`${answer}\n`);
          }
        });
        child.on('exit', (code) => resolve({ code, output }));
      });
    const declined = await onTerminal('n');
    assert.equal(declined.code, 2, declined.output);
    assert.match(declined.output, /hs: delete endpoint askme\? \[y\/N\]/);
    assert.match(declined.output, /not confirmed; nothing was changed/);
    assert.equal((await hs('endpoints', 'get', 'askme')).code, 0, 'still there');
    const interrupted = await onTerminal('\x03');
    assert.equal(interrupted.code, 2, `Ctrl-C at the question is a no: ${interrupted.output}`);
    assert.equal((await hs('endpoints', 'get', 'askme')).code, 0, 'still there after Ctrl-C');
    const confirmed = await onTerminal('y');
    assert.equal(confirmed.code, 0, confirmed.output);
    assert.match(confirmed.output, /deleted endpoint askme/);
    assert.equal((await hs('endpoints', 'get', 'askme')).code, 1);
  });

  it('hs: on a terminal the real binary draws replay progress (then erases it) and bold headers; NO_COLOR turns colour off', async () => {
    // Scenario: script(1) gives the binary a pseudo-terminal for stdin, stdout and stderr alike.
    const scriptBin = findBinary('script', 'bsdutils');
    const onTerminal = (command: string, extra: Record<string, string> = {}): Promise<{ code: number | null; output: string }> =>
      new Promise((resolve) => {
        const child = spawn(scriptBin, ['-qec', `${process.execPath} ${MAIN} ${command}`, '/dev/null'], { env: { ...env, ...extra } });
        let output = '';
        child.stdout.on('data', (d: Buffer) => {
          output += d.toString();
        });
        child.on('exit', (code) => resolve({ code, output }));
      });
    const ep = join(dir, 'progress.json');
    writeFileSync(
      ep,
      JSON.stringify({
        id: 'prog',
        url: 'https://prog.example/h',
        secrets: [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
      }),
    );
    assert.equal((await hs('endpoints', 'create', '-f', ep)).code, 0);
    const replay = await onTerminal('replay --endpoint prog --since 1m');
    assert.equal(replay.code, 0, replay.output);
    // Each frame starts by erasing the line: the first shows 0s, any later ones more, the last is the answer.
    const frames = replay.output.split('\r\x1b[2K');
    assert.equal(frames[0], '');
    assert.equal(frames[1], 'hs: replaying to endpoint prog… 0s');
    for (const frame of frames.slice(2, -1)) assert.match(frame, /^hs: replaying to endpoint prog… \d+s$/);
    assert.match(frames.at(-1) ?? '', /^replayed \d+ events to endpoint prog/);
    const list = await onTerminal('endpoints list');
    assert.equal(list.code, 0, list.output);
    assert.ok(list.output.startsWith('\x1b[1mID  '), JSON.stringify(list.output.slice(0, 40)));
    const plain = await onTerminal('endpoints list', { NO_COLOR: '1' });
    assert.ok(plain.output.startsWith('ID  '), JSON.stringify(plain.output.slice(0, 40)));
    assert.equal((await hs('replay', '--endpoint', 'prog', '--since', '1m')).stderr, '', 'no progress without a terminal');
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
