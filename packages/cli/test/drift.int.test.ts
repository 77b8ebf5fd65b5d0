import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { applyMigrations, ClickHouseRowStore, DEFAULT_MIGRATIONS_DIR, loadMigrations } from '@hookstream/clickhouse';
import { driftRowId } from '@hookstream/contracts';
import { buildApp, type ControlApp, loadConfig } from '@hookstream/control';
import { createLogger } from '@hookstream/runtime';
import { type ClickHouseServer, type NatsServer, startClickHouse, startNatsServer } from '@hookstream/testkit';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TOKEN = 'cli-drift-token-0123456789';
const DB = 'hs_cli_drift_test';

describe('hs drift against a control plane with ClickHouse', () => {
  let server: NatsServer;
  let clickhouse: ClickHouseServer;
  let store: ClickHouseRowStore;
  let app: ControlApp;
  let env: Record<string, string>;
  const seenAt = Date.UTC(2026, 0, 2, 3, 4, 5);

  const hs = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });

  before(async () => {
    [server, clickhouse] = await Promise.all([startNatsServer(), startClickHouse()]);
    store = new ClickHouseRowStore({ url: clickhouse.url, database: DB, user: 'default', password: '', requestTimeoutMs: 10_000 });
    await applyMigrations(store, DB, loadMigrations(DEFAULT_MIGRATIONS_DIR, DB));
    // Scenario: validate reported $.customer.tier (a string) in two "shop" events and $.owner in one "crm" event.
    const row = (eventId: string, source: string, path: string, jsonType: string, at: number) => ({
      row_id: driftRowId(eventId, path),
      event_id: eventId,
      source,
      event_type: 'order.created',
      path,
      json_type: jsonType,
      at,
    });
    await store.client.insert({
      table: `${DB}.drift`,
      values: [
        row('e1', 'shop', '$.customer.tier', 'string', seenAt - 60_000),
        row('e2', 'shop', '$.customer.tier', 'string', seenAt),
        row('c1', 'crm', '$.owner', 'object', seenAt - 120_000),
      ],
      format: 'JSONEachRow',
    });
    app = buildApp(
      loadConfig({
        HS_NATS_URL: server.url,
        HS_NAMESPACE: 'clidrift',
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
    await Promise.all([server?.stop(), clickhouse?.stop()]);
  });

  it("hs: drift --source prints that source's fields with count, first/last seen and an example event", async () => {
    const r = await hs('drift', '--source', 'shop', '--since', '2026-01-01T00:00:00Z', '--until', '2026-01-03T00:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), [
      'SOURCE  TYPE           PATH             JSON TYPE  RECORDS  FIRST SEEN                LAST SEEN                 EXAMPLE EVENT',
      'shop    order.created  $.customer.tier  string     2        2026-01-02T03:03:05.000Z  2026-01-02T03:04:05.000Z  e2',
      '',
    ]);
  });

  it('hs: drift --json answers every source as plain JSON; an empty window says so', async () => {
    const r = await hs('drift', '--since', '2026-01-01T00:00:00Z', '--until', '2026-01-03T00:00:00Z', '--json');
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { fields: { source: string; path: string; count: number }[] };
    assert.deepEqual(
      got.fields.map((f) => [f.source, f.path, f.count]),
      [
        ['shop', '$.customer.tier', 2],
        ['crm', '$.owner', 1],
      ],
    );
    const empty = await hs('drift', '--since', '2025-01-01T00:00:00Z', '--until', '2025-01-02T00:00:00Z');
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, 'no drift between 2025-01-01T00:00:00.000Z and 2025-01-02T00:00:00.000Z\n');
  });

  it("hs: drift: a bad --limit or an unknown option is a usage error (exit 2) with the command's own help", async () => {
    const bad = await hs('drift', '--limit', 'x');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit must be a positive integer/);
    const unknown = await hs('drift', '--endpoint', 'x');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /hs drift/);
  });
});
