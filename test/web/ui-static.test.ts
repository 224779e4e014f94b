/**
 * The web UI's static files over HTTP (src/http/api/ui.ts): `/` leads to `/ui/`; the page and its
 * assets are served without credentials, with a strict Content-Security-Policy, gzipped when the
 * client accepts it; nothing but the built files can be reached (no traversal, no object keys);
 * an unbuilt UI says so. The browser test (ui-browser.test.ts) drives the pages themselves.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { uiHandlers, UI_DIR } from '../../src/http/api/ui.js';
import { isTendrilError } from '../../src/errors.js';
import type { RequestContext } from '../../src/http/types.js';
import { ensureUiBuilt } from '../../scripts/build-ui.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

describe('web UI files', () => {
  let tn: TestNode;
  before(async () => {
    await ensureUiBuilt();
    tn = await startTestNode();
  });
  after(() => tn.destroy());

  it('leads from / to /ui/, without credentials', async () => {
    const reply = await tn.request('GET', '/', { auth: null });
    assert.equal(reply.status, 302);
    assert.equal(reply.headers.location, '/ui/');
    // Only `/` itself: other unknown paths are still unknown.
    assert.equal((await tn.request('GET', '/nothing-here', { auth: null })).status, 404);
    assert.equal((await tn.request('POST', '/', { auth: null })).status, 405);
  });

  it('serves the page at /ui and /ui/ with a strict Content-Security-Policy', async () => {
    for (const path of ['/ui', '/ui/']) {
      const reply = await tn.request('GET', path, { auth: null });
      assert.equal(reply.status, 200, path);
      assert.match(String(reply.headers['content-type']), /^text\/html; charset=utf-8/);
      assert.equal(reply.text, readFileSync(join(UI_DIR, 'index.html'), 'utf8'));
      const csp = String(reply.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/, 'no inline or remote script');
      assert.match(csp, /connect-src 'self'(;|$)/, 'talks to this server only');
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(reply.headers['x-content-type-options'], 'nosniff');
      assert.equal(reply.headers['x-frame-options'], 'DENY');
    }
  });

  it('serves the assets the page names, gzipped to clients that accept it', async () => {
    const page = (await tn.request('GET', '/ui/', { auth: null })).text;
    const assets = [...page.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(assets.sort(), ['/ui/app.css', '/ui/app.js', '/ui/favicon.svg']);
    for (const path of assets) {
      const plain = await tn.request('GET', path, { auth: null });
      assert.equal(plain.status, 200, path);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.ok(plain.body.equals(readFileSync(join(UI_DIR, path.slice(4)))), `${path} is the built file`);
    }
    const js = await tn.request('GET', '/ui/app.js', { auth: null, headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    assert.equal(js.headers['content-encoding'], 'gzip');
    assert.equal(js.headers.vary, 'Accept-Encoding');
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.ok(gunzipSync(js.body).equals(readFileSync(join(UI_DIR, 'app.js'))));
    const refused = await tn.request('GET', '/ui/app.js', { auth: null, headers: { 'Accept-Encoding': 'gzip;q=0, identity' } });
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  it('serves nothing else: no traversal, no object keys, no build leftovers', async () => {
    const paths = [
      '/ui/..%2Fpackage.json',
      '/ui/%2e%2e%2f%2e%2e%2fpackage.json',
      '/ui/..',
      '/ui/../../package.json',
      '/ui/app.js.gz',
      '/ui/__proto__',
      '/ui/constructor',
      '/ui/hasOwnProperty',
      '/ui/toString',
      '/ui/index.html%00.js',
      '/ui/missing.js',
      '/uix',
    ];
    for (const path of paths) {
      const reply = await tn.request('GET', path, { auth: null });
      assert.ok(reply.status === 404 || reply.status === 400, `${path}: ${reply.status}`);
      assert.ok(!reply.text.includes('"name": "tendril"'), `${path} leaked package.json`);
      assert.match(String(reply.headers['content-type']), /^application\/json/, `${path}: a JSON result`);
    }
    assert.equal((await tn.request('POST', '/ui/app.js', { auth: null })).status, 405);
  });

  it('says the UI is not built when its directory is empty, then serves it once built', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tendril-ui-'));
    try {
      const handlers = uiHandlers(`${dir}/`);
      const ctx = { params: {}, headers: {} } as unknown as RequestContext;
      assert.throws(() => handlers.page(ctx), (err: unknown) => isTendrilError(err) && err.code === 'UI_NOT_BUILT');
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
      const result = handlers.page(ctx) as { status: number; body: Buffer };
      assert.equal(result.status, 200);
      assert.equal(result.body.toString(), '<!doctype html><title>t</title>');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
