import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { applyMigrations, ClickHouseRowStore, DEFAULT_MIGRATIONS_DIR, loadMigrations } from '@hookstream/clickhouse';
import { Header } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { createLogger, type NatsHandle, topology } from '@hookstream/runtime';
import { type ClickHouseServer, connectTestNats, type NatsServer, startClickHouse, startNatsServer } from '@hookstream/testkit';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TOKEN = 'cli-dlq-token-0123456789';
const NS = 'clidlq';
const DB = 'hs_cli_dlq_test';
const t = topology(NS);

describe('hs dlq show against a control plane with ClickHouse', () => {
  let server: NatsServer;
  let clickhouse: ClickHouseServer;
  let store: ClickHouseRowStore;
  let nats: NatsHandle;
  let app: ControlApp;
  let env: Record<string, string>;

  const hs = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });

  before(async () => {
    [server, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    nats = await connectTestNats(server.url);
    store = new ClickHouseRowStore({ url: clickhouse.url, database: DB, user: 'default', password: '', requestTimeoutMs: 10_000 });
    await applyMigrations(store, DB, loadMigrations(DEFAULT_MIGRATIONS_DIR, DB));
    app = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: NS,
        HS_HEALTH_PORT: '0',
        HS_HEALTH_HOST: '127.0.0.1',
        HS_CONTROL_PORT: '0',
        HS_CONSOLE_PORT: '0',
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
        HS_CLICKHOUSE_URL: clickhouse.url,
        HS_CLICKHOUSE_DATABASE: DB,
      }),
      { logger: createLogger({ service: 'test', level: 'silent' }) },
    );
    await app.run();
    env = { PATH: process.env.PATH ?? '', HS_CONTROL_URL: `127.0.0.1:${app.grpcPort()}`, HS_CONTROL_TOKEN: TOKEN };
  });

  after(async () => {
    await app?.close();
    await store?.close();
    await nats?.drain();
    await Promise.all([server?.stop(), clickhouse?.stop()]);
  });

  it("hs dlq show: a deliver dead letter whose detail has no error shows its endpoint's last failed attempt", async () => {
    // Scenario: evt-le failed twice at "billing" (a 503, then a timeout) and was dead-lettered for its age;
    // another endpoint's later failure must not be taken for billing's.
    const h = headers();
    h.set(Header.eventId, 'evt-le');
    h.set(Header.source, 'shop');
    h.set(Header.eventType, 'order.paid');
    await jetstream(nats.nc).publish(t.events('shop', 'order.paid'), '{"n":1}', { headers: h });
    const at = Date.now() - 120_000;
    const row = (
      endpoint: string,
      attempt: number,
      outcome: string,
      status: number | null,
      latency: number,
      offsetMs: number,
      excerpt: string,
    ) => ({
      row_id: `evt-le:${endpoint}:attempt:${attempt}`,
      event_id: 'evt-le',
      endpoint_id: endpoint,
      source: 'shop',
      event_type: 'order.paid',
      attempt,
      status,
      outcome,
      latency_ms: latency,
      e2e_ms: latency + 5,
      next_retry_at: null,
      response_excerpt: excerpt,
      at: at + offsetMs,
    });
    await store.client.insert({
      table: `${DB}.delivery_attempts`,
      values: [
        row('billing', 1, 'http_5xx', 503, 12, 0, 'upstream down'),
        row('billing', 2, 'timeout', null, 5_000, 10_000, ''),
        row('other', 1, 'connect', null, 3, 20_000, ''),
      ],
      format: 'JSONEachRow',
    });
    const d = headers();
    d.set(Header.eventId, 'evt-le');
    d.set(Header.source, 'shop');
    d.set(Header.endpointId, 'billing');
    d.set(Header.dlqStage, 'deliver');
    d.set(Header.dlqReason, 'retries_exhausted');
    d.set(Header.dlqDetail, '2 attempts; older than retry.maxAgeMs');
    d.set(Header.dlqSubject, t.deliver('billing'));
    const seq = (await jetstream(nats.nc).publish(t.dlq('deliver', 'billing'), '{"n":1}', { headers: d })).seq;

    const show = await hs('dlq', 'show', String(seq));
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /\ndetail\s+2 attempts; older than retry\.maxAgeMs\n/);
    const expected = `timeout after 5000ms (attempt 2, ${new Date(at + 10_000).toISOString()})`;
    assert.ok(show.stdout.includes(`\nlast error  ${expected}\n`), show.stdout);
    const json = JSON.parse((await hs('dlq', 'show', String(seq), '--json')).stdout) as { lastError: string };
    assert.equal(json.lastError, expected);
  });
});
