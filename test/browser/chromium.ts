import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; `make test` installs it through `make setup-browser`). */
export const CHROMIUM = process.env.HS_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags for headless Chromium on a closed machine as root: no sandbox (root),
 * no GPU, and none of the background traffic to Google that this network
 * refuses (it would otherwise retry many connections at every start).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches headless Chromium (Playwright gives it a new empty profile); throws how to install it when missing (never skips). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`make setup-browser\` (apt-get install chromium) or set HS_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
