import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tokenDigest } from '@hookstream/control';
import { type ClickHouseServer, freePort, type NatsServer, startClickHouse, startNatsServer, waitFor } from '@hookstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { type ServiceProcess, startService } from '../e2e/processes.ts';
import { launchChromium } from './chromium.ts';
import { ARTIFACTS, checkLayout, consoleRpc, postStripeSigned, shot, signIn as signInAs } from './console-page.ts';

// Screenshots land next to the console suite's (gitignored; CI keeps the folder as the run's artifacts).
const TOKEN = 'sources-control-token-0123456789';
const VIEWER = 'sources-viewer-token-0123456789';
const OPERATOR = 'sources-operator-token-0123456789';
const MASTER_KEY = randomBytes(32).toString('base64');
const DESKTOP = { width: 1280, height: 800 };
const NEW_SECRET = 'whsec_sources_new_secret';
const OLD_SECRET = 'whsec_sources_old_secret';

/**
 * Each scenario owns its sources, so the tests pass in any order (or one at a
 * time). Names are not substrings of each other: the page is searched by text.
 */
const SOURCES = { drift: 'atelier', missing: 'nowhere' } as const;

describe('the console source page in headless Chromium against a real stack', () => {
  let nats: NatsServer;
  let clickhouse: ClickHouseServer;
  let browser: Browser;
  let consoleUrl: string;
  let ingestPort: number;
  const services: ServiceProcess[] = [];
  let usersDir = '';
  /** When the old secret of SOURCES.drift stops being accepted. */
  const rotationEndsMs = Date.now() + 2 * 3_600_000;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [nats, clickhouse, browser] = await Promise.all([startNatsServer(), startClickHouse(), launchChromium()]);
    const base = { HS_NATS_URL: nats.url, HS_NAMESPACE: 'websrc', HS_MASTER_KEY: MASTER_KEY };
    const clickhouseEnv = { HS_CLICKHOUSE_URL: clickhouse.url, HS_CLICKHOUSE_DATABASE: 'websrc' };
    const consolePort = await freePort();
    usersDir = mkdtempSync(join(tmpdir(), 'hs-browser-sources-'));
    const users = join(usersDir, 'users');
    writeFileSync(users, `vera viewer ${tokenDigest(VIEWER).toString('hex')}\nolga operator ${tokenDigest(OPERATOR).toString('hex')}\n`);
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
    // A source in the middle of a rotation: the old secret until rotationEndsMs, the new one from now on.
    const source = {
      id: SOURCES.drift,
      provider: 'stripe',
      description: 'Orders from the atelier shop',
      secrets: [
        { id: 'old', value: OLD_SECRET, notAfterMs: rotationEndsMs },
        { id: 'new', value: NEW_SECRET },
      ],
    };
    const created = await api('CreateSource', { configJson: JSON.stringify(source) });
    assert.equal(created.status, 200, created.body);
    // The schema declares data.amount only; validate (additive, the default mode) reports anything else as drift.
    const schema = {
      type: 'object',
      required: ['id', 'type', 'data'],
      properties: {
        id: { type: 'string' },
        type: { type: 'string' },
        data: { type: 'object', properties: { amount: { type: 'number' } } },
      },
    };
    const schemaAnswer = await api('CreateSchema', {
      source: SOURCES.drift,
      eventType: 'order.created',
      schemaJson: JSON.stringify(schema),
    });
    assert.equal(schemaAnswer.status, 200, schemaAnswer.body);
    ingestPort = await freePort();
    services.push(await startService('ingest', { ...base, HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' }));
    for (const name of ['verify', 'dedup', 'validate', 'route']) services.push(await startService(name, base));
    services.push(await startService('analytics', { ...base, ...clickhouseEnv, HS_ANALYTICS_BATCH_INTERVAL_MS: '1000' }));
  });

  after(async () => {
    await browser?.close();
    for (const s of services.reverse()) await s.stop();
    await nats?.stop();
    await clickhouse?.stop();
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

  it('browser: a source page shows its redacted configuration, rotation window, figures, a rejection and the drift validate saw', async () => {
    const source = SOURCES.drift;
    // Scenario: one event signed with the new secret carries data.coupon (a string) that the schema does not
    // declare; one forgery is rejected by verify. Ingest accepted both (202): 2 received, 100 % accepted.
    const driftId = await postStripe(
      source,
      '{"id":"evt_atelier_1","type":"order.created","data":{"amount":5,"coupon":"SPRING"}}',
      NEW_SECRET,
    );
    const forgedId = await postStripe(source, '{"id":"evt_atelier_2","type":"order.created","data":{"amount":6}}', 'whsec_forger');
    await waitFor(
      'the drift and the rejection in ClickHouse',
      async () => {
        const drift = JSON.parse((await api('ListDrift', { source })).body) as { fields?: { path?: string }[] };
        const health = JSON.parse((await api('SourceHealth', { source })).body) as {
          sources?: { rejected?: number; received?: number }[];
        };
        const s = health.sources?.[0];
        return drift.fields?.some((f) => f.path === '$.data.coupon') && s?.rejected === 1 && s.received === 2 ? true : undefined;
      },
      30_000,
      250,
    );

    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, VIEWER);
    // From the overview's Sources table to the source's page.
    await page.getByRole('table', { name: 'Sources' }).getByRole('link', { name: source, exact: true }).click();
    await page.getByRole('heading', { name: `Source ${source}`, level: 1 }).waitFor();
    assert.match(page.url(), new RegExp(`#/sources/${source}$`));

    // Configuration: the secrets are redacted, the old one shows when its rotation window ends.
    await page.getByRole('heading', { name: 'Configuration' }).waitFor();
    const secrets = page.getByRole('table', { name: 'Secrets' });
    const oldRow = secrets.getByRole('row').filter({ hasText: 'old' });
    await oldRow.waitFor();
    assert.match((await oldRow.textContent()) ?? '', /\*\*\*.*always.*in (1|2) h.*active/);
    assert.match((await secrets.getByRole('row').filter({ hasText: 'new' }).textContent()) ?? '', /\*\*\*.*always.*no end.*active/);
    const text = (await page.locator('main').textContent()) ?? '';
    assert.equal(text.includes(NEW_SECRET) || text.includes(OLD_SECRET), false, 'no secret value on the page');
    assert.match(text, /Orders from the atelier shop/);

    // Figures and the rejection.
    const figure = (label: string) => page.locator('.figure').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) });
    await figure('Received')
      .filter({ hasText: /^Received2$/ })
      .waitFor();
    await figure('Acceptance rate')
      .filter({ hasText: /^Acceptance rate100 %$/ })
      .waitFor();
    const reasons = page.getByRole('table', { name: 'Rejections by reason' });
    await reasons.getByRole('row').filter({ hasText: 'verify/bad_signature' }).filter({ hasText: '1' }).waitFor();
    const rejections = page.getByRole('table', { name: 'Recent rejections' });
    await rejections
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: forgedId }) })
      .filter({ hasText: 'verify/bad_signature' })
      .waitFor();

    // Drift: the undeclared field with its type, count and the event that carried it.
    const drift = page.getByRole('table', { name: /^Undeclared fields/ });
    const row = drift.getByRole('row').filter({ hasText: '$.data.coupon' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /string.*order\.created.*1/);
    await row.getByRole('link', { name: driftId }).waitFor();
    assert.equal(await drift.getByRole('row').filter({ hasText: '$.data.amount' }).count(), 0, 'a declared field is not drift');
    await shot(page, '30-source-page');
    await checkLayout(page, 'source page');

    // Another window: the heading and the request follow the choice.
    await page.getByLabel('Time range').selectOption({ label: 'last 24 hours' });
    await page.getByRole('heading', { name: 'Figures, last 24 hours' }).waitFor();
    await reasons.getByRole('row').filter({ hasText: 'verify/bad_signature' }).waitFor();

    // The example event opens the search, which says where that webhook is.
    await row.getByRole('link', { name: driftId }).click();
    await page.getByRole('heading', { name: 'Find an event', level: 1 }).waitFor();
    await page.getByRole('heading', { level: 2, name: new RegExp(driftId) }).waitFor();
    await context.close();
  });

  it("browser: the overview's charts ask for the time range chosen above them", async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, VIEWER);
    await page.getByRole('heading', { name: 'Latency percentiles' }).waitFor();
    const sixHours = page.waitForRequest((r) => {
      if (!r.url().endsWith('/api/rpc/StatsSeries')) return false;
      const body = JSON.parse(r.postData() ?? '{}') as { sinceMs?: number; untilMs?: number };
      return (body.untilMs ?? 0) - (body.sinceMs ?? 0) === 6 * 3_600_000;
    });
    await page.getByLabel('Time range').selectOption({ label: 'last 6 hours' });
    await sixHours;
    assert.equal(await page.getByLabel('Time range').inputValue(), String(6 * 3_600_000));
    await checkLayout(page, 'overview with a chart range');
    await context.close();
  });

  it('browser: the page of a source that does not exist says so', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, OPERATOR);
    await page.goto(`${consoleUrl}/#/sources/${SOURCES.missing}`);
    await page.getByRole('heading', { name: `Source ${SOURCES.missing}`, level: 1 }).waitFor();
    await page
      .getByRole('alert')
      .filter({ hasText: `No source ${SOURCES.missing} is configured.` })
      .waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Schema drift' }).count(), 0);
    await shot(page, '31-source-missing');
    await context.close();
  });
});
