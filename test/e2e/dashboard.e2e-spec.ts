import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Page } from 'playwright-core';
import { z } from 'zod';
import { shortWorkId } from '@app/core';
import { defineWorkflow } from '@app/engine';
import { ApiTokenRepository } from '@app/ledger';
import {
  type DashboardBrowser,
  describeInBrowser,
  launchDashboardBrowser,
  textOf,
} from '@test/dashboard-browser';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '@test/env';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { REPO_ROOT } from '@test/paths';
import { spawnApp } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts');

/**
 * Run in the page on an element: selects its text and fires the copy event Ctrl+C
 * fires, answering what the page put on the clipboard (reading the real clipboard
 * needs a permission headless Chromium does not grant).
 */
function copyElementText(el: any): string {
  // Runs in the browser (Playwright sends its source): the page's globals, untyped here.
  const page = globalThis as any;
  const range = page.document.createRange();
  range.selectNodeContents(el);
  const selection = page.document.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  const data = new page.DataTransfer();
  el.dispatchEvent(
    new page.ClipboardEvent('copy', { clipboardData: data, bubbles: true, cancelable: true }),
  );
  return data.getData('text/plain');
}

const approval = defineWorkflow('dash-approval', async (ctx, input: { ref: string }) => {
  await ctx.step('prepare', () => ({ ref: input.ref }));
  const answer = await ctx.ask<string>({
    text: `ship ${input.ref}?`,
    expects: { enum: ['yes', 'no'] },
  });
  const done = await ctx.step('ship', () => `shipped:${answer}`);
  return { answer, done };
});

const greet = defineWorkflow(
  'dash-greet',
  async (ctx, input) => ctx.step('greet', () => `hello ${input.name}`),
  { input: z.object({ name: z.string().min(1) }), description: 'says hello' },
);

