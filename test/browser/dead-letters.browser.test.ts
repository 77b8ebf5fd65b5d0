import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tokenDigest } from '@hookstream/control';
import { freePort, type NatsServer, startEndpoint, startNatsServer, type TestEndpoint, waitFor } from '@hookstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { type ServiceProcess, startService } from '../e2e/processes.ts';
import { launchChromium } from './chromium.ts';
import { ARTIFACTS, checkLayout, consoleRpc, postStripeSigned, shot, signIn as signInAs } from './console-page.ts';

// Screenshots land next to the console suite's (gitignored; CI keeps the folder as the run's artifacts).
const TOKEN = 'dlq-control-token-0123456789';
const VIEWER = 'dlq-viewer-token-0123456789';
const OPERATOR = 'dlq-operator-token-0123456789';
const MASTER_KEY = randomBytes(32).toString('base64');
const DESKTOP = { width: 1280, height: 800 };
const SECRET = 'whsec_dead_letters_secret';
const ENDPOINT_SECRETS = [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }];

/** Sources and the endpoint of this suite; names are not substrings of each other (the page is searched by text). */
const NAMES = { harbor: 'harbor', quay: 'quay', endpoint: 'wharf' } as const;

interface Summary {
  total?: number;
  byReason?: Record<string, number>;
}

