import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { type ControlApi, connectControl } from '@hookstream/proto';
import { type NatsHandle, topology } from '@hookstream/runtime';
import {
  type ClickHouseServer,
  connectTestNats,
  freePort,
  httpRequest,
  type NatsServer,
  startClickHouse,
  startNatsServer,
  storedMessages,
  waitFor,
} from '@hookstream/testkit';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { type ServiceProcess, startService } from './processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NS = 'readme';
const t = topology(NS);
const TOKEN = 'readme-control-token-0123456789';
// The README's first example, byte for byte.
const README_BODY = '{"type":"demo.ping","id":"evt_1"}';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('the README first example and reposts, every service a real process', () => {
  let server: NatsServer;
  let clickhouse: ClickHouseServer;
  let nats: NatsHandle;
  let jsm: JetStreamManager;
  let control: ControlApi;
  let echo: ChildProcess;
  let dir: string;
  let ingestPort: number;
  let consolePort: number;
  let cliEnv: Record<string, string>;
  const echoLines: string[] = [];
  const services: ServiceProcess[] = [];

  /** `node packages/cli/src/main.ts …`, as the README runs it. */
  const hs = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, 'packages/cli/src/main.ts'), ...args],
        { env: cliEnv, timeout: 30_000 },
        (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
        },
      );
    });

  /** Runs a script under scripts/ to completion. */
  const script = (name: string, env: Record<string, string>): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, 'scripts', name)],
        { env: { ...process.env, ...env }, timeout: 30_000 },
        (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
        },
      );
    });

  const post = async (source: string, body: string, contentType = 'application/json'): Promise<string> => {
    const r = await httpRequest({
      port: ingestPort,
      path: `/v1/webhooks/${source}`,
      method: 'POST',
      body,
      headers: { 'content-type': contentType },
    });
    assert.equal(r.status, 202, r.body);
    return (JSON.parse(r.body) as { id: string }).id;
  };

  const onEvents = (eventId: string) =>
    waitFor(
      `${eventId} on events.*`,
      async () => (await storedMessages(jsm, t.streams.events)).find((m) => m.header.get(Header.eventId) === eventId),
      30_000,
      100,
    );

  before(async () => {
    [server, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    nats = await connectTestNats(server.url);
    jsm = await jetstreamManager(nats.nc);
    dir = mkdtempSync(join(tmpdir(), 'hs-readme-'));
    const base = { HS_NATS_URL: server.url, HS_NAMESPACE: NS, HS_MASTER_KEY: randomBytes(32).toString('base64') };
    const clickhouseEnv = { HS_CLICKHOUSE_URL: clickhouse.url, HS_CLICKHOUSE_DATABASE: 'readme' };
    const controlPort = await freePort();
    consolePort = await freePort();
    services.push(
      await startService('control', {
        ...base,
        ...clickhouseEnv,
        HS_CONTROL_PORT: String(controlPort),
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONSOLE_PORT: String(consolePort),
        HS_CONSOLE_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
      }),
    );
    control = connectControl({ url: `127.0.0.1:${controlPort}`, token: TOKEN });
    cliEnv = { PATH: process.env.PATH ?? '', HS_CONTROL_URL: `127.0.0.1:${controlPort}`, HS_CONTROL_TOKEN: TOKEN };
    // What `make up` does: seed the demo source, start the echo receiver, apply examples/hookstream.yaml.
    const seeded = await script('seed-demo.ts', base);
    assert.equal(seeded.code, 0, seeded.stderr);
    const echoPort = await freePort();
    echo = spawn(process.execPath, [join(ROOT, 'scripts/echo-receiver.ts')], {
      env: { ...process.env, HS_ECHO_PORT: String(echoPort) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    echo.stdout?.setEncoding('utf8').on('data', (chunk: string) => echoLines.push(...chunk.split('\n').filter((l) => l !== '')));
    await waitFor('the echo receiver', () => (echoLines.some((l) => l.includes('echo receiver on')) ? true : undefined));
    const example = readFileSync(join(ROOT, 'examples/hookstream.yaml'), 'utf8');
    assert.match(example, /http:\/\/127\.0\.0\.1:9999\/hook/);
    const file = join(dir, 'hookstream.yaml');
    writeFileSync(file, example.replace('http://127.0.0.1:9999/hook', `http://127.0.0.1:${echoPort}/hook`));
    const applied = await hs('apply', '-f', file);
    assert.equal(applied.code, 0, applied.stderr);

    ingestPort = await freePort();
    services.push(await startService('ingest', { ...base, HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' }));
    for (const name of ['verify', 'dedup', 'validate', 'route']) services.push(await startService(name, base));
    services.push(await startService('deliver', { ...base, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' }));
    services.push(await startService('analytics', { ...base, ...clickhouseEnv, HS_ANALYTICS_BATCH_INTERVAL_MS: '1000' }));
  });

  after(async () => {
    control?.close();
    for (const s of services.reverse()) assert.equal(await s.stop(), 0, `${s.name} exits cleanly`);
    if (echo !== undefined && echo.exitCode === null) {
      const gone = new Promise((resolve) => echo.once('exit', resolve));
      echo.kill('SIGTERM');
      await gone;
    }
    await nats?.drain();
    await server?.stop();
    await clickhouse?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("e2e: the README's first curl reaches events.demo.demo.ping and the echo receiver; the same body again answers 'duplicate of' the first", async () => {
    // Scenario: the `demo` source make up seeds names no event-type locator; an unsigned source
    // reads it from $.type, so the event is routed like any other.
    const id = await post('demo', README_BODY);
    const stored = await onEvents(id);
    assert.equal(stored.subject, t.events('demo', 'demo.ping'));
    assert.equal(Buffer.from(stored.data).toString('utf8'), README_BODY);
    const line = await waitFor(
      'the echo receiver to log the POST',
      () => echoLines.find((l) => l.includes(`webhook-id=${id}`)),
      30_000,
      50,
    );
    assert.match(line, /POST \/hook webhook-id=\S+ \{"type":"demo\.ping","id":"evt_1"\}/);
    const got = await hs('events', 'get', id);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, new RegExp(`status\\s+reached ${t.events('demo', 'demo.ping').replaceAll('.', '\\.')}`));

    // Posting the same body again: 202 with a new id, which dedup drops and GetEvent explains.
    const again = await post('demo', README_BODY);
    assert.notEqual(again, id);
    const dup = await waitFor('the repost to be noted as a duplicate', async () => {
      const e = await control.getEvent({ eventId: again }).catch(() => undefined);
      return e?.duplicateOf === '' ? undefined : e;
    });
    assert.equal(dup.duplicateOf, id);
    assert.equal(dup.state?.state, 'events');
    const shown = await hs('events', 'get', again);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`status\\s+duplicate of ${id}`));
    assert.match(shown.stdout, new RegExp(`first event\\s+${id} reached ${t.events('demo', 'demo.ping').replaceAll('.', '\\.')}`));
    // The console's JSON answer for the event page says the same.
    const consoleAnswer = await httpRequest({
      port: consolePort,
      path: '/api/rpc/GetEvent',
      method: 'POST',
      body: JSON.stringify({ eventId: again }),
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });
    assert.equal(consoleAnswer.status, 200, consoleAnswer.body);
    const json = JSON.parse(consoleAnswer.body) as { duplicateOf?: string; state?: { state?: string; eventId?: string } };
    assert.equal(json.duplicateOf, id);
    assert.deepEqual([json.state?.state, json.state?.eventId], ['events', id]);
    assert.equal((await storedMessages(jsm, t.streams.events)).filter((m) => m.header.get(Header.eventId) === again).length, 0);
  });

  it('e2e: a repost after a dead letter at validate goes through once the source is fixed, once; hs events get tells the three apart', async () => {
    // Scenario: a source points its event type at a field the sender does not send, so the first
    // copy is dead-lettered at validate (missing_event_type). The operator fixes the source and the
    // sender posts the same body again: it must reach events.*, and a third copy is a duplicate of it.
    const file = join(dir, 'legacy.json');
    writeFileSync(file, JSON.stringify({ id: 'legacy', scheme: { kind: 'none' }, eventType: { from: 'json', path: '$.kind' } }));
    assert.equal((await hs('sources', 'create', '-f', file)).code, 0);
    const body = '{"type":"order.created","id":"o-1"}';
    const first = await post('legacy', body);
    const dead = await waitFor(
      'the first copy in the DLQ',
      async () => (await storedMessages(jsm, t.streams.dlq)).find((m) => m.header.get(Header.eventId) === first),
      30_000,
      100,
    );
    assert.equal(dead.header.get(Header.dlqStage), 'validate');
    assert.equal(dead.header.get(Header.dlqReason), 'missing_event_type');
    const deadShown = await hs('events', 'get', first);
    assert.equal(deadShown.code, 0, deadShown.stderr);
    assert.match(deadShown.stdout, /status\s+dead-lettered at validate\/missing_event_type/);

    // The fix, and proof that validate applies it (another event of the source gets through).
    writeFileSync(file, JSON.stringify({ id: 'legacy', scheme: { kind: 'none' }, eventType: { from: 'json', path: '$.type' } }));
    const updated = await hs('sources', 'update', '-f', file);
    assert.equal(updated.code, 0, updated.stderr);
    const probe = await post('legacy', '{"type":"order.created","id":"probe"}');
    await onEvents(probe);
    // Dedup has released the dead-lettered copy's claim once its release consumer has drained the DLQ.
    await waitFor(
      'dedup to handle the dead letter',
      async () => {
        const info = await jsm.consumers.info(t.streams.dlq, 'dedup-release-validate').catch(() => undefined);
        return info && info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      },
      30_000,
      100,
    );

    const repost = await post('legacy', body);
    assert.equal((await onEvents(repost)).subject, t.events('legacy', 'order.created'));
    const third = await post('legacy', body);
    const dup = await waitFor('the third copy to be noted as a duplicate', async () => {
      const e = await control.getEvent({ eventId: third }).catch(() => undefined);
      return e?.duplicateOf === '' ? undefined : e;
    });
    assert.equal(dup.duplicateOf, repost);
    const shown = await hs('events', 'get', third);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`status\\s+duplicate of ${repost}`));
    const ids = (await storedMessages(jsm, t.streams.events, t.events('legacy', 'order.created'))).map((m) => m.header.get(Header.eventId));
    assert.deepEqual(ids, [probe, repost], 'the probe, then the repost, once');
  });

  it("e2e: hs health counts validate's schema failures in a source's REJECTED, by stage and reason", async () => {
    const file = join(dir, 'health.json');
    writeFileSync(file, JSON.stringify({ id: 'healthsrc', scheme: { kind: 'none' } }));
    assert.equal((await hs('sources', 'create', '-f', file)).code, 0);
    await post('healthsrc', '{"type":"x.y", "broken": ');
    const health = await waitFor(
      'the schema failure in SourceHealth',
      async () => {
        const r = await hs('health', '--source', 'healthsrc', '--json');
        if (r.code !== 0) return undefined;
        const answer = JSON.parse(r.stdout) as {
          sources: { sources: { sourceId: string; rejected: number; rejections: Record<string, number> }[] };
        };
        const row = answer.sources.sources.find((s) => s.sourceId === 'healthsrc');
        return row !== undefined && row.rejected > 0 ? row : undefined;
      },
      30_000,
      500,
    );
    assert.equal(health.rejected, 1);
    assert.deepEqual(health.rejections, { 'validate/malformed_body': 1 });
    const text = await hs('health', '--source', 'healthsrc');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /healthsrc\s+\S+\s+0\s+1\s+validate\/malformed_body=1/);
  });
});
