/**
 * Hostile web pages in a real browser (issue 14, findings 1 and 2): Debian's Chromium, headless,
 * driven by playwright-core, against a node whose two servers need no credentials at all — a dev
 * server and an upstream one with `api.restful.authorization=noauth`, the worst case. Names are
 * resolved by Chromium's own rules (`--host-resolver-rules`), so `evil.example` and
 * `rebind.example` reach 127.0.0.1 as a DNS answer would:
 *
 *  - a page on another origin (http://evil.example:PORT) tries to read the keyring, create and
 *    remove identities with fetch (cors and no-cors), an `<img>` and the legacy GET forms;
 *  - a sandboxed frame inside it (Origin: null) tries the same;
 *  - a page the attacker served as http://rebind.example:NODEPORT, whose name then points at the
 *    node (DNS rebinding), calls the API as its own origin.
 *
 * Each fails to read (nothing of the keyring reaches the page) and to write (the keyring is as it
 * was); a page on a local origin, the control, reads it. (Without /usr/bin/chromium: see
 * test/helpers/browser.ts.)
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { failWithoutChromiumInCi, launchChromium, SKIP_WITHOUT_CHROMIUM } from '../helpers/browser.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

const LIST = '/restful/keyring/identities.json';

failWithoutChromiumInCi();

const FLAGS = [
  // The attacker's names, resolved to this machine as its DNS would after a rebinding.
  '--host-resolver-rules=MAP evil.example 127.0.0.1, MAP rebind.example 127.0.0.1',
  // Chromium's own Local Network Access checks would stop some of these requests first; they
  // are off so that what is tested is the node's defences, which every browser meets.
  '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults',
];

/** What a page could do with one attempt: read a status and body, or nothing (blocked). */
interface Outcome {
  readonly what: string;
  readonly status?: number;
  readonly body?: string;
  readonly blocked?: string;
}

/**
 * The attacks, run inside the page against the node's server at `base`, as page script text
 * (only what a page has; text, because the test's compiler would add helpers a page lacks).
 * `sid` is an identity to remove.
 */
function attackScript(base: string, sid: string, prefix = ''): string {
  const url = (path: string): string => JSON.stringify(base + path);
  return `
    const out = [];
    const go = async (what, url, init) => {
      try { const r = await fetch(url, init); out.push({ what, status: r.status, body: r.type === 'opaque' ? '' : await r.text() }); }
      catch (e) { out.push({ what, blocked: String(e) }); }
    };
    const image = (what, url) => new Promise((resolve) => {
      const img = new Image();
      img.onload = () => { out.push({ what, status: 200 }); resolve(); };
      img.onerror = () => { out.push({ what, blocked: 'image error' }); resolve(); };
      img.src = url;
    });
    await go('${prefix}read the keyring', ${url(LIST)});
    await go('${prefix}POST keyring/add', ${url('/restful/keyring/add?name=evil')}, { method: 'POST' });
    await go('${prefix}POST keyring/add, no-cors', ${url('/restful/keyring/add?name=evil2')}, { method: 'POST', mode: 'no-cors' });
    await go('${prefix}DELETE an identity', ${url(`/restful/keyring/${sid}`)}, { method: 'DELETE' });
    await go('${prefix}legacy GET remove, no-cors', ${url(`/restful/keyring/${sid}/remove`)}, { mode: 'no-cors' });
    await image('${prefix}legacy GET keyring/add as an <img>', ${url('/restful/keyring/add?name=img')});
    await image('${prefix}legacy GET remove as an <img>', ${url(`/restful/keyring/${sid}/remove`)});`;
}

async function attack(page: Page, base: string, sid: string): Promise<Outcome[]> {
  return page.evaluate<Outcome[]>(`(async () => { ${attackScript(base, sid)}; return out; })()`);
}

/** The same attacks from a sandboxed frame (Origin: null) inside the page. */
async function attackFromSandbox(page: Page, base: string, sid: string): Promise<Outcome[]> {
  const inner = `(async () => { ${attackScript(base, sid, 'sandbox: ')}; parent.postMessage(out, '*'); })();`;
  return page.evaluate<Outcome[]>(`new Promise((resolve) => {
    window.addEventListener('message', (e) => resolve(e.data), { once: true });
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', 'allow-scripts');
    frame.srcdoc = ${JSON.stringify(`<script>${inner}</script>`)};
    document.body.appendChild(frame);
  })`);
}

