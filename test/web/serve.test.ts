/**
 * What a web server serves (`web server --serve=api,sync,direct`, src/web/modes.ts): a family is
 * found only on servers that serve it, embedded or dedicated alike, and the `mesh` mode (plain
 * HTTP on any address, for node-to-node sync) can never be made to serve the REST API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isTendrilError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startDedicatedServer, type RunningWebServer } from '../../src/web/dedicated.js';
import { checkSpec, parseCommands, parseServerArgs, servesOf, type ServerSpec } from '../../src/web/spec.js';
import { HARRY, startTestNode, type TestNode } from '../helpers/node.js';
import { request as httpRequest } from 'node:http';
import { webRequest } from '../helpers/web.js';

const LIST = '/restful/keyring/identities.json';

function usageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isTendrilError(err), String(err));
    return err.message;
  }
  assert.fail('no usage error');
}

void describe('--serve: parsing and refusals', () => {
  void it('defaults to the API in the API modes and to sync,direct in mesh mode', () => {
    assert.deepEqual(servesOf(parseServerArgs(['--mode=upstream'], 'server')), ['api', 'metrics']);
    assert.deepEqual(servesOf(parseServerArgs(['--mode=dev'], 'server')), ['api', 'metrics']);
    assert.deepEqual(servesOf(parseServerArgs(['--mode=mesh', '--bind=0.0.0.0'], 'server')), ['sync', 'direct']);
    assert.deepEqual(servesOf(parseServerArgs(['--mode=upstream', '--serve=api,sync,direct,sync'], 'server')), ['api', 'sync', 'direct']);
    assert.deepEqual(parseCommands('web server --mode=mesh --bind=0.0.0.0 --serve=direct')[0]?.serve, ['direct']);
  });

  void it('refuses unknown and empty lists, and the API in mesh mode, naming the option', () => {
    assert.match(usageOf(() => parseServerArgs(['--serve=api,files'], 'server')), /--serve: unknown "files"/);
    assert.match(usageOf(() => parseServerArgs(['--serve=,'], 'server')), /--serve needs at least one/);
    const mesh = parseServerArgs(['--mode=mesh', '--bind=0.0.0.0', '--serve=sync,api'], 'server');
    assert.match(usageOf(() => checkSpec(mesh)), /mesh mode never serves the REST API/);
    const meshMetrics = parseServerArgs(['--mode=mesh', '--bind=0.0.0.0', '--serve=metrics'], 'server');
    assert.match(usageOf(() => checkSpec(meshMetrics)), /mesh mode never serves the REST API or metrics/);
  });

  void it('lets mesh mode listen in plain HTTP on a non-loopback address, without TLS files', () => {
    assert.equal(checkSpec(parseServerArgs(['--mode=mesh', '--bind=0.0.0.0'], 'server')), undefined);
    const withCert = parseServerArgs(['--mode=mesh', '--bind=0.0.0.0', '--certfile=/nonexistent'], 'server');
    assert.match(usageOf(() => checkSpec(withCert)), /--certfile has no use in mesh mode/);
  });
});

void describe('--serve: families are found only where they are served', () => {
  let t: TestNode;
  const dedicated: RunningWebServer[] = [];
  const spec = (extra: Partial<ServerSpec>): ServerSpec => ({ mode: 'upstream', bind: '127.0.0.1', port: 0, allowedOrigins: [], ...extra });

  before(async () => {
    t = await startTestNode({ servers: [spec({}), spec({ serve: ['sync', 'direct'] }), spec({ mode: 'mesh', serve: ['direct'] })] });
    dedicated.push(await startDedicatedServer(t.paths, spec({ serve: ['sync'] }), silentLogger(), 0));
    dedicated.push(await startDedicatedServer(t.paths, spec({}), silentLogger(), 0));
    dedicated.push(await startDedicatedServer(t.paths, spec({ serve: ['direct'] }), silentLogger(), 0));
  });
  after(async () => {
    for (const d of dedicated) await d.stop();
    await t.destroy();
  });

  void it('serves the API, its docs and its description where api is served', async () => {
    for (const url of [t.node.state.urls[0]!, dedicated[1]!.url]) {
      assert.equal((await webRequest(url, 'GET', LIST, { headers: { Authorization: HARRY } })).status, 200, url);
      assert.equal((await webRequest(url, 'GET', '/openapi.json')).status, 200, url);
    }
  });

  void it('answers 404 with a JSON result for the API where it is not served, before asking for credentials, embedded and dedicated', async () => {
    for (const url of [t.node.state.urls[1]!, t.node.state.urls[2]!, dedicated[0]!.url]) {
      for (const path of [LIST, '/openapi.json', '/docs', '/restful/rhizome/bundlelist.json']) {
        const r = await webRequest(url, 'GET', path);
        assert.equal(r.status, 404, `${url}${path}`);
        assert.equal(r.json<{ http_status_code: number }>().http_status_code, 404);
      }
    }
  });

  /** Opens a sync link and returns the status of its answer (the link is dropped at once). */
  const linkStatus = (url: string): Promise<{ status: number; type: string | undefined }> =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          method: 'POST',
          path: '/sync/v1/link',
          headers: { 'Content-Type': 'application/x-tendril-sync', 'Transfer-Encoding': 'chunked', Authorization: HARRY },
          agent: false,
        },
        (res) => {
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] });
          req.destroy();
        },
      );
      req.on('error', reject);
      req.write('');
    });

  void it('answers the Tendril sync link only where sync is served, 404 elsewhere', async () => {
    for (const url of [t.node.state.urls[1]!, dedicated[0]!.url]) {
      const r = await linkStatus(url);
      assert.equal(r.status, 200, url);
      assert.equal(r.type, 'application/x-tendril-sync');
    }
    for (const url of [t.node.state.urls[0]!, t.node.state.urls[2]!, dedicated[1]!.url]) {
      assert.equal((await linkStatus(url)).status, 404, url);
      const r = await webRequest(url, 'POST', '/sync/v1/link', { headers: { 'Content-Type': 'application/x-tendril-sync', Authorization: HARRY }, body: 'x' });
      assert.equal(r.status, 404, url);
      assert.equal(r.json<{ http_status_code: number }>().http_status_code, 404);
    }
    // The sync status and the route table are part of the REST API: not where only sync is served.
    for (const path of ['/restful/sync/peers.json', '/restful/route/all.json']) {
      assert.equal((await webRequest(t.node.state.urls[0]!, 'GET', path, { headers: { Authorization: HARRY } })).status, 200, path);
      assert.equal((await webRequest(t.node.state.urls[1]!, 'GET', path, { headers: { Authorization: HARRY } })).status, 404, path);
    }
  });

  // Rhizome Direct takes no credentials: it must not exist where the operator did not ask for it.
  const ENQUIRY = {
    headers: { 'Content-Type': 'multipart/form-data; boundary=b' },
    body: `--b\r\nContent-Disposition: form-data; name="data"\r\n\r\n${Buffer.from('0a0000000031ffffffff', 'hex').toString('latin1')}\r\n--b--\r\n`,
  };

  void it('answers 404 with a JSON result for Rhizome Direct where direct is not served, embedded and dedicated', async () => {
    for (const url of [t.node.state.urls[0]!, dedicated[0]!.url, dedicated[1]!.url]) {
      for (const [method, path] of [
        ['GET', '/rhizome/manifestbyprefix/00'],
        ['GET', `/rhizome/file/${'00'.repeat(64)}`],
        ['POST', '/rhizome/import'],
      ] as const) {
        const r = await webRequest(url, method, path);
        assert.equal(r.status, 404, `${url}${path}`);
        assert.equal(r.json<{ http_status_code: number }>().http_status_code, 404);
      }
      const enquiry = await webRequest(url, 'POST', '/rhizome/enquiry', ENQUIRY);
      assert.equal(enquiry.status, 404, `${url} enquiry`);
    }
  });

  void it('serves Rhizome Direct without credentials where direct is served, mesh mode and dedicated included', async () => {
    for (const url of [t.node.state.urls[1]!, t.node.state.urls[2]!, dedicated[2]!.url]) {
      const enquiry = await webRequest(url, 'POST', '/rhizome/enquiry', ENQUIRY);
      assert.equal(enquiry.status, 200, `${url}: ${enquiry.text}`);
      assert.equal(enquiry.headers['content-type'], 'application/octet-stream');
      assert.equal(enquiry.body.subarray(0, 5).toString('hex'), '0a00000000');
      // Unknown here: servald's HTML page, not the API's JSON.
      const missing = await webRequest(url, 'GET', '/rhizome/manifestbyprefix/00');
      assert.equal(missing.status, 404);
      assert.equal(missing.text, '<html>\n<h1>404 Not Found</h1>\n<dl>\n</dl>\n</html>');
      // The REST API stays where it was: not on a server that serves only sync and direct.
      assert.equal((await webRequest(url, 'GET', LIST, { headers: { Authorization: HARRY } })).status, 404, url);
    }
  });

  void it('reports what each embedded server serves in the node status', async () => {
    const r = await t.request('GET', '/restful/system');
    const servers = r.json<{ node: { web_servers: Array<{ mode: string; serve: string[] }> } }>().node.web_servers;
    assert.deepEqual(
      servers.filter((s) => s.serve !== undefined).slice(0, 3).map((s) => [s.mode, s.serve.join(',')]),
      [
        ['upstream', 'api,metrics'],
        ['upstream', 'sync,direct'],
        ['mesh', 'direct'],
      ],
    );
  });
});