describe('the console dead-letter page in headless Chromium against a real stack', () => {
  let nats: NatsServer;
  let browser: Browser;
  let receiver: TestEndpoint;
  let consoleUrl: string;
  let ingestPort: number;
  const services: ServiceProcess[] = [];
  let usersDir = '';

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [nats, browser, receiver] = await Promise.all([startNatsServer(), launchChromium(), startEndpoint()]);
    // The endpoint refuses everything: 400 is permanent, so a delivery is dead-lettered after one attempt.
    receiver.respond = (_r, res) => {
      res.statusCode = 400;
      res.end('{"error":"unknown_order"}');
    };
    const base = { HS_NATS_URL: nats.url, HS_NAMESPACE: 'webdlq', HS_MASTER_KEY: MASTER_KEY };
    const consolePort = await freePort();
    usersDir = mkdtempSync(join(tmpdir(), 'hs-browser-dlq-'));
    const users = join(usersDir, 'users');
    writeFileSync(users, `vera viewer ${tokenDigest(VIEWER).toString('hex')}\nolga operator ${tokenDigest(OPERATOR).toString('hex')}\n`);
    services.push(
      await startService('control', {
        ...base,
        HS_CONTROL_PORT: String(await freePort()),
        HS_CONTROL_HOST: '127.0.0.1',
        HS_CONTROL_TOKEN: TOKEN,
        HS_CONSOLE_PORT: String(consolePort),
        HS_CONSOLE_HOST: '127.0.0.1',
        HS_CONSOLE_USERS_FILE: users,
      }),
    );
    consoleUrl = `http://127.0.0.1:${consolePort}`;
    for (const [method, config] of [
      ['CreateSource', { id: NAMES.harbor, provider: 'stripe', secrets: [{ id: 'k1', value: SECRET }] }],
      ['CreateSource', { id: NAMES.quay, provider: 'stripe', secrets: [{ id: 'k1', value: SECRET }] }],
      ['CreateEndpoint', { id: NAMES.endpoint, url: receiver.url, sources: [NAMES.harbor], secrets: ENDPOINT_SECRETS }],
    ] as const) {
      const r = await api(method, { configJson: JSON.stringify(config) });
      assert.equal(r.status, 200, `${method}: ${r.body}`);
    }
    ingestPort = await freePort();
    services.push(await startService('ingest', { ...base, HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' }));
    for (const name of ['verify', 'dedup', 'validate', 'route']) services.push(await startService(name, base));
    services.push(await startService('deliver', { ...base, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' }));
  });

  after(async () => {
    await browser?.close();
    for (const s of services.reverse()) await s.stop();
    await receiver?.close();
    await nats?.stop();
    if (usersDir !== '') rmSync(usersDir, { recursive: true, force: true });
  });

  const api = (method: string, body: unknown) => consoleRpc(consoleUrl, TOKEN, method, body);

  /** POSTs `body` to `source` with a Stripe signature made with `secret`; answers the event id ingest gave it. */
  async function postStripe(source: string, body: string, secret: string): Promise<string> {
    const r = await postStripeSigned(ingestPort, source, body, secret);
    assert.equal(r.status, 202, r.body);
    return (JSON.parse(r.body) as { id: string }).id;
  }

  const signIn = (page: Page, token: string) => signInAs(page, consoleUrl, token);

  it('browser: dead letters are filtered by dropdowns and a time range, newest first, counted by reason; an operator purges the filtered ones after confirming', async () => {
    // Scenario: two forgeries to harbor and one to quay (verify: bad_signature), one real harbor event the
    // endpoint refuses (deliver: http_4xx).
    const olderForgery = await postStripe(NAMES.harbor, '{"id":"evt_dlq_1","type":"order.created","data":{}}', 'whsec_forger');
    const newerForgery = await postStripe(NAMES.harbor, '{"id":"evt_dlq_2","type":"order.created","data":{}}', 'whsec_forger');
    const quayForgery = await postStripe(NAMES.quay, '{"id":"evt_dlq_3","type":"order.created","data":{}}', 'whsec_forger');
    await postStripe(NAMES.harbor, '{"id":"evt_dlq_4","type":"order.created","data":{}}', SECRET);
    const summary = async (filter: object): Promise<Summary> => JSON.parse((await api('SummarizeDeadLetters', { filter })).body) as Summary;
    await waitFor('four dead letters', async () => ((await summary({})).total === 4 ? true : undefined), 30_000, 250);

    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, OPERATOR);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('heading', { name: 'Dead letters', level: 1 }).waitFor();
    const counts = page.getByRole('table', { name: 'Counts by reason' });
    await counts.getByRole('row').filter({ hasText: 'bad_signature' }).filter({ hasText: '3' }).waitFor();
    await counts.getByRole('row').filter({ hasText: 'http_4xx' }).filter({ hasText: '1' }).waitFor();
    // The dropdowns offer the known values.
    const optionsOf = (label: string) => page.getByLabel(label, { exact: true }).locator('option').allTextContents();
    assert.deepEqual(await optionsOf('Source'), ['any', NAMES.harbor, NAMES.quay]);
    assert.deepEqual(await optionsOf('Endpoint'), ['any', NAMES.endpoint]);
    assert.deepEqual(await optionsOf('Reason'), ['any', 'bad_signature', 'http_4xx']);
    assert.ok((await optionsOf('Stage')).includes('verify'));

    await page.getByLabel('Stage', { exact: true }).selectOption('verify');
    await page.getByLabel('Source', { exact: true }).selectOption(NAMES.harbor);
    await page.getByLabel('Time range').selectOption({ label: 'last 15 min' });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await waitFor('the filter in the URL', () => (page.url().includes(`source=${NAMES.harbor}`) ? true : undefined), 5_000, 50);
    const letters = page.getByRole('table', { name: 'Dead letters' });
    await counts.getByRole('row').filter({ hasText: 'bad_signature' }).filter({ hasText: '2' }).waitFor();
    await waitFor(
      'the two harbor forgeries',
      async () => ((await letters.getByRole('link', { name: /^[0-9a-f-]{36}$/ }).count()) === 2 ? true : undefined),
      15_000,
      100,
    );
    // Newest first.
    assert.deepEqual(await letters.getByRole('link', { name: /^[0-9a-f-]{36}$/ }).allTextContents(), [newerForgery, olderForgery]);
    await shot(page, '32-dead-letters-filtered');
    await checkLayout(page, 'dead letters filtered');

    await page.getByRole('button', { name: 'Purge all matching' }).click();
    const dialog = page.getByRole('group', { name: 'Confirm the purge' });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /Delete 2 dead letters with stage "verify", source "harbor" from the last 15 min\?/);
    await shot(page, '33-dead-letters-purge-confirm');
    // Cancel keeps them; confirming deletes them.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await summary({ source: NAMES.harbor, stage: 'verify' })).total, 2);
    await page.getByRole('button', { name: 'Purge all matching' }).click();
    await page.getByRole('button', { name: 'Confirm purge' }).click();
    await page.getByRole('status').filter({ hasText: 'Purged 2 dead letters' }).waitFor();
    await letters.getByRole('cell', { name: 'No dead letters.' }).waitFor();
    await shot(page, '34-dead-letters-purged');
    // Only the filtered ones went: quay's forgery and the delivery's dead letter are left.
    const left = await summary({});
    assert.equal(left.total, 2);
    assert.deepEqual(left.byReason, { bad_signature: 1, http_4xx: 1 });
    const quay = JSON.parse((await api('ListDeadLetters', { filter: { source: NAMES.quay } })).body) as {
      deadLetters?: { eventId?: string }[];
    };
    assert.deepEqual(
      quay.deadLetters?.map((d) => d.eventId),
      [quayForgery],
    );
    await context.close();
  });

  it('browser: a viewer sees the dead-letter filters and counts but no purge or replay button', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, VIEWER);
    await page.goto(`${consoleUrl}/#/dead-letters`);
    await page.getByRole('table', { name: 'Counts by reason' }).waitFor();
    await page.getByLabel('Reason', { exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: /^Purge/ }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Replay/ }).count(), 0);
    await context.close();
  });
});
