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
import { ARTIFACTS, checkLayout, consoleRpc, postStripeSigned, shot, signIn as signInAs } from './console-page.ts';

// Screenshots of every step land here (gitignored; CI keeps the folder as the run's artifacts).
const TOKEN = 'browser-control-token-0123456789';
const OPERATOR = 'browser-operator-token-0123456789';
const VIEWER = 'browser-viewer-token-0123456789';
const STRIPE_SECRET = 'whsec_browser_secret';
const MASTER_KEY = randomBytes(32).toString('base64');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const ENDPOINT_SECRETS = [{ id: 'k1', value: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }];

/**
 * Each scenario owns a source, an endpoint subscribed to that source only and
 * the receiver behind it, so no test sees another's events, attempts or dead
 * letters and the tests pass in any order (or one at a time). Names are not
 * substrings of each other: the page is searched by text.
 */
const SCENARIOS = {
  replay: { source: 'shop', endpoint: 'orders' },
  operator: { source: 'desk', endpoint: 'ledger' },
  batch: { source: 'mart', endpoint: 'parcels' },
  phone: { source: 'kiosk', endpoint: 'mobile' },
  duplicate: { source: 'stall', endpoint: 'returns' },
  search: { source: 'bazaar', endpoint: 'invoices' },
  filters: { source: 'arcade', endpoint: 'tickets' },
  paging: { source: 'depot', endpoint: 'crates' },
} as const;
type ScenarioName = keyof typeof SCENARIOS;