describeInBrowser('dashboard in headless Chromium', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let worker: TestWorker;
  let operator: string;
  let viewer: string;
  let browser: DashboardBrowser;
  const openPage = () => browser.openPage();
  const signIn = (page: Page, token: string) => browser.signIn(page, token);
  const text = textOf;

  beforeAll(async () => {
    db = await createTestSchema('dashboard');
    prefix = testQueuePrefix();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: { worker: { lease: '5s', reconcileEvery: '500ms', concurrency: 4 } },
    });
    gw = await startGateway(config);
    worker = await startWorker(config, [approval, greet]);
    operator = (await gw.app.get(ApiTokenRepository).create('ana', 'operator')).token;
    viewer = (await gw.app.get(ApiTokenRepository).create('vic', 'viewer')).token;
    browser = await launchDashboardBrowser(gw.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('lists the waiting work, opens it, answers it with confirmation and shows it COMPLETED', async () => {
    const ref = `deploy-${Date.now()}`;
    const workId = (await worker.control.start('dash-approval', { ref }, { actor: 'test' }))
      .workId!;
    await until(
      async () =>
        (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]
          ?.state === 'WAITING',
      `work ${workId} to wait for its answer`,
      15_000,
    );

    const { page, errors, requests } = await openPage();
    await signIn(page, operator);
    expect(await text(page, '#who')).toBe('ana · operator');

    // The live counts and the list both show the waiting work.
    await until(
      async () => (await text(page, '[data-state="WAITING"] .count-n')) === '1',
      'the WAITING count to show 1',
    );
    const row = page.locator(`tr[data-work-id="${workId}"]`);
    await row.waitFor({ state: 'visible' });
    expect(await row.locator('.badge').textContent()).toBe('WAITING');

    // The short id is the random tail of the UUIDv7 (the rule in libs/core), not the time
    // prefix every row shares; the full id is its tooltip, its link and what a copy takes.
    const idLink = row.locator('a.short-id');
    expect(await idLink.textContent()).toBe(shortWorkId(workId));
    expect(workId.replaceAll('-', '').endsWith(shortWorkId(workId))).toBe(true);
    expect(await idLink.getAttribute('title')).toBe(workId);
    expect(await idLink.getAttribute('href')).toBe(`#/works/${workId}`);
    expect(await idLink.evaluate(copyElementText)).toBe(workId);

    // `/` focuses the search; Enter filters by text in the input.
    await page.locator('h1').click();
    await page.keyboard.press('/');
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe(
      'search',
    );
    await page.keyboard.type(ref);
    await page.keyboard.press('Enter');
    await until(() => page.url().includes(`q=${ref}`), 'the search to land in the URL');
    // The URL change mounts a fresh view whose results arrive a moment later (the old
    // view's row can still be seen meanwhile): wait for the filtered table itself.
    const resultRows = page.locator('#works-results tbody tr');
    await until(
      async () =>
        (await resultRows.count()) === 1 &&
        (await resultRows.first().getAttribute('data-work-id')) === workId,
      'the filtered list to show the one work',
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-works.png') });

    // Open it: its wait says what it waits for.
    await page.locator(`a[href="#/works/${workId}"]`).click();
    await until(
      async () => (await text(page, '#work-state')) === 'WAITING',
      'the work page to show WAITING',
    );
    expect(await text(page, '#work-waits')).toContain('one of: "yes", "no"');
    expect(await text(page, '#work-id')).toBe(workId);
    expect(await page.title()).toBe(`dash-approval ${shortWorkId(workId)} · workgate`);
    // Started by the API, it never chatted: no conversation beside its steps.
    expect(await page.locator('#conversation-section').isHidden()).toBe(true);
    expect(await page.locator('button[data-action="resume"]').isDisabled()).toBe(true);

    // Answer it: the dialog asks for confirmation; Cancel sends nothing.
    await page.locator('button[data-action="signal"]').click();
    const dialog = page.locator('#confirm');
    await dialog.waitFor({ state: 'visible' });
    await page.locator('#confirm-cancel').click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await text(page, '#work-state')).toBe('WAITING');

    await page.locator('button[data-action="signal"]').click();
    await dialog.waitFor({ state: 'visible' });
    expect(await text(page, '#confirm-title')).toBe('Answer the open wait');
    await page.locator('#confirm .choice[data-choice=\'"yes"\']').click();
    expect(await page.locator('#signal-payload').inputValue()).toBe('"yes"');
    await page.locator('#confirm-ok').click();
    await dialog.waitFor({ state: 'hidden' });

    // Watch it run to the end on the page (the page polls every 2 s).
    await until(
      async () => (await text(page, '#work-state')) === 'COMPLETED',
      'the work page to show COMPLETED',
      20_000,
    );
    await until(
      async () => (await page.locator('#work-steps tr[data-seq="3"]').count()) === 1,
      'the ship step to appear',
    );
    const answer = page.locator('#work-timeline li[data-type="wait_satisfied"] .actor');
    expect(await answer.textContent()).toBe('token:ana');
    expect(await text(page, '#work-waits')).toContain('token:ana');
    expect(await text(page, '#work-steps')).toContain('ship');

    const [work] = await db.query<{ state: string; output: unknown }>(
      'SELECT state, output FROM "Work" WHERE id = $1',
      [workId],
    );
    expect(work).toEqual({ state: 'COMPLETED', output: { answer: 'yes', done: 'shipped:yes' } });

    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // Queues and leases, and cost, render from their endpoints.
    await page.locator('#nav a[data-section="queues"]').click();
    await page.locator('#queues tr[data-queue="work"]').waitFor({ state: 'visible' });
    expect(await page.locator('#queues tbody tr').count()).toBe(3);
    expect(await text(page, '#leases')).toContain('No work is running.');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-queues.png') });
    await page.locator('#nav a[data-section="cost"]').click();
    await page.locator('#cost-total').waitFor({ state: 'visible' });
    expect(await text(page, '#cost-days')).toContain('No model spend');

    expect(errors).toEqual([]);
    // No network beyond this gateway: no CDN fonts, scripts or telemetry.
    expect(requests.filter((url) => !url.startsWith(`${gw.url}/`))).toEqual([]);
    await page.close();
  }, 90_000);

  it('starts a work from the Start work form: a refused input names the field, a good one opens the work', async () => {
    const { page, errors } = await openPage();
    await signIn(page, operator);
    await page.locator('a[data-section="start"]').click();
    await page.locator('#start-kind option[value="dash-greet"]').waitFor({ state: 'attached' });
    await page.locator('#start-kind').selectOption('dash-greet');
    expect(await text(page, '#start-schema')).toContain('"name"');

    await page.locator('#start-input').fill('{"name": ""}');
    await page.locator('#start-submit').click();
    await page.locator('#start-error').waitFor({ state: 'visible' });
    expect(await text(page, '#start-error')).toContain('input.name');

    const key = `dash-${Date.now()}`;
    await page.locator('#start-input').fill('{"name": "dash"}');
    await page.locator('#start-key').fill(key);
    await page.locator('#start-submit').click();
    await until(() => /#\/works\/[0-9a-f-]{36}$/.test(page.url()), 'the page to open the new work');
    const workId = page.url().split('/').pop()!;
    await until(
      async () => (await text(page, '#work-state')) === 'COMPLETED',
      'the started work to show COMPLETED',
      20_000,
    );
    const [event] = await db.query<{ channel: string; externalId: string }>(
      'SELECT channel, "externalId" FROM "InboundEvent" WHERE "workId" = $1',
      [workId],
    );
    expect(event).toEqual({ channel: 'api', externalId: `api:${key}` });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-start.png') });
    expect(errors.filter((e) => !e.includes('400'))).toEqual([]);
    await page.close();
  });

  it('gives a viewer token a read-only page and refuses a bad token', async () => {
    const workId = (
      await worker.control.start('dash-approval', { ref: 'viewer' }, { actor: 'test' })
    ).workId!;
    const { page, errors } = await openPage();

    await page.goto(`${gw.url}/dashboard/`);
    await page.locator('#token').fill('wg_not-a-token');
    await page.keyboard.press('Enter');
    await until(
      async () => (await text(page, '.login .form-error')) === 'That token is unknown or revoked.',
      'the sign-in form to refuse the token',
    );

    await page.locator('#token').fill(viewer);
    await page.keyboard.press('Enter');
    await page.locator('#nav').waitFor({ state: 'visible' });
    await page.goto(`${gw.url}/dashboard/#/works/${workId}`);
    await until(
      async () => (await text(page, '#work-state')) === 'WAITING',
      'the work page to show WAITING',
      15_000,
    );
    for (const action of ['pause', 'resume', 'cancel', 'retry', 'rerun', 'signal'])
      expect(await page.locator(`button[data-action="${action}"]`).isDisabled()).toBe(true);
    expect(await text(page, '.toolbar')).toContain('Viewer token: read only.');

    // Signing out forgets the token (sessionStorage).
    await page.locator('#sign-out').click();
    await page.locator('#token').waitFor({ state: 'visible' });
    expect(await page.evaluate("sessionStorage.getItem('workgate.token')")).toBeNull();

    // The refused sign-in shows in the console as the browser's own 401 line; nothing else may.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await page.close();
  }, 60_000);
});

describe('dashboard files', () => {
  it('are served by the built gateway too (dist), with a strict content security policy', async () => {
    const db = await createTestSchema('dashboard_dist');
    const config = join(mkdtempSync(join(tmpdir(), 'wg-dash-')), 'workgate.config.yaml');
    writeFileSync(config, 'server:\n  port: 0\n');
    const prefix = testQueuePrefix();
    const gateway = spawnApp('gateway', {
      DATABASE_URL: TEST_DATABASE_URL,
      WORKGATE_DB_SCHEMA: db.schema,
      REDIS_URL: TEST_REDIS_URL,
      WORKGATE_QUEUE_PREFIX: prefix,
      WORKGATE_CONFIG: config,
      PORT: '0',
      HOST: '127.0.0.1',
    });
    try {
      const listening = await gateway.waitForLog((l) => l.msg === 'gateway listening', 'listening');
      const url = String(listening.url);
      const redirect = await fetch(`${url}/dashboard`, { redirect: 'manual' });
      expect(redirect.status).toBeGreaterThanOrEqual(301);
      expect(redirect.headers.get('location')).toBe('/dashboard/');
      const page = await fetch(`${url}/dashboard/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
      // Every module the page imports, followed from app.js: served as JavaScript (a
      // module script refuses any other type), under the same CSP, copied as written
      // (ES modules, not compiled to CommonJS by the build).
      const seen = new Set<string>();
      const pending = ['app.js'];
      for (let path = pending.pop(); path; path = pending.pop()) {
        if (seen.has(path)) continue;
        seen.add(path);
        const script = await fetch(`${url}/dashboard/${path}`);
        expect({ path, status: script.status }).toEqual({ path, status: 200 });
        expect(script.headers.get('content-type')).toMatch(
          /^text\/javascript|^application\/javascript/,
        );
        expect(script.headers.get('content-security-policy')).toContain("script-src 'self'");
        const source = await script.text();
        expect(source).not.toMatch(/\brequire\(|exports\./);
        for (const [, spec] of source.matchAll(/^import [^;]*? from '(\.[^']+)';$/gms))
          pending.push(new URL(spec!, `http://x/${path}`).pathname.slice(1));
      }
      expect([...seen].sort()).toEqual(
        expect.arrayContaining(['app.js', 'lib/api.js', 'views/work.js', 'views/conversation.js']),
      );
      expect(seen.size).toBeGreaterThanOrEqual(10);
      expect((await fetch(`${url}/dashboard/app.css`)).status).toBe(200);
      expect((await fetch(`${url}/dashboard/nope.js`)).status).toBe(404);
    } finally {
      await gateway.stop('SIGKILL');
      await deleteKeys(prefix);
      await db.drop();
    }
  }, 30_000);
});
