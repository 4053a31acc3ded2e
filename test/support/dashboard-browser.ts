import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The dashboard e2e specs' browser: the distribution's Chromium driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
// CI sets this: there a missing browser is a failure, not a skip.
const chromiumRequired = process.env.WORKGATE_NEEDS_CHROMIUM === '1';

/** `describe` when Chromium is there (or required), else `describe.skip` with a warning. */
export function describeInBrowser(name: string, fn: () => void): void {
  if (!haveChromium && !chromiumRequired) {
    console.warn(
      `${name}: SKIPPED, ${CHROMIUM} is missing (apt-get install -y chromium). ` +
        'Set WORKGATE_NEEDS_CHROMIUM=1 to make a missing browser fail the run.',
    );
    describe.skip(name, fn);
    return;
  }
  describe(name, fn);
}

export interface DashboardBrowser {
  context: BrowserContext;
  /** A fresh tab that records console errors, page errors and every request's URL. */
  openPage(): Promise<{ page: Page; errors: string[]; requests: string[] }>;
  /** Opens /dashboard, pastes the token, waits for the navigation to show. */
  signIn(page: Page, token: string): Promise<void>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, pointed at a gateway's dashboard. */
export async function launchDashboardBrowser(gatewayUrl: string): Promise<DashboardBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'wg-chromium-'));
  // A persistent context is how Playwright takes a user data dir (a fresh one per run).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 1400, height: 1000 },
    // The flags that work on these machines (ENVIRONMENT.md, "Browsers").
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async openPage() {
      // A new tab: sessionStorage (where the page keeps the token) starts empty.
      const page = await context.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
      });
      page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
      page.on('request', (req) => requests.push(req.url()));
      return { page, errors, requests };
    },
    async signIn(page, token) {
      await page.goto(`${gatewayUrl}/dashboard`);
      // /dashboard redirects to /dashboard/ so the page's relative URLs resolve.
      expect(new URL(page.url()).pathname).toBe('/dashboard/');
      await page.locator('#token').fill(token);
      await page.keyboard.press('Enter');
      await page.locator('#nav').waitFor({ state: 'visible' });
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The text of the first match, or null when there is none within a second. */
export const textOf = (page: Page, selector: string) =>
  page
    .locator(selector)
    .first()
    .textContent({ timeout: 1_000 })
    .catch(() => null);
