/**
 * The docs page in a real browser: Debian's Chromium, headless, driven by playwright-core, against
 * a real node. The page and everything it loads come from the node itself (no request leaves
 * 127.0.0.1, nothing breaks the page's Content-Security-Policy); Authorize takes HTTP Basic, a
 * Bearer token and the X-Tendril-Token header; Try it out / Execute on identities.json shows the
 * 200 and the JSON table.
 *
 * Without /usr/bin/chromium the test is skipped, except under CI (CI set), where it fails: .ci/run
 * installs chromium, so a missing browser there is a broken setup, not a reason to pass.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { failWithoutChromiumInCi, launchChromium, SKIP_WITHOUT_CHROMIUM } from '../helpers/browser.js';
import { cliOk } from '../helpers/cli.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

failWithoutChromiumInCi();

interface Run {
  readonly urls: string[];
  readonly problems: string[];
  readonly page: Page;
}

describe('docs page in headless Chromium', { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let tn: TestNode;
  let browser: Browser;
  let sid: string;
  /** The element id Swagger UI gives GET identities.json: `operations-TAG-OPERATIONID`. */
  let operation: string;

  before(async () => {
    tn = await startTestNode();
    sid = (await tn.node.keyring.add({ name: 'Alice', did: '5551234' })).sidHex;
    const doc = (await tn.request('GET', '/openapi.json')).json<{ paths: Record<string, Record<string, { operationId: string }>> }>();
    operation = `operations-keyring-${doc.paths['/restful/keyring/identities.json']!.get!.operationId}`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await tn?.destroy();
  });

  /** A fresh browser context on /docs, recording every request and every console error. */
  async function openDocs(): Promise<Run> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const urls: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('console', (m) => {
      // An HTTP error status the page asked for (the 401 below) is logged too; it is no fault.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded with a status of')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    // Anything not for this node is refused, so a stray fetch fails fast rather than hanging.
    await context.route(
      (url) => url.hostname !== '127.0.0.1' && url.protocol !== 'data:',
      (route) => route.abort(),
    );
    const response = await page.goto(`http://127.0.0.1:${tn.port}/docs`);
    assert.equal(response?.status(), 200);
    assert.match(response.headers()['content-security-policy'] ?? '', /default-src 'none'; script-src 'self'/);
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'Tendril REST API' }).waitFor();
    return { urls, problems, page };
  }

  /** Authorize dialog: fill one scheme's fields, apply, close. */
  async function authorize(page: Page, scheme: string, fill: Record<string, string>): Promise<void> {
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.waitFor();
    const form = dialog.locator('.auth-container').filter({ has: page.locator('h4 code', { hasText: scheme }) });
    for (const [selector, value] of Object.entries(fill)) await form.locator(selector).fill(value);
    await form.locator('button[aria-label="Apply credentials"]').click();
    await form.locator('h6', { hasText: 'Authorized' }).waitFor();
    await form.locator('button.btn-done').click();
    await dialog.waitFor({ state: 'detached' });
  }

  /** Expands GET identities.json and turns Try it out on (the page may have it on already). */
  async function expand(page: Page): Promise<void> {
    const block = page.locator(`#${operation}`);
    await block.locator('.opblock-summary-control').click();
    const tryOut = block.locator('button.try-out__btn');
    if ((await tryOut.textContent())?.trim() === 'Try it out') await tryOut.click();
    await block.locator('button.execute').waitFor();
  }

  /** Execute: returns the status, body and curl line the page shows. */
  async function execute(page: Page): Promise<{ status: string; body: string; curl: string }> {
    const block = page.locator(`#${operation}`);
    // Clear a previous response first, so what is read below is this execution's.
    const clear = block.locator('button.btn-clear');
    if ((await clear.count()) > 0) await clear.click();
    await block.locator('button.execute').click();
    const live = block.locator('.live-responses-table');
    const status = live.locator('tbody .response-col_status').first();
    await status.waitFor();
    const body = live.locator('.response-col_description pre').first();
    await body.waitFor();
    return {
      status: (await status.textContent())?.trim() ?? '',
      body: (await body.textContent()) ?? '',
      curl: (await block.locator('.curl-command').textContent()) ?? '',
    };
  }

  function assertLocal(run: Run): void {
    assert.ok(run.urls.length > 3, `the page loaded its assets: ${run.urls.join(', ')}`);
    const away = run.urls.filter((u) => !u.startsWith(`http://127.0.0.1:${tn.port}/`) && !u.startsWith('data:'));
    assert.deepEqual(away, [], 'no request leaves 127.0.0.1');
    assert.deepEqual(run.problems, [], 'no console errors (a CSP violation would be one)');
  }

  function assertIdentities(shown: { status: string; body: string }): void {
    assert.equal(shown.status, '200');
    const table = JSON.parse(shown.body) as { header: string[]; rows: unknown[][] };
    assert.deepEqual(table.header, ['sid', 'identity', 'did', 'name']);
    assert.equal(table.rows.length, 1);
    assert.equal(table.rows[0]![0], sid);
    assert.equal(table.rows[0]![3], 'Alice');
  }

  it('loads only local assets, authorizes with HTTP Basic and executes identities.json', async () => {
    const run = await openDocs();
    await authorize(run.page, 'basicAuth', { '#auth-basic-username': 'harry', '#auth-basic-password': 'potter' });
    await expand(run.page);
    const shown = await execute(run.page);
    assertIdentities(shown);
    assert.match(shown.curl, /Authorization: Basic aGFycnk6cG90dGVy/);
    assertLocal(run);
    await run.page.context().close();
  });

  it('authorizes with a Bearer token from `tendril web generate-token`', async () => {
    const token = (await cliOk(tn.paths.root, ['web', 'generate-token', '--name', 'docs-browser'])).trim();
    assert.match(token, /^tdk1_/);
    const run = await openDocs();
    await authorize(run.page, 'bearerAuth', { '#auth-bearer-value': token });
    await expand(run.page);
    const shown = await execute(run.page);
    assertIdentities(shown);
    assert.match(shown.curl, /Authorization: Bearer tdk1_/);
    assertLocal(run);
    await run.page.context().close();
  });

  it('authorizes with the X-Tendril-Token header, and without credentials shows the 401', async () => {
    const run = await openDocs();
    await expand(run.page);
    const anonymous = await execute(run.page);
    assert.equal(anonymous.status, '401');
    const token = (await tn.node.tokens.generate({ name: 'docs-header' })).token;
    await authorize(run.page, 'tokenHeader', { '#api_key_value': token });
    const shown = await execute(run.page);
    assertIdentities(shown);
    assert.match(shown.curl, /X-Tendril-Token: tdk1_/);
    assertLocal(run);
    await run.page.context().close();
  });
});