describe('hostile pages in headless Chromium: another origin, a sandboxed frame, DNS rebinding', { skip: SKIP_WITHOUT_CHROMIUM }, () => {
  let tn: TestNode;
  let browser: Browser;
  let attacker: Server;
  let attackerPort: number;
  let sid: string;
  let victim: string;
  /** The node's two servers: dev, and upstream with noauth. */
  let bases: string[];

  before(async () => {
    tn = await startTestNode({
      config: { 'api.restful.authorization': 'noauth' },
      servers: [
        { mode: 'dev', bind: '127.0.0.1', port: 0, allowedOrigins: [] },
        { mode: 'upstream', bind: '127.0.0.1', port: 0, allowedOrigins: [] },
      ],
    });
    sid = (await tn.node.keyring.add({ name: 'Alice' })).sidHex;
    victim = (await tn.node.keyring.add({ name: 'Victim' })).sidHex;
    bases = [...tn.node.state.urls];
    // The attacker's web server: it serves the page, whatever name it is asked by.
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><html><body><p>a page</p></body></html>');
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
    browser = await launchChromium(FLAGS);
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
    await tn?.destroy();
  });

  async function open(url: string, fulfil?: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    if (fulfil !== undefined) {
      // The attacker's own server answers this one URL (before the name is rebound).
      await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: fulfil }));
    }
    const response = await page.goto(url);
    assert.equal(response?.status(), 200, url);
    return { context, page };
  }

  /** The keyring as it was: both identities there, no new ones. */
  function assertKeyringUntouched(what: string): void {
    const names = tn.node.keyring.list().map((i) => i.name);
    assert.deepEqual(names, ['Alice', 'Victim'], what);
  }

  function assertNothingRead(outcomes: readonly Outcome[], what: string): void {
    for (const o of outcomes) {
      assert.ok(!(o.body ?? '').includes(sid), `${what}: ${o.what} read the keyring: ${o.body}`);
      assert.ok(o.blocked !== undefined || (o.status ?? 0) >= 400 || o.status === 0 || o.body === '', `${what}: ${o.what} got ${o.status}`);
    }
  }

  it('control: a page on a local origin (http://localhost:PORT) reads the keyring', async () => {
    const { context, page } = await open(`http://localhost:${attackerPort}/`);
    const r = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, body: await res.text() };
    }, bases[0]! + LIST);
    assert.equal(r.status, 200);
    assert.ok(r.body.includes(sid));
    await context.close();
  });

  for (const [what, run] of [
    ['a page on another origin can neither read nor write, with fetch, no-cors fetch, images or legacy GETs', attack],
    ['a sandboxed frame (Origin: null) inside it can neither read nor write', attackFromSandbox],
  ] as const) {
    it(what, async () => {
      const { context, page } = await open(`http://evil.example:${attackerPort}/`);
      for (const base of bases) {
        const outcomes = await run(page, base, victim);
        assert.equal(outcomes.length, 7);
        assertNothingRead(outcomes, `${what}: ${base}`);
        assertKeyringUntouched(`${what}: ${base}`);
      }
      await context.close();
    });
  }

  it('a rebound page (rebind.example now 127.0.0.1) calling the API as its own origin gets 403 and reads nothing', async () => {
    for (const base of bases) {
      const port = new URL(base).port;
      const { context, page } = await open(`http://rebind.example:${port}/attack.html`, '<!doctype html><p>served by the attacker before the rebinding</p>');
      // Same origin as far as the browser knows: relative URLs, responses readable.
      const outcomes = await page.evaluate(
        async ({ list, victim }) => {
          const out: Array<{ what: string; status: number; body: string }> = [];
          for (const [what, url, init] of [
            ['read', list, undefined],
            ['add', '/restful/keyring/add?name=rebound', { method: 'POST' }],
            ['delete', `/restful/keyring/${victim}`, { method: 'DELETE' }],
            ['legacy remove', `/restful/keyring/${victim}/remove`, undefined],
            ['docs', '/docs', undefined],
          ] as const) {
            const r = await fetch(url, init);
            out.push({ what, status: r.status, body: await r.text() });
          }
          return out;
        },
        { list: LIST, victim },
      );
      for (const o of outcomes) {
        assert.equal(o.status, 403, `${base} ${o.what}: ${o.body}`);
        assert.ok(!o.body.includes(sid), `${base} ${o.what}`);
        assert.match(o.body, /"http_status_message": "Forbidden: unknown host name"/);
      }
      assertKeyringUntouched(`rebound to ${base}`);
      await context.close();
    }
  });
});
