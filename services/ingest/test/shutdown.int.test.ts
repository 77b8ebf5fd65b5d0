import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Header } from '@hookstream/contracts';
import { SourceStore } from '@hookstream/models';
import { type NatsHandle, openBucket, topology } from '@hookstream/runtime';
import { connectTestNats, freePort, type NatsServer, startNatsServer, storedMessages, waitFor, waitForHttpOk } from '@hookstream/testkit';
import { jetstreamManager } from '@nats-io/jetstream';

const NONE = { kind: 'none' } as const;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function postOnce(agent: Agent, port: number, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/webhooks/load', method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('ingest process shutdown', () => {
  let server: NatsServer;
  let nats: NatsHandle;
  const t = topology('sd');

  before(async () => {
    server = await startNatsServer();
    nats = await connectTestNats(server.url);
    await new SourceStore(await openBucket(nats.nc, t.buckets.sources, { replicas: 1 })).put({ id: 'load', scheme: NONE });
  });

  after(async () => {
    await nats?.drain();
    await server?.stop();
  });

  it('ingest: SIGTERM during load loses no acknowledged request and exits 0', async () => {
    // Scenario: the production entry point runs under 16 concurrent
    // keep-alive senders; SIGTERM arrives mid-stream. Every 202 the senders
    // saw must be in HS_RAW, and the process must exit cleanly.
    const port = await freePort();
    const healthPort = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'sd',
        HS_INGEST_PORT: String(port),
        HS_INGEST_HOST: '127.0.0.1',
        HS_HEALTH_PORT: String(healthPort),
        HS_HEALTH_HOST: '127.0.0.1',
        HS_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitForHttpOk(healthPort, '/readyz');

    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const acked: string[] = [];
    const statuses = new Map<number, number>();
    let signalled = false;
    const sender = async (n: number): Promise<void> => {
      for (let i = 0; i < 100_000; i++) {
        let res: { status: number; body: string };
        try {
          res = await postOnce(agent, port, `{"sender":${n},"i":${i}}`);
        } catch {
          if (signalled) return; // refused or reset after shutdown began
          throw new Error('request failed before SIGTERM');
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 202) acked.push((JSON.parse(res.body) as { id: string }).id);
        else if (res.status === 503 && signalled) return;
        else assert.fail(`unexpected status ${res.status}`);
      }
    };
    const senders = Array.from({ length: 16 }, (_, n) => sender(n));
    await waitFor('some load', () => (acked.length >= 300 ? true : undefined), 20_000);
    signalled = true;
    child.kill('SIGTERM');
    await Promise.all(senders);
    agent.destroy();
    const code = await exited;
    assert.equal(code, 0, `exit code; stderr:\n${stderr}`);

    const jsm = await jetstreamManager(nats.nc);
    const stored = new Set((await storedMessages(jsm, t.streams.raw)).map((m) => m.header.get(Header.eventId)));
    const lost = acked.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged events missing`);
    assert.ok(acked.length >= 300);
  });
});
