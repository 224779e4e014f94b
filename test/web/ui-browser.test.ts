/**
 * The web UI in a real browser: Debian's Chromium, headless, driven by playwright-core, against a
 * real node, as a person would use it (elements found by their role and label). It signs in with a
 * user and with a token; adds an identity, sets its DID and name, locks it and unlocks it with its
 * PIN; uploads a 20 MB file watching the progress bar, finds it, reads its manifest and downloads
 * it byte-identical; sends a MeshMS message in one chat view and sees it appear live in the other
 * without a reload; posts to and follows MeshMB feeds; creates a token (shown once) and revokes
 * it; watches a real peer node (another process) appear on the sync page with the bundle that
 * crossed, and go when it is removed. Every request any page makes is recorded and must stay on
 * loopback (anything else is also refused, so it fails fast), and no page may log an error (a CSP
 * violation would be one).
 *
 * A screenshot of each page, at laptop and at phone width, is written to test-artifacts/ui/
 * (git-ignored). Without /usr/bin/chromium the test is skipped, except under CI, where it fails.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { ensureUiBuilt } from '../../scripts/build-ui.js';
import { failWithoutChromiumInCi, launchChromium, SKIP_WITHOUT_CHROMIUM } from '../helpers/browser.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { insert } from '../helpers/rhizome.js';
import { startSyncNode } from '../helpers/sync.js';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'ui');

failWithoutChromiumInCi();

const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PAGES = ['dashboard', 'identities', 'bundles', 'messages', 'feeds', 'tokens', 'sync'];
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A browser context that records every request and refuses any that would leave loopback. */
interface Tab {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly requests: string[];
  readonly problems: string[];
}

const isLoopback = (url: URL): boolean => url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
/** URLs a page makes for itself, which never reach a network. */
const isLocalScheme = (url: string): boolean => url.startsWith('data:') || url.startsWith('blob:');

