// What every console browser scenario does with a page and the stack behind
// it: call the console's JSON API, post a Stripe-signed webhook, sign in,
// save a screenshot, and check the layout. One copy for every test file.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { type HttpAnswer, httpRequest } from '@hookstream/testkit';
import type { Page } from 'playwright-core';
import Stripe from 'stripe';

/** Where screenshots go (test-artifacts/ is gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

/** POSTs `body` to the console's `/api/rpc/{method}` with `token`; resolves to the answer, whatever its status. */
export function consoleRpc(consoleUrl: string, token: string, method: string, body: unknown): Promise<HttpAnswer> {
  return httpRequest({
    port: Number(new URL(consoleUrl).port),
    path: `/api/rpc/${method}`,
    method: 'POST',
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
}

/** POSTs `body` to ingest's `source` with a Stripe signature made with `secret`; resolves to the answer, whatever its status. */
export function postStripeSigned(ingestPort: number, source: string, body: string, secret: string): Promise<HttpAnswer> {
  const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Math.floor(Date.now() / 1000) });
  return httpRequest({
    port: ingestPort,
    path: `/v1/webhooks/${source}`,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
  });
}

/** Signs in with `token` and waits for the overview. */
export async function signIn(page: Page, consoleUrl: string, token: string): Promise<void> {
  await page.goto(`${consoleUrl}/`);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
}

/** A full-page screenshot as `{ARTIFACTS}{name}.png`. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

/** No page-level horizontal scrolling, and every control has an accessible name. */
export async function checkLayout(page: Page, where: string): Promise<void> {
  // Page-side code as strings: the test's tsconfig has no DOM types.
  const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
    '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
  );
  assert.ok(scrollWidth <= innerWidth, `${where}: the page scrolls sideways (${scrollWidth} > ${innerWidth})`);
  const unnamed = await page.evaluate<string[]>(`(() => {
    const bad = [];
    for (const el of document.querySelectorAll('button, a[href], input, select, textarea')) {
      const field = el.tagName === 'INPUT' || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA';
      const named =
        (el.getAttribute('aria-label') || '').trim() !== '' ||
        (el.getAttribute('aria-labelledby') || '') !== '' ||
        (field && el.labels && el.labels.length > 0) ||
        (!field && (el.textContent || '').trim() !== '');
      if (!named) bad.push(el.outerHTML.slice(0, 120));
    }
    return bad;
  })()`);
  assert.deepEqual(unnamed, [], `${where}: controls without an accessible name`);
}