describe('the web console in headless Chromium against a real stack', () => {
  let nats: NatsServer;
  let clickhouse: ClickHouseServer;
  let browser: Browser;
  /** Each scenario's receiver: 200 unless the test sets `respond`. */
  const receivers = {} as Record<ScenarioName, TestEndpoint>;
  let consoleUrl: string;
  let ingestPort: number;
  const services: ServiceProcess[] = [];
  let usersDir = '';

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [nats, clickhouse, browser] = await Promise.all([startNatsServer(), startClickHouse(), launchChromium()]);
    for (const name of Object.keys(SCENARIOS) as ScenarioName[]) receivers[name] = await startEndpoint();
    const base = { HS_NATS_URL: nats.url, HS_NAMESPACE: 'web', HS_MASTER_KEY: MASTER_KEY };
    const clickhouseEnv = { HS_CLICKHOUSE_URL: clickhouse.url, HS_CLICKHOUSE_DATABASE: 'web' };
    const consolePort = await freePort();
    usersDir = mkdtempSync(join(tmpdir(), 'hs-browser-'));
    const users = join(usersDir, 'users');
    writeFileSync(users, `olga operator ${tokenDigest(OPERATOR).toString('hex')}\nvera viewer ${tokenDigest(VIEWER).toString('hex')}\n`);
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
    // Configuration through the console's own API, as the page would call it, before the stages start (so they
    // all see it at once).
    for (const [name, { source, endpoint }] of Object.entries(SCENARIOS) as [ScenarioName, (typeof SCENARIOS)[ScenarioName]][]) {
      for (const [method, config] of [
        ['CreateSource', { id: source, provider: 'stripe', secrets: [{ id: 'k1', value: STRIPE_SECRET }] }],
        ['CreateEndpoint', { id: endpoint, url: receivers[name].url, sources: [source], secrets: ENDPOINT_SECRETS }],
      ] as const) {
        const r = await api(method, { configJson: JSON.stringify(config) });
        assert.equal(r.status, 200, `${method}: ${r.body}`);
      }
    }
    ingestPort = await freePort();
    services.push(await startService('ingest', { ...base, HS_INGEST_PORT: String(ingestPort), HS_INGEST_HOST: '127.0.0.1' }));
    for (const name of ['verify', 'dedup', 'validate', 'route']) services.push(await startService(name, base));
    services.push(await startService('deliver', { ...base, HS_DELIVER_ALLOW_CIDRS: '127.0.0.1/32' }));
    services.push(await startService('analytics', { ...base, ...clickhouseEnv, HS_ANALYTICS_BATCH_INTERVAL_MS: '1000' }));
  });

  after(async () => {
    await browser?.close();
    for (const s of services.reverse()) await s.stop();
    for (const r of Object.values(receivers)) await r.close();
    await nats?.stop();
    await clickhouse?.stop();
    if (usersDir !== '') rmSync(usersDir, { recursive: true, force: true });
  });

  /** Posts one Stripe-signed event to `source`, answers its event id once `receiver` got it (a 2xx or not). */
  async function deliveredEvent(source: string, receiver: TestEndpoint, body: string): Promise<string> {
    const posted = await postStripe(source, body, STRIPE_SECRET);
    assert.equal(posted.status, 202, posted.body);
    const id = (JSON.parse(posted.body) as { id: string }).id;
    await waitFor(
      `${id} at the receiver`,
      () => (receiver.received.some((r) => r.headers['webhook-id'] === id) ? true : undefined),
      30_000,
    );
    return id;
  }

  const api = (method: string, body: unknown) => consoleRpc(consoleUrl, TOKEN, method, body);

  /** POSTs `body` to `source` with a Stripe signature made with `secret`. */
  const postStripe = (source: string, body: string, secret: string) => postStripeSigned(ingestPort, source, body, secret);

  const signIn = (page: Page, token = TOKEN) => signInAs(page, consoleUrl, token);

  it('browser: a wrong token is refused and shows why; nothing is fetched without signing in', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${consoleUrl}/`);
    await page.getByRole('heading', { name: 'Sign in to hookstream' }).waitFor();
    await page.getByLabel('Access token').fill('not-the-token-0000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'token was not accepted' }).waitFor();
    await shot(page, '01-login-refused');
    await checkLayout(page, 'login');
    await context.close();
  });

  it('browser: sign in, see the endpoint fail, replay from the dead-letter list, see the delivery succeed', async () => {
    const receiver = receivers.replay;
    // The receiver refuses everything at first: 400 is permanent, so the task is dead-lettered after one attempt.
    receiver.respond = (_r, res) => {
      res.statusCode = 400;
      res.end('{"error":"customer_not_found"}');
    };
    // One Stripe-signed event; the receiver answers 400, so it is dead-lettered after one attempt.
    const body = '{"id":"evt_browser_1","type":"charge.succeeded","data":{"object":{"amount":1200}}}';
    const posted = await postStripe('shop', body, STRIPE_SECRET);
    assert.equal(posted.status, 202, posted.body);
    const eventId = (JSON.parse(posted.body) as { id: string }).id;
    await waitFor('the failed attempt', () => (receiver.received.length >= 1 ? true : undefined), 30_000);
    // Wait until the failure is in ClickHouse and the dead letter is stored, so the pages show them.
    await waitFor(
      'the failure in ClickHouse and the DLQ',
      async () => {
        const health = JSON.parse((await api('EndpointHealth', { endpoint: 'orders' })).body) as {
          endpoints?: { deadLetters?: number; lastFailure?: { status?: number } }[];
        };
        const e = health.endpoints?.[0];
        return e?.deadLetters === 1 && e.lastFailure?.status === 400 ? true : undefined;
      },
      30_000,
      250,
    );

    // And one forgery: verify rejects it (a row in ClickHouse's rejections, a dead letter of the source).
    const forged = await postStripe('shop', body, 'whsec_forger');
    assert.equal(forged.status, 202, 'verification is asynchronous for this source');
    await waitFor(
      'the rejection in ClickHouse',
      async () => {
        const health = JSON.parse((await api('SourceHealth', { source: 'shop' })).body) as { sources?: { rejected?: number }[] };
        return health.sources?.[0]?.rejected === 1 ? true : undefined;
      },
      30_000,
      250,
    );

    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page);
    const sources = page.getByRole('table', { name: 'Sources' });
    const shop = sources.getByRole('row').filter({ hasText: 'shop' });
    await shop.filter({ hasText: 'verify/bad_signature' }).waitFor();
    await shop.getByRole('link', { name: '1 dead letters from source shop' }).waitFor();
    const endpoints = page.getByRole('table', { name: 'Endpoints' });
    const row = endpoints.getByRole('row').filter({ has: page.getByRole('link', { name: 'orders' }) });
    await row.waitFor();
    await row.filter({ hasText: '400' }).waitFor();
    assert.match((await row.textContent()) ?? '', /Enabled/);
    assert.match((await row.textContent()) ?? '', /0(\.0)?\s*%/, 'success rate 0 %');
    await shot(page, '02-overview-failing');
    await checkLayout(page, 'overview');

    await row.getByRole('link', { name: 'orders' }).click();
    await page.getByRole('heading', { name: 'Endpoint orders', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Failed deliveries' }).waitFor();
    await page
      .getByRole('button', { name: /^Replay dead letter \d+$/ })
      .first()
      .waitFor();
    assert.match((await page.locator('main').textContent()) ?? '', /customer_not_found|http_4xx|400/);
    await shot(page, '03-endpoint-failures');
    await checkLayout(page, 'endpoint');

    // The receiver is fixed; replay from the dead-letter page.
    receiver.respond = (_r, res) => res.end('ok');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('heading', { name: 'Dead letters', level: 1 }).waitFor();
    const letters = page.getByRole('table', { name: 'Dead letters' });
    const letter = letters.getByRole('row').filter({ has: page.getByRole('link', { name: eventId }) });
    await letter.waitFor();
    await shot(page, '04-dead-letters');
    await checkLayout(page, 'dead letters');
    await letter.getByRole('button', { name: /^Replay dead letter \d+$/ }).click();
    await page.getByRole('status').filter({ hasText: 'Replayed 1 dead letter' }).waitFor();
    await waitFor('the replayed delivery', () => (receiver.received.length >= 2 ? true : undefined), 30_000);
    await letters.getByRole('link', { name: eventId }).waitFor({ state: 'detached' });
    await shot(page, '05-replayed');

    // The event's page shows the payload and both attempts: 400, then 200.
    await page.goto(`${consoleUrl}/#/events/${eventId}`);
    await page.getByRole('heading', { name: `Event ${eventId}`, level: 1 }).waitFor();
    assert.match((await page.locator('pre').first().textContent()) ?? '', /"evt_browser_1"/);
    const attempts = page.getByRole('table', { name: 'Delivery attempts' });
    await attempts
      .getByRole('row')
      .filter({ hasText: '200' })
      .filter({ hasText: /replay dlq-\d+/ })
      .waitFor({ timeout: 30_000 });
    await attempts.getByRole('row').filter({ hasText: '400' }).waitFor();
    await shot(page, '06-event-delivered');
    await checkLayout(page, 'event');
    await context.close();
  });

  it("browser: an operator replays one event and an endpoint's time range; a viewer sees no replay buttons", async () => {
    const { source, endpoint } = SCENARIOS.operator;
    const receiver = receivers.operator;
    // Its own event, delivered once, and a forgery of it (dead-lettered by verify) for the viewer's list.
    const body = '{"id":"evt_browser_operator","type":"charge.succeeded","data":{"object":{"amount":700}}}';
    const eventId = await deliveredEvent(source, receiver, body);
    const forged = await postStripe(source, body, 'whsec_forger');
    assert.equal(forged.status, 202, forged.body);
    const forgedId = (JSON.parse(forged.body) as { id: string }).id;
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, OPERATOR);
    await page.getByText('olga').waitFor();
    const before = receiver.received.length;
    await page.goto(`${consoleUrl}/#/events/${eventId}`);
    await page.getByRole('heading', { name: `Event ${eventId}`, level: 1 }).waitFor();
    await page.getByLabel('Endpoint').selectOption(endpoint);
    await page.getByRole('button', { name: 'Replay event' }).click();
    await page.getByRole('status').filter({ hasText: 'Replayed 1 event (0 skipped, 0 already replayed)' }).waitFor();
    await waitFor('the replayed event', () => (receiver.received.length === before + 1 ? true : undefined), 30_000);
    const okRows = page.getByRole('table', { name: 'Delivery attempts' }).getByRole('row').filter({ hasText: '200' });
    await waitFor('two successful attempts on the page', async () => ((await okRows.count()) === 2 ? true : undefined), 30_000, 250);
    await shot(page, '07-event-replayed-by-operator');

    // The range (the last hour) also holds the other scenarios' events, which this endpoint does not subscribe to.
    const listed = JSON.parse((await api('ListEvents', { sinceMs: Date.now() - 2 * 3_600_000, pageSize: 500 })).body) as {
      events?: { source?: string }[];
    };
    const others = (listed.events ?? []).filter((e) => e.source !== source).length;
    await page.goto(`${consoleUrl}/#/endpoints/${endpoint}`);
    await page.getByRole('heading', { name: `Endpoint ${endpoint}`, level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Replay time range' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: new RegExp(`^Replayed 1 event \\(${others} skipped`) })
      .waitFor();
    await waitFor('the time-range replay', () => (receiver.received.length === before + 2 ? true : undefined), 30_000);
    await shot(page, '08-endpoint-range-replayed');
    await context.close();

    const viewer = await browser.newContext({ viewport: DESKTOP });
    const view = await viewer.newPage();
    await signIn(view, VIEWER);
    await view.goto(`${consoleUrl}/#/dead-letters`);
    // The forged event's dead letter (verify) is listed, without replay buttons.
    const letters = view.getByRole('table', { name: 'Dead letters' });
    await letters
      .getByRole('row')
      .filter({ has: view.getByRole('link', { name: forgedId }) })
      .filter({ hasText: 'bad_signature' })
      .waitFor();
    assert.equal(await view.getByRole('button', { name: /^Replay/ }).count(), 0);
    await view.goto(`${consoleUrl}/#/events/${eventId}`);
    await view.getByRole('heading', { name: `Event ${eventId}`, level: 1 }).waitFor();
    await view.getByRole('table', { name: 'Delivery attempts' }).waitFor();
    assert.equal(await view.getByRole('button', { name: 'Replay event' }).count(), 0);
    await shot(view, '09-viewer-dead-letters');
    await viewer.close();
  });

  it('browser: an operator replays a filtered batch of dead letters after confirming', async () => {
    const { source, endpoint } = SCENARIOS.batch;
    const receiver = receivers.batch;
    // Two events fail permanently, so the endpoint has two dead letters.
    receiver.respond = (_r, res) => {
      res.statusCode = 422;
      res.end('{"error":"unprocessable"}');
    };
    const before = receiver.received.length;
    for (const n of [2, 3]) {
      const body = `{"id":"evt_browser_${n}","type":"charge.succeeded","data":{"object":{"amount":${n}00}}}`;
      assert.equal((await postStripe(source, body, STRIPE_SECRET)).status, 202);
    }
    await waitFor(
      `two dead letters of ${endpoint}`,
      async () => {
        const health = JSON.parse((await api('EndpointHealth', { endpoint })).body) as { endpoints?: { deadLetters?: number }[] };
        return health.endpoints?.[0]?.deadLetters === 2 ? true : undefined;
      },
      30_000,
      250,
    );
    receiver.respond = (_r, res) => res.end('ok');

    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, OPERATOR);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead letters' }).click();
    await page.getByLabel('Stage').selectOption('deliver');
    await page.getByLabel('Endpoint').selectOption(endpoint);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const letters = page.getByRole('table', { name: 'Dead letters' });
    await waitFor(
      'two rows',
      async () => ((await letters.getByRole('button', { name: /^Replay dead letter \d+$/ }).count()) === 2 ? true : undefined),
      15_000,
      100,
    );
    assert.match(page.url(), new RegExp(`endpoint=${endpoint}`));
    await page.getByRole('button', { name: 'Replay all matching' }).click();
    await shot(page, '10-batch-replay-confirm');
    await page.getByRole('button', { name: 'Confirm replay' }).click();
    await page.getByRole('status').filter({ hasText: 'Replayed 2 dead letters' }).waitFor();
    await waitFor('both replayed deliveries', () => (receiver.received.length === before + 4 ? true : undefined), 30_000);
    await letters
      .getByRole('button', { name: /^Replay dead letter \d+$/ })
      .first()
      .waitFor({ state: 'detached' });
    await shot(page, '11-batch-replayed');
    await context.close();
  });

  it('browser: the pages fit a phone-sized viewport', async () => {
    const { source, endpoint } = SCENARIOS.phone;
    const eventId = await deliveredEvent(
      source,
      receivers.phone,
      '{"id":"evt_browser_phone","type":"charge.succeeded","data":{"object":{"amount":900}}}',
    );
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await context.newPage();
    await signIn(page);
    await page.getByRole('table', { name: 'Endpoints' }).getByRole('link', { name: endpoint }).waitFor();
    await checkLayout(page, 'phone overview');
    await shot(page, '12-phone-overview');
    for (const [path, heading, name] of [
      ['#/events', 'Live events', '13-phone-live-events'],
      ['#/dead-letters', 'Dead letters', '14-phone-dead-letters'],
      [`#/events/${eventId}`, `Event ${eventId}`, '15-phone-event'],
      [`#/endpoints/${endpoint}`, `Endpoint ${endpoint}`, '16-phone-endpoint'],
    ] as const) {
      await page.goto(`${consoleUrl}/${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      await checkLayout(page, `phone ${heading}`);
      await shot(page, name);
    }
    await page.goto(`${consoleUrl}/#/events`);
    await page.getByRole('table', { name: 'Live events' }).getByRole('link', { name: eventId }).waitFor();
    await context.close();
  });

  it("browser: a duplicate's event page says what it duplicates and where that one is, and links to it", async () => {
    const { source } = SCENARIOS.duplicate;
    const receiver = receivers.duplicate;
    // Scenario: Stripe retries an event (same provider id, a new request); dedup drops the second copy.
    const body = '{"id":"evt_browser_dup","type":"charge.refunded","data":{"object":{"amount":5}}}';
    const idOf = (r: { body: string }): string => (JSON.parse(r.body) as { id: string }).id;
    const first = idOf(await postStripe(source, body, STRIPE_SECRET));
    await waitFor(
      'the first copy delivered',
      () => (receiver.received.some((r) => r.headers['webhook-id'] === first) ? true : undefined),
      30_000,
    );
    const second = idOf(await postStripe(source, body, STRIPE_SECRET));
    await waitFor(
      'the second copy noted as a duplicate',
      async () => {
        const r = await api('GetEvent', { eventId: second });
        return r.status === 200 && (JSON.parse(r.body) as { duplicateOf?: string }).duplicateOf === first ? true : undefined;
      },
      30_000,
      250,
    );
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page);
    await page.goto(`${consoleUrl}/#/events/${second}`);
    await page.getByRole('heading', { name: `Event ${second}`, level: 1 }).waitFor();
    const card = page.getByRole('region', { name: 'Duplicate' });
    await card.waitFor();
    assert.match(
      (await card.textContent()) ?? '',
      new RegExp(`Dropped by dedup as a duplicate of .*, which reached web\\.events\\.${source}\\.charge\\.refunded`),
    );
    assert.equal(await page.getByRole('table', { name: 'Delivery attempts' }).count(), 0);
    await shot(page, '17-duplicate-event');
    await checkLayout(page, 'duplicate event');
    await card.getByRole('link', { name: first }).click();
    await page.getByRole('heading', { name: `Event ${first}`, level: 1 }).waitFor();
    assert.match(
      (await page.locator('dl.figures').first().textContent()) ?? '',
      new RegExp(`Statusreached web\\.events\\.${source}\\.charge\\.refunded`),
    );
    await context.close();
  });

  it("browser: the header search finds a Stripe event by the provider's evt_ id: delivered per endpoint, and its duplicate", async () => {
    const { source, endpoint } = SCENARIOS.search;
    // Scenario: Stripe sends evt_browser_find twice; the operator only knows Stripe's id.
    const body = '{"id":"evt_browser_find","type":"invoice.paid","data":{"object":{"amount":7}}}';
    const first = await deliveredEvent(source, receivers.search, body);
    const second = (JSON.parse((await postStripe(source, body, STRIPE_SECRET)).body) as { id: string }).id;
    // Both indexed by dedup, and the first one's attempt recorded by analytics.
    await waitFor(
      'FindEvents to answer both, the first delivered',
      async () => {
        const r = await api('FindEvents', { text: 'evt_browser_find' });
        if (r.status !== 200) return undefined;
        const found = (JSON.parse(r.body) as { found?: { event?: { eventId?: string }; endpoints?: { state?: string }[] }[] }).found ?? [];
        const byId = new Map(found.map((f) => [f.event?.eventId, f]));
        return byId.has(second) && byId.get(first)?.endpoints?.[0]?.state === 'delivered' ? true : undefined;
      },
      30_000,
      250,
    );
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page, VIEWER);
    await page.getByLabel('Find an event by id, provider id or dead-letter sequence').fill('evt_browser_find');
    await page.getByRole('button', { name: 'Find', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Find an event', level: 1 }).waitFor();
    await page.getByRole('status').filter({ hasText: '2 webhooks found for evt_browser_find' }).waitFor();
    const deliveries = page.getByRole('table', { name: `Delivery of ${first} per endpoint` });
    await deliveries.waitFor();
    assert.match((await deliveries.getByRole('row').nth(1).textContent()) ?? '', new RegExp(`^${endpoint}Delivered1`));
    const duplicate = page.getByRole('region', { name: second });
    assert.match(
      (await duplicate.textContent()) ?? '',
      new RegExp(`Dropped by dedup as a duplicate of ${first}, which reached web\\.events\\.${source}\\.invoice\\.paid`),
    );
    await shot(page, '18-search');
    await checkLayout(page, 'search');
    // An id nothing knows: the page says so.
    await page.getByLabel('Event id, provider id or dead-letter sequence').fill('evt_browser_never');
    await page.getByRole('button', { name: 'Find', exact: true }).last().click();
    await page.getByRole('alert').filter({ hasText: 'nothing found for "evt_browser_never"' }).waitFor();
    await context.close();
  });

  it('browser: Live events honours #/events?source=…, filters by type and status, and the filters land in the URL', async () => {
    const { source } = SCENARIOS.filters;
    const ids: string[] = [];
    for (const [n, type] of ['charge.succeeded', 'charge.succeeded', 'charge.refunded'].entries()) {
      ids.push(await deliveredEvent(source, receivers.filters, JSON.stringify({ id: `evt_browser_filter_${n}`, type, data: {} })));
    }
    await waitFor(
      'every event shown as delivered',
      async () => {
        const r = await api('ListEvents', { source, newestFirst: true, status: 'delivered' });
        return r.status === 200 && ((JSON.parse(r.body) as { events?: unknown[] }).events ?? []).length === 3 ? true : undefined;
      },
      30_000,
      250,
    );
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page);
    await page.goto(`${consoleUrl}/#/events?source=${source}`);
    await page.getByRole('heading', { name: 'Live events', level: 1 }).waitFor();
    assert.equal(await page.getByLabel('Source').inputValue(), source);
    const table = page.getByRole('table', { name: 'Live events' });
    const rows = () => table.locator('tbody tr');
    await waitFor('three rows of the source', async () => ((await rows().count()) === 3 ? true : undefined), 10_000, 100);
    assert.deepEqual(await table.locator('tbody tr td:nth-child(2)').allTextContents(), [...ids].reverse());
    await page.getByLabel('Type').fill('charge.refunded');
    await page.getByLabel('Status').selectOption('delivered');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL((u) => u.hash === `#/events?source=${source}&type=charge.refunded&status=delivered`);
    await waitFor('one row', async () => ((await rows().count()) === 1 ? true : undefined), 10_000, 100);
    assert.match((await rows().first().textContent()) ?? '', new RegExp(`${ids[2]}${source}charge\\.refundeddelivered`));
    await shot(page, '19-events-filtered');
    await checkLayout(page, 'events filtered');
    await page.getByLabel('Status').selectOption('failing');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No events match these filters.').waitFor();
    await context.close();
  });

  it('browser: Live events pages newest first: Older shows the rest of a source, Newer goes back', async () => {
    const { source } = SCENARIOS.paging;
    // Scenario: 53 events of one source, 50 a page: the second page holds the 3 oldest.
    const ids: string[] = [];
    for (let n = 0; n < 53; n++) {
      const r = await postStripe(source, JSON.stringify({ id: `evt_browser_page_${n}`, type: 'crate.packed', data: {} }), STRIPE_SECRET);
      assert.equal(r.status, 202, r.body);
      ids.push((JSON.parse(r.body) as { id: string }).id);
    }
    await waitFor(
      'all 53 events stored',
      async () => {
        const r = await api('ListEvents', { source, newestFirst: true, pageSize: 500 });
        return r.status === 200 && ((JSON.parse(r.body) as { events?: unknown[] }).events ?? []).length === 53 ? true : undefined;
      },
      30_000,
      250,
    );
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await signIn(page);
    await page.goto(`${consoleUrl}/#/events?source=${source}`);
    const table = page.getByRole('table', { name: 'Live events' });
    const eventIds = () => table.locator('tbody tr td:nth-child(2)').allTextContents();
    await waitFor('the newest page', async () => ((await eventIds()).length === 50 ? true : undefined), 10_000, 100);
    // Stored order is the order ingest answered (one request at a time), so the page is the newest 50, newest first.
    assert.deepEqual(await eventIds(), ids.slice(3).reverse());
    await page.getByRole('button', { name: 'Older' }).click();
    await waitFor('the older page', async () => ((await eventIds()).length === 3 ? true : undefined), 10_000, 100);
    assert.deepEqual(await eventIds(), ids.slice(0, 3).reverse());
    assert.equal(await page.getByRole('button', { name: 'Older' }).isDisabled(), true, 'the oldest page is the last');
    await page.getByText('An older page: it does not refresh.').waitFor();
    await shot(page, '20-events-older-page');
    await page.getByRole('button', { name: 'Newer' }).click();
    await waitFor('back to the newest page', async () => ((await eventIds()).length === 50 ? true : undefined), 10_000, 100);
    assert.equal(await page.getByRole('button', { name: 'Newer' }).isDisabled(), true);
    await context.close();
  });
});