describe('web UI in headless Chromium', { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let tn: TestNode;
  let browser: Browser;
  let base: string;
  const tabs: Tab[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'tendril-ui-browser-'));

  before(async () => {
    await ensureUiBuilt();
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    tn = await startTestNode();
    base = `http://127.0.0.1:${tn.port}`;
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await tn?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function open(viewport = LAPTOP): Promise<Tab> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const tab: Tab = { context, page, requests: [], problems: [] };
    context.on('request', (r) => tab.requests.push(r.url()));
    page.on('console', (m) => {
      // An HTTP error status the page asked for (a 401 while signing in, the 404 of a node without sync) is logged too: no fault.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded with a status of')) tab.problems.push(m.text());
    });
    page.on('pageerror', (e) => tab.problems.push(e.message));
    await context.route(
      (url) => !isLoopback(url) && !isLocalScheme(url.href),
      (route) => route.abort(),
    );
    tabs.push(tab);
    return tab;
  }

  /** Every request of every tab stayed on this node, and no page logged an error. */
  function assertClean(tab: Tab, at = base): void {
    assert.ok(tab.requests.length > 0);
    const away = tab.requests.filter((u) => !u.startsWith(`${at}/`) && !isLocalScheme(u));
    assert.deepEqual(away, [], 'no request leaves loopback');
    assert.deepEqual(tab.problems, [], 'no console errors');
  }

  async function signIn(page: Page, who: { user: string; password: string } | { token: string }, path = '#/', at = base): Promise<void> {
    await page.goto(`${at}/ui/${path}`);
    if ('token' in who) {
      await page.getByRole('radio', { name: 'API token' }).check();
      await page.getByRole('textbox', { name: 'Token' }).fill(who.token);
    } else {
      await page.getByRole('textbox', { name: 'User name' }).fill(who.user);
      await page.getByLabel('Password', { exact: true }).fill(who.password);
    }
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  const HARRY = { user: 'harry', password: 'potter' };

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  it('loads only from loopback, signs in with a user, shows the node live, and keeps the sign-in for the session only', async () => {
    const tab = await open();
    const { page } = tab;
    const response = await page.goto(`${base}/`);
    assert.equal(page.url(), `${base}/ui/`, '/ leads to /ui/');
    assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'none'; script-src 'self'/);
    const form = page.getByRole('form', { name: 'Sign in to Tendril' });
    await form.waitFor();
    await shot(page, 'signin');

    await page.getByRole('textbox', { name: 'User name' }).fill('harry');
    await page.getByLabel('Password', { exact: true }).fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'The node refused these credentials.' }).waitFor();

    await page.getByLabel('Password', { exact: true }).fill('potter');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const bundles = page.locator('.figure').filter({ hasText: 'Bundles' }).locator('dd');
    await assertText(bundles, '0');
    // A bundle stored behind the page's back shows up without a reload.
    assert.equal((await tn.request('POST', '/restful/keyring/add?name=Seed')).status, 201);
    await insertText(tn, 'note.txt', 'hello');
    await assertText(bundles, '1');
    await page.getByRole('img', { name: /^Bundles, last \d+ readings$/ }).waitFor();
    await shot(page, 'dashboard');

    // A reload keeps the session; a new browser session must sign in again.
    await page.reload();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    assert.equal(await page.evaluate('localStorage.length'), 0, 'nothing kept beyond the session');
    const other = await open();
    await other.page.goto(`${base}/ui/`);
    await other.page.getByRole('form', { name: 'Sign in to Tendril' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await form.waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0, 'signing out forgets the credentials');
    assertClean(tab);
    assertClean(other);
  });

  it('signs in with an API token; a read-only one may look but not change', async () => {
    const { token } = await tn.node.tokens.generate({ name: 'ui-reader', readOnly: true });
    const tab = await open();
    await signIn(tab.page, { token }, '#/identities');
    await tab.page.getByText('Signed in: API token').waitFor();
    await tab.page.getByRole('table', { name: 'Unlocked identities' }).getByText('Seed').waitFor();
    await tab.page.getByRole('textbox', { name: 'Name' }).fill('Nobody');
    await tab.page.getByRole('button', { name: 'Add identity' }).click();
    await tab.page.getByRole('alert').filter({ hasText: 'read-only' }).waitFor();
    await tab.page.goto(`${base}/ui/#/tokens`);
    await tab.page.getByRole('alert').filter({ hasText: 'API tokens are managed by users of the node' }).first().waitFor();
    assertClean(tab);
  });

  it('adds an identity, sets its DID and name, locks it and unlocks it with its PIN', async () => {
    const tab = await open();
    const { page } = tab;
    await signIn(page, HARRY, '#/identities');
    const add = page.getByRole('region', { name: 'Add an identity' });
    await add.getByRole('textbox', { name: 'Name' }).fill('Alice');
    await add.getByRole('textbox', { name: 'DID (phone number)' }).fill('5550001');
    await add.getByLabel('PIN (optional)').fill('1234');
    await add.getByRole('button', { name: 'Add identity' }).click();
    await add.getByRole('status').filter({ hasText: 'Added Alice, protected by its PIN.' }).waitFor();
    const table = page.getByRole('table', { name: 'Unlocked identities' });
    await table.getByRole('row').filter({ hasText: 'Alice' }).filter({ hasText: '5550001' }).waitFor();

    await table.getByRole('button', { name: 'Edit Alice' }).click();
    const edit = page.getByRole('form', { name: 'Edit Alice' });
    await edit.getByRole('textbox', { name: 'Name' }).fill('Alice Liddell');
    await edit.getByRole('textbox', { name: 'DID' }).fill('5550002');
    await edit.getByRole('button', { name: 'Save' }).click();
    await table.getByRole('row').filter({ hasText: 'Alice Liddell' }).filter({ hasText: '5550002' }).waitFor();
    const alice = tn.node.keyring.list().find((i) => i.name === 'Alice Liddell');
    assert.equal(alice?.did, '5550002');

    await table.getByRole('button', { name: 'Lock Alice Liddell' }).click();
    await page.getByRole('status').filter({ hasText: 'Locked Alice Liddell' }).waitFor();
    await table.getByRole('row').filter({ hasText: 'Alice Liddell' }).waitFor({ state: 'detached' });

    const unlock = page.getByRole('region', { name: 'Unlock with a PIN' });
    await unlock.getByLabel('PIN').fill('1234');
    await unlock.getByRole('button', { name: 'Unlock' }).click();
    await unlock.getByRole('status').filter({ hasText: 'Unlocked 1 identity.' }).waitFor();
    await table.getByRole('row').filter({ hasText: 'Alice Liddell' }).waitFor();
    await shot(page, 'identities');
    assertClean(tab);
  });

  it('uploads a 20 MB file watching the progress bar, finds it, shows its manifest and downloads it byte-identical', async () => {
    const payload = randomBytes(20 * 1024 * 1024);
    const file = join(scratch, 'big.bin');
    writeFileSync(file, payload);
    const tab = await open();
    const { page } = tab;
    await signIn(page, HARRY, '#/bundles');
    // On loopback 20 MB would go up in a blink: hold the upload to 40 MB/s so the bar has steps to show.
    const cdp = await tab.context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 40 * 1024 * 1024 });
    // Every value the bar takes, as the page sets it (browser code, as text: this file is typed for Node).
    await page.evaluate(`{
      const seen = (window.progressSeen = []);
      new MutationObserver(() => {
        const bar = document.querySelector('progress[aria-label="Upload progress"]');
        if (bar !== null && seen.at(-1) !== bar.value) seen.push(bar.value);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    }`);

    const upload = page.getByRole('region', { name: 'Upload a file' });
    await upload.getByLabel('File').setInputFiles(file);
    assert.equal(await upload.getByRole('textbox', { name: 'Bundle name' }).inputValue(), 'big.bin');
    await upload.getByRole('button', { name: 'Upload' }).click();
    const bar = upload.getByRole('progressbar', { name: 'Upload progress' });
    await page.waitForFunction(() => {
      // Runs in the page (a function, not text: the page's CSP forbids eval).
      const { document } = globalThis as unknown as { document: { querySelector(s: string): { value: number; max: number } | null } };
      const b = document.querySelector('progress[aria-label="Upload progress"]');
      return b !== null && b.value > 0 && b.value < b.max;
    });
    await shot(page, 'bundles-uploading');
    await upload.getByRole('status').filter({ hasText: /^Stored: bundle/ }).waitFor({ timeout: 60_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const seen = await page.evaluate<number[]>('window.progressSeen');
    const max = Number(await bar.getAttribute('max'));
    assert.ok(max > payload.length, `the bar counts the whole form (${max} bytes)`);
    assert.ok(seen.some((v) => v > 0 && v < max), `the bar moved through the upload: ${seen.join(', ')}`);
    assert.deepEqual([...seen].sort((a, b) => a - b), seen, 'it only went forward');
    assert.equal(seen.at(-1), max, 'and ended full');
    await upload.getByText('100 % — 20 MiB of 20 MiB').waitFor();

    // Find it, among others.
    await insertText(tn, 'other.txt', 'not this one');
    const search = page.getByRole('search');
    await search.getByRole('searchbox', { name: 'Name contains' }).fill('big');
    await search.getByRole('button', { name: 'Search' }).click();
    const table = page.getByRole('table', { name: 'Bundles' });
    await page.getByText('1 bundle.').waitFor();
    const row = table.getByRole('row').filter({ hasText: 'big.bin' });
    await row.getByText('20 MiB').waitFor();
    await search.getByRole('searchbox', { name: 'Name contains' }).fill('no such name');
    await search.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No bundle matches.').waitFor();
    await search.getByRole('searchbox', { name: 'Name contains' }).fill('');
    await search.getByLabel('Service').fill('file');
    await search.getByRole('button', { name: 'Search' }).click();
    await table.getByRole('row').filter({ hasText: 'other.txt' }).waitFor();

    await table.getByRole('button', { name: 'Manifest of big.bin' }).click();
    const manifest = page.getByLabel('Manifest text');
    await manifest.getByText('filesize=20971520').waitFor();
    const text = (await manifest.textContent()) ?? '';
    assert.match(text, /^service=file$/m);
    assert.match(text, /^name=big\.bin$/m);
    assert.match(text, new RegExp(`^filehash=${createHash('sha512').update(payload).digest('hex')}$`, 'mi'));

    const [download] = await Promise.all([page.waitForEvent('download'), table.getByRole('button', { name: 'Download big.bin' }).click()]);
    assert.equal(download.suggestedFilename(), 'big.bin');
    const saved = join(scratch, 'downloaded.bin');
    await download.saveAs(saved);
    const got = readFileSync(saved);
    assert.equal(got.length, payload.length);
    assert.equal(sha256(got), sha256(payload), 'byte-identical');
    await shot(page, 'bundles');
    assertClean(tab);
  });

  it('shows a MeshMS message sent in one chat view live in the other, without reloading', async () => {
    const ann = await tn.node.keyring.add({ name: 'Ann' });
    const ben = await tn.node.keyring.add({ name: 'Ben' });
    const a = await open();
    const b = await open();
    await signIn(a.page, HARRY, `#/messages/${ann.sidHex}/${ben.sidHex}`);
    await signIn(b.page, HARRY, `#/messages/${ben.sidHex}/${ann.sidHex}`);
    for (const tab of [a, b]) {
      await tab.page.getByRole('heading', { name: /^Conversation with / }).waitFor();
      await tab.page.getByText('No message yet: say hello.').waitFor();
    }
    // Anything that reloaded the page would lose this, and count a navigation.
    await a.page.evaluate('window.stillHere = true');
    let navigations = 0;
    a.page.on('framenavigated', (frame) => {
      if (frame === a.page.mainFrame()) navigations++;
    });

    await b.page.getByRole('textbox', { name: 'Message' }).fill('Hello Ann, from Ben');
    await b.page.getByRole('button', { name: 'Send' }).click();
    await b.page.getByRole('log', { name: 'Messages' }).getByText('Hello Ann, from Ben').waitFor();
    await a.page.getByRole('log', { name: 'Messages' }).getByText('Hello Ann, from Ben').waitFor();
    // And back, sent with the Enter key.
    await a.page.getByRole('textbox', { name: 'Message' }).fill('Hi Ben!');
    await a.page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await b.page.getByRole('log', { name: 'Messages' }).getByText('Hi Ben!').waitFor();
    // The conversation list of the one who received first names the other.
    await a.page.getByRole('list', { name: 'Conversations' }).getByRole('link', { name: /Ben/ }).waitFor();

    assert.equal(await a.page.evaluate('window.stillHere'), true, 'the page was not reloaded');
    assert.equal(navigations, 0, 'no navigation');
    const stored = await tn.request('GET', `/restful/meshms/${ann.sidHex}/${ben.sidHex}/messagelist.json`);
    assert.deepEqual(
      stored.json<{ rows: unknown[][] }>().rows.filter((r) => r[0] !== 'ACK').map((r) => [r[0], r[6]]),
      [['>', 'Hi Ben!'], ['<', 'Hello Ann, from Ben']],
    );
    await shot(a.page, 'messages');
    assertClean(a);
    assertClean(b);
  });

  it('posts to a MeshMB feed, follows another feed and sees its posts arrive in the activity', async () => {
    const cleo = await tn.node.keyring.add({ name: 'Cleo' });
    const dan = await tn.node.keyring.add({ name: 'Dan' });
    const tab = await open();
    const { page } = tab;
    await signIn(page, HARRY, `#/feeds/${cleo.signingIdHex}`);
    const post = page.getByRole('region', { name: 'Post', exact: true });
    await post.getByRole('textbox', { name: 'Message' }).fill('Cleo’s first post');
    await post.getByRole('button', { name: 'Post' }).click();
    await page.getByRole('list', { name: 'Your posts' }).getByText('Cleo’s first post').waitFor();

    const follow = page.getByRole('region', { name: 'Follow a feed' });
    await follow.getByRole('textbox', { name: 'Feed ID (a Signing ID)' }).fill(dan.signingIdHex);
    await follow.getByRole('textbox', { name: 'Show it as (optional)' }).fill('Dan');
    await follow.getByRole('button', { name: 'Follow' }).click();
    await follow.getByRole('status').filter({ hasText: 'Following.' }).waitFor();
    await page.getByRole('table', { name: 'Followed feeds' }).getByText('Dan').waitFor();
    // Dan posts elsewhere; it shows up in Cleo's activity as it arrives.
    await sendFeedMessage(tn, dan.signingIdHex, 'Dan says hi');
    await page.getByRole('list', { name: 'Activity' }).getByText('Dan says hi').waitFor();
    await shot(page, 'feeds');
    assertClean(tab);
  });

  it('creates a token, shows it once, and revokes it', async () => {
    const tab = await open();
    const { page } = tab;
    await signIn(page, HARRY, '#/tokens');
    const create = page.getByRole('region', { name: 'Create a token' });
    await create.getByRole('textbox', { name: 'Token name' }).fill('ci-token');
    await create.getByLabel('Expires after').selectOption({ label: '30 days' });
    await create.getByRole('checkbox', { name: 'Read-only' }).check();
    await create.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByLabel('Token secret');
    await secret.waitFor();
    const token = ((await secret.textContent()) ?? '').trim();
    assert.match(token, /^tdk1_[A-Za-z0-9_-]{43}$/);
    const table = page.getByRole('table', { name: 'Tokens' });
    const row = table.getByRole('row').filter({ hasText: 'ci-token' });
    await row.getByText('read-only').waitFor();
    await shot(page, 'tokens');

    const asToken = { auth: `Bearer ${token}` };
    assert.equal((await tn.request('GET', '/restful/keyring/identities.json', asToken)).status, 200);
    assert.equal((await tn.request('POST', '/restful/keyring/add', asToken)).status, 403, 'read-only as asked');
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    await secret.waitFor({ state: 'detached' });
    await page.reload();
    await row.waitFor();
    assert.ok(!(await page.content()).includes(token), 'the secret is not shown again');

    page.once('dialog', (dialog) => void dialog.accept());
    await table.getByRole('button', { name: 'Revoke ci-token' }).click();
    await page.getByRole('status').filter({ hasText: 'Revoked ci-token.' }).waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal((await tn.request('GET', '/restful/keyring/identities.json', asToken)).status, 401, 'revoked at once');
    assertClean(tab);
  });

  it('has a place for sync peers, and every page fits a phone', async () => {
    const tab = await open();
    await signIn(tab.page, HARRY, '#/sync');
    await tab.page.getByText('No peer yet.').waitFor();
    await shot(tab.page, 'sync');
    const phone = await open(PHONE);
    await signIn(phone.page, HARRY);
    for (const name of PAGES) {
      await phone.page.goto(`${base}/ui/#/${name === 'dashboard' ? '' : name}`);
      await phone.page.getByRole('heading', { level: 1 }).waitFor();
      await phone.page.getByRole('link', { name: name[0]!.toUpperCase() + name.slice(1), exact: true }).and(phone.page.locator('[aria-current="page"]')).waitFor();
      const overflow = await phone.page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(overflow <= 0, `${name} fits ${PHONE.width} px (${overflow} px too wide)`);
      await shot(phone.page, `phone-${name}`);
    }
    assertClean(tab);
    assertClean(phone);
  });

  it('shows a real peer node: its row appears, counts the bundle that crossed, and goes when the peer is removed', async () => {
    // Two nodes in their own processes, A dialling B; the page is A's.
    const [a, b] = await Promise.all([startSyncNode('a'), startSyncNode('b')]);
    try {
      const at = `http://127.0.0.1:${a.apiPort}`;
      const tab = await open();
      const { page } = tab;
      await signIn(page, HARRY, '#/sync', at);
      await page.getByText('No peer yet.').waitFor();
      await page.getByText('tendril sync peer add URL --token-file FILE', { exact: false }).waitFor();
      await a.addPeer('b', b);
      const stored = await insert(b.api, { manifest: 'service=file\nname=to-a.bin\n', payload: randomBytes(2048) });
      assert.equal(stored.status, 201, stored.text);
      const row = page.getByRole('table', { name: 'Sync peers' }).getByRole('row').filter({ hasText: b.meshUrl });
      await row.filter({ hasText: 'in sync' }).filter({ hasText: 'configured' }).waitFor({ timeout: 60_000 });
      await assertText(row.getByRole('cell').nth(4), '1 / 0');
      await assertText(row.getByRole('cell').nth(5), '2.0 KiB / 0 B');
      await assertText(row.getByRole('cell').nth(6), 'none');
      const [peer] = (await a.peers()).filter((p) => p.address === b.meshUrl);
      assert.ok(peer?.node);
      await row.getByLabel(`Node id ${peer.node}`).waitFor();
      await page.locator('.figure').filter({ hasText: 'Links up' }).filter({ hasText: '1 / 1' }).waitFor();
      await shot(page, 'sync-peer');
      a.removePeer('b');
      await row.waitFor({ state: 'detached', timeout: 60_000 });
      await page.getByText('No peer yet.').waitFor();
      assertClean(tab, at);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });

});

/** Waits until `locator` reads exactly `text`. */
async function assertText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: new RegExp(`^${text}$`) }).waitFor();
}

/** Stores a small file bundle through the REST API, as another client would. */
async function insertText(tn: TestNode, name: string, text: string): Promise<void> {
  const boundary = 'tendril-test-boundary';
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="manifest"\r\nContent-Type: rhizome/manifest; format=text+binarysig\r\n\r\nservice=file\nname=${name}\n\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="payload"; filename="${name}"\r\n\r\n${text}\r\n--${boundary}--\r\n`;
  const reply = await tn.request('POST', '/restful/rhizome/insert', { headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body });
  assert.equal(reply.status, 201, reply.text);
}

/** Posts to a MeshMB feed through the REST API. */
async function sendFeedMessage(tn: TestNode, id: string, text: string): Promise<void> {
  const boundary = 'tendril-test-boundary';
  const body = `--${boundary}\r\nContent-Disposition: form-data; name="message"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n--${boundary}--\r\n`;
  const reply = await tn.request('POST', `/restful/meshmb/${id}/sendmessage`, { headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body });
  assert.equal(reply.status, 201, reply.text);
}
