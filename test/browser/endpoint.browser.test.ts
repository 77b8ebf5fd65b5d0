import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tokenDigest } from '@hookstream/control';
import {
  type ClickHouseServer,
  freePort,
  type NatsServer,
  startClickHouse,
  startEndpoint,
  startNatsServer,
  type TestEndpoint,
  waitFor,
} from '@hookstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { type ServiceProcess, startService } from '../e2e/processes.ts';
import { launchChromium } from './chromium.ts';
import { ARTIFACTS, consoleRpc, shot, signIn as signInAs } from './console-page.ts';

const TOKEN = 'browser-ep-control-token-0123456789';
const OPERATOR = 'browser-ep-operator-token-0123456789';
const MASTER_KEY = randomBytes(32).toString('base64');
const DESKTOP = { width: 1280, height: 800 };
const ENDPOINT_SECRETS = [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }];

/**
 * The endpoint page's configuration, test event and the per-endpoint event
 * page, against control, deliver and analytics as processes. Each scenario
 * owns its endpoint (and receiver), so they pass in any order or alone.
 */
describe('the endpoint pages in headless Chromium against a real stack', () => {
  let nats: NatsServer;
  let clickhouse: ClickHouseServer;
  let browser: Browser;
  let edit: TestEndpoint;
  let probe: TestEndpoint;
  let consoleUrl: string;
  const services: ServiceProcess[] = [];
  let usersDir = '';
  /** A port nothing listens on: every request to it is refused. */
  let closedPort = 0;

  const api = (method: string, body: unknown) => consoleRpc(consoleUrl, TOKEN, method, body);

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [nats, clickhouse, browser] = await Promise.all([startNatsServer(), startClickHouse(), launchChromium()]);
    [edit, probe] = [await startEndpoint(), await startEndpoint()];
    closedPort = await freePort();
    const base = { HS_NATS_URL: nats.url, HS_NAMESPACE: 'webep', HS_MASTER_KEY: MASTER_KEY };
    const clickhouseEnv = { HS_CLICKHOUSE_URL: clickhouse.url, HS_CLICKHOUSE_DATABASE: 'webep' };
    const consolePort = await freePort();
    usersDir = mkdtempSync(join(tmpdir(), 'hs-browser-ep-'));
    const users = join(usersDir, 'users');
    writeFileSync(users, `olga operator ${tokenDigest(OPERATOR).toString('hex')}\n`);
    services.push(
      await startService('control', {
        ...base,
        ...clickhouseEnv,
        HS_CONTROL_PORT: String(await freePort()),
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
        HS_CONSOLE_PORT: String(consolePort),
        HS_CONSOLE_HOST: '127.0.0.1',
        HS_CONSOLE_USERS_FILE: users,
      }),
    );
    consoleUrl = `http://127.0.0.1:${consolePort}`;
    for (const config of [
      { id: 'editable', url: edit.url, secrets: ENDPOINT_SECRETS, headers: { authorization: 'Bearer s3cret-value' } },
      { id: 'probed', url: probe.url, secrets: ENDPOINT_SECRETS },
      { id: 'refusing', url: `http://127.0.0.1:${closedPort}/hook`, secrets: ENDPOINT_SECRETS },
    ]) {
      const r = await api('CreateEndpoint', { configJson: JSON.stringify(config) });
      assert.equal(r.status, 200, r.body);
    }
    services.push(await startService('deliver', { ...base, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' }));
    services.push(await startService('analytics', { ...base, ...clickhouseEnv, HS_ANALYTICS_BATCH_INTERVAL_MS: '1000' }));
  });

  after(async () => {
    await browser?.close();
    for (const s of services.reverse()) await s.stop();
    await edit?.close();
    await probe?.close();
    await nats?.stop();
    await clickhouse?.stop();
    if (usersDir !== '') rmSync(usersDir, { recursive: true, force: true });
  });

  const signIn = (page: Page, token: string) => signInAs(page, consoleUrl, token);

  it('browser: an admin sees the whole endpoint configuration, gets a CEL error as they type, and saves an edit', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, TOKEN);
    await page.goto(`${consoleUrl}/#/endpoints/editable`);
    await page.getByRole('heading', { name: 'Endpoint editable', level: 1 }).waitFor();
    const config = page.getByRole('region', { name: 'Configuration' });
    await config.getByText('every source').waitFor();
    // Header values are write-only: the page shows the name and "***", never the value.
    assert.match((await config.textContent()) ?? '', /authorization: \*\*\*/);
    assert.doesNotMatch((await page.content()) ?? '', /s3cret-value/);

    await config.getByRole('button', { name: 'Edit' }).click();
    const filter = page.getByLabel('CEL filter');
    await filter.fill('data.amount > 10 &&& x');
    await page.locator('#ep-filter-check').filter({ hasText: 'does not compile' }).waitFor();
    assert.equal(await filter.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByRole('button', { name: 'Save endpoint' }).isDisabled(), true);
    await shot(page, '40-endpoint-filter-invalid');

    await filter.fill('type == "invoice.paid"');
    await page.locator('#ep-filter-check').filter({ hasText: 'Filter compiles.' }).waitFor();
    await page.getByLabel('Event types (comma-separated patterns)').fill('invoice.*, hookstream.test');
    await page.getByLabel('Rate limit (requests per second; empty: none)').fill('25');
    await page.getByRole('button', { name: 'Save endpoint' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Endpoint editable saved/ })
      .waitFor();
    await config.getByText('invoice.*, hookstream.test').waitFor();
    await config.getByText('25/s').waitFor();

    // Stored as edited, and the "***" header kept its real value.
    const stored = JSON.parse((await api('GetEndpoint', { id: 'editable' })).body) as { configJson: string };
    const record = JSON.parse(stored.configJson) as { filter: string; rateLimitPerSecond: number; headers: Record<string, string> };
    assert.deepEqual([record.filter, record.rateLimitPerSecond, record.headers.authorization], ['type == "invoice.paid"', 25, '***']);
    const sent = JSON.parse((await api('SendTestEvent', { endpointId: 'editable' })).body) as { eventId: string };
    const got = await waitFor(
      'the test event at the edited endpoint',
      () => edit.received.find((r) => r.headers['webhook-id'] === sent.eventId),
      30_000,
    );
    assert.equal(got.headers.authorization, 'Bearer s3cret-value', 'the "***" the form sent back kept the stored value');
    await shot(page, '41-endpoint-config-saved');
    await context.close();
  });

  it('browser: an operator sends a test event and sees its signed delivery attempt', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, OPERATOR);
    await page.goto(`${consoleUrl}/#/endpoints/probed`);
    await page.getByRole('heading', { name: 'Endpoint probed', level: 1 }).waitFor();
    // An operator may not edit the configuration.
    assert.equal(await page.getByRole('button', { name: 'Edit' }).count(), 0);
    await page.getByRole('button', { name: 'Send test event' }).click();
    const attempts = page.getByRole('table', { name: 'Attempts of the test event' });
    await attempts.getByRole('row').filter({ hasText: '200 success' }).waitFor({ timeout: 30_000 });
    assert.equal(probe.received.length, 1);
    assert.match(String(probe.received[0]?.headers['webhook-signature']), /^v1,/);
    await shot(page, '42-endpoint-test-event');
    await context.close();
  });

  it('browser: the event page groups attempts by endpoint and says why a refused connection failed', async () => {
    // Scenario: a test event to an endpoint whose port refuses connections;
    // deliver records a `connect` attempt and schedules a retry.
    const sent = JSON.parse((await api('SendTestEvent', { endpointId: 'refusing' })).body) as { eventId: string };
    await waitFor(
      'the refused attempt in ClickHouse',
      async () => {
        const r = await api('GetEvent', { eventId: sent.eventId });
        return r.status === 200 && (JSON.parse(r.body) as { attempts?: unknown[] }).attempts?.length ? true : undefined;
      },
      30_000,
      250,
    );
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, TOKEN);
    await page.goto(`${consoleUrl}/#/events/${sent.eventId}`);
    await page.getByRole('heading', { name: `Event ${sent.eventId}`, level: 1 }).waitFor();
    const group = page.getByRole('region', { name: /refusing/ });
    const row = group.getByRole('table', { name: 'Delivery attempts to refusing' }).getByRole('row').filter({ hasText: 'connect' });
    await row.first().waitFor();
    // Deliver's own words for it, recorded with the attempt.
    assert.match((await row.first().textContent()) ?? '', /ECONNREFUSED 127\.0\.0\.1:\d+/);
    assert.doesNotMatch((await row.first().textContent()) ?? '', /—/);
    await group.getByText('Request headers sent', { exact: true }).click();
    await group.getByRole('cell', { name: 'v1,*** (redacted)' }).waitFor();
    await shot(page, '43-event-per-endpoint-error');
    await context.close();
  });

  it('browser: an admin creates an endpoint from its page, rotates its secret (shown once) and deletes it after confirming', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, TOKEN);
    await page.goto(`${consoleUrl}/#/endpoints/fresh`);
    await page.getByRole('heading', { name: 'Endpoint fresh', level: 1 }).waitFor();
    const form = page.getByRole('form', { name: 'Create endpoint fresh' });
    await form.getByLabel('URL').fill('https://hooks.example.com/fresh');
    await form.getByLabel('Event types (comma-separated patterns)').fill('invoice.*');
    await form.getByRole('button', { name: 'Create endpoint' }).click();
    const created = page.locator('.note').filter({ hasText: 'Endpoint fresh created' });
    await created.waitFor();
    const secret = (await created.locator('code').textContent()) ?? '';
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    const config = page.getByRole('region', { name: 'Configuration' });
    await config.getByText('invoice.*').waitFor();

    await config.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = page.locator('.note').filter({ hasText: 'New secret (shown once)' });
    await rotated.waitFor();
    assert.notEqual((await rotated.locator('code').textContent()) ?? '', secret);
    await shot(page, '44-endpoint-created-rotated');

    page.once('dialog', (dialog) => void dialog.accept());
    await config.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    assert.equal((await api('GetEndpoint', { id: 'fresh' })).status, 404);
    await context.close();
  });
});
