/**
 * A dedicated web server (`tendril web server …`, its own process, attached to the node over the
 * owner-only control socket: src/web/dedicated.ts, src/web/link-front.ts) beside the node's own:
 * identical answers across the API families; long-polls, 50 MiB uploads and downloads and
 * `Expect: 100-continue` streaming through; the control routes out of reach, also for requests
 * smuggled inside another or pipelined after one; 503 while the node restarts and service again after, without
 * restarting the web server; the node unharmed by a web server killed with SIGKILL; several
 * servers of both kinds at once, listed by the node's /restful/system.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { startDedicatedServer } from '../../src/web/dedicated.js';
import { haveOpenssl, makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { sampleRss } from '../helpers/child-node.js';
import { expectContinueExchange, rawExchangeAt, unixRequest } from '../helpers/control.js';
import { HARRY, parseRawHead, startTestNode, type Reply, type TestNode } from '../helpers/node.js';
import { insert, loadReferenceIdentities, manifestFields, MANIFEST_TYPE, referenceIdentities } from '../helpers/rhizome.js';
import { generatedPayload, multipartStream, postStream } from '../helpers/rhizome-wire.js';
import { spawnWebServer, webRequest, type ChildWebServer } from '../helpers/web.js';

const LIST = '/restful/keyring/identities.json';
const MiB = 1024 * 1024;
const IDS = referenceIdentities();
const ALICE = IDS.alice!;
const BOB = IDS.bob!;

/** Headers that belong to one connection or one moment, not to the answer. */
const PER_CONNECTION = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

function comparable(r: Reply): { status: number; reason: string; headers: Array<[string, string]>; body: string } {
  const headers = Object.entries(r.headers)
    .filter(([name]) => !PER_CONNECTION.has(name))
    .map(([name, value]) => [name, String(value)] as [string, string])
    .sort(([a], [b]) => a.localeCompare(b));
  return { status: r.status, reason: r.reason, headers, body: r.text };
}

/** A GET read as it streams. */
function openStream(port: number, path: string): { text(): string; until(p: (text: string) => boolean, ms?: number): Promise<void>; done: Promise<string>; close(): void } {
  let body = '';
  let req!: ReturnType<typeof httpRequest>;
  const done = new Promise<string>((resolve) => {
    req = httpRequest({ host: '127.0.0.1', port, path, headers: { Authorization: HARRY }, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(body));
      res.on('aborted', () => resolve(body));
    });
    req.on('error', () => resolve(body));
    req.end();
  });
  return {
    text: () => body,
    async until(p, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!p(body)) {
        if (Date.now() > deadline) throw new Error(`the stream did not show it in time: ${body}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    done,
    close: () => req.destroy(),
  };
}

/** SHA-256 of a GET's body, read as it streams. */
function hashGet(port: number, path: string): Promise<{ status: number; length: number; sha: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Authorization: HARRY }, agent: false }, (res) => {
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (c: Buffer) => {
        hash.update(c);
        length += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length, sha: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function sha256Of(chunks: Iterable<Buffer>): string {
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  return hash.digest('hex');
}

void describe('a dedicated web server beside the embedded one', () => {
  let t: TestNode;
  let web: ChildWebServer;
  let bid: string;
  const embedded = (): number => t.nodePort;

  before(async () => {
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': '4' } });
    await loadReferenceIdentities(t);
    web = await spawnWebServer(t.paths, ['--mode=upstream', '--port=0']);
    const r = await insert(t, { author: BOB.sid, manifest: 'name=shared.txt\n', payload: 'The quick brown fox jumps over the lazy dog\n' });
    assert.equal(r.status, 201, r.text);
    bid = manifestFields(r.body).get('id')!;
  });
  after(async () => {
    await web.stop();
    await t.destroy();
  });

  void it('answers every family exactly as the node\'s own server does: status, reason, headers, body', async () => {
    const manyParams = '?' + Array.from({ length: 11 }, (_, i) => `p${i}=1`).join('&');
    const requests: Array<[string, string, Record<string, string>?]> = [
      ['GET', LIST],
      ['GET', `${LIST}?pin=1234`],
      ['GET', LIST, { Authorization: '' }],
      ['GET', LIST, { Authorization: 'Basic !!!!' }],
      ['GET', LIST, { Authorization: 'Basic ' + Buffer.from('harry:wrong').toString('base64') }],
      ['GET', LIST, { Origin: 'http://evil.example' }],
      ['OPTIONS', LIST, { Origin: 'http://localhost:8080' }],
      ['GET', LIST, { Origin: 'http://127.0.0.1' }],
      ['PUT', LIST],
      ['GET', `/restful/keyring/${BOB.sid}`],
      ['GET', `/restful/keyring/${'0'.repeat(64)}`],
      ['GET', '/restful/rhizome/bundlelist.json'],
      ['GET', `/restful/rhizome/${bid}.rhm`],
      ['GET', `/restful/rhizome/${bid}/raw.bin`],
      ['GET', `/restful/rhizome/${bid}/raw.bin`, { Range: 'bytes=4-8' }],
      ['GET', `/restful/rhizome/${bid}/raw.bin`, { Range: 'bytes=900-' }],
      ['GET', `/restful/rhizome/${bid}/decrypted.bin`],
      ['DELETE', '/restful/rhizome/bundlelist.json'],
      ['GET', `/restful/meshmb/${BOB.identity}/feedlist.json`],
      ['GET', `/restful/meshmb/${BOB.identity}/messagelist.json`],
      ['GET', `/restful/meshms/${BOB.sid}/conversationlist.json`],
      ['GET', `/restful/meshms/${BOB.sid}/${ALICE.sid}/messagelist.json`],
      ['GET', '/restful/nothing-here'],
      ['GET', LIST + manyParams],
      ['GET', `${LIST}?q=${'x'.repeat(7100)}`],
      ['GET', '/control/tokens'],
      ['POST', '/control/tokens?name=nope'],
      ['GET', '/control/../control/tokens'],
      ['GET', '/%63ontrol/tokens'],
    ];
    const refusedBodies: Array<[string, string, Record<string, string>, string]> = [
      ['POST', '/restful/keyring/add', { 'Content-Type': 'text/plain' }, 'hello'],
      ['GET', LIST, { 'Content-Type': 'text/plain' }, 'hello'],
      ['POST', '/restful/rhizome/insert', { 'Content-Type': 'multipart/form-data' }, 'hello'],
    ];
    for (const [method, path, extra, body] of [...requests.map(([m, p, e]) => [m, p, e, undefined] as const), ...refusedBodies]) {
      const headers: Record<string, string> = { Authorization: HARRY, ...extra };
      if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
      if (headers.Authorization === '') delete headers.Authorization;
      const a = await webRequest(`http://127.0.0.1:${embedded()}`, method, path, { headers, body });
      const b = await webRequest(web.url, method, path, { headers, body });
      assert.deepEqual(comparable(b), comparable(a), `${method} ${path.slice(0, 80)} ${JSON.stringify(extra ?? {})}`);
    }
    assert.equal(t.node.tokens.list().length, 0, 'no control route was reached');
    // Writes answer alike too (their bodies name what each made).
    const added = await Promise.all([embedded(), web.port].map((port) => webRequest(`http://127.0.0.1:${port}`, 'POST', '/restful/keyring/add?name=Twin', { headers: { Authorization: HARRY } })));
    assert.deepEqual(added.map((r) => [r.status, r.reason, r.headers['content-type'], Object.keys(r.json())]), [
      [201, 'Identity added', 'application/json', ['http_status_code', 'http_status_message', 'identity']],
      [201, 'Identity added', 'application/json', ['http_status_code', 'http_status_message', 'identity']],
    ]);
    // /restful/system changes from one moment to the next: the same members, at least.
    const [sa, sb] = await Promise.all([embedded(), web.port].map((port) => webRequest(`http://127.0.0.1:${port}`, 'GET', '/restful/system', { headers: { Authorization: HARRY } })));
    assert.equal(sb!.status, 200);
    assert.deepEqual(Object.keys(sb!.json()), Object.keys(sa!.json()));
  });

  void it('a newsince long-poll streams through: rows as they happen, then a clean end at the timeout', async () => {
    const stream = openStream(web.port, '/restful/rhizome/newsince/bundlelist.json');
    await stream.until((text) => text.includes('"rows":['));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const r = await insert(t, { author: ALICE.sid, manifest: 'name=during-the-poll.txt\n', payload: 'new' });
    assert.equal(r.status, 201);
    await stream.until((text) => text.includes('during-the-poll.txt'), 3000);
    const latency = Date.now() - started;
    const body = await stream.done;
    const table = JSON.parse(body) as { header: string[]; rows: unknown[][] };
    assert.ok(table.rows.length >= 1);
    assert.ok(latency < 1000, `the new row took ${latency} ms to come through`);
  });

  void it('a 50 MiB upload and its download stream through without being held', { timeout: 120_000 }, async (ctx) => {
    const size = Number(process.env.BIG ?? 50) * MiB;
    const rss = sampleRss(web.pid, 20);
    const baseline = rss.peak();
    const body = multipartStream([
      { name: 'bundle-author', contentType: 'serval/sid; format=hex', body: BOB.sid },
      { name: 'manifest', contentType: MANIFEST_TYPE, body: 'name=big.bin\n' },
      { name: 'payload', body: generatedPayload(size, 7) },
    ]);
    const up = await postStream(web.port, '/restful/rhizome/insert', body);
    assert.equal(up.status, 201, up.body.toString());
    const big = manifestFields(up.body).get('id')!;
    assert.equal(manifestFields(up.body).get('filesize'), String(size));
    const down = await hashGet(web.port, `/restful/rhizome/${big}/raw.bin`);
    const peak = rss.stop();
    assert.equal(down.status, 200);
    assert.equal(down.length, size);
    assert.equal(down.sha, sha256Of(generatedPayload(size, 7)));
    const growth = peak - baseline;
    ctx.diagnostic(`dedicated server RSS ${(baseline / MiB).toFixed(0)} MiB, peak growth ${(growth / MiB).toFixed(1)} MiB for 50 MiB each way`);
    assert.ok(growth < 45 * MiB, `the web server grew by ${(growth / MiB).toFixed(1)} MiB: it held the payload`);
  });

  void it('Expect: 100-continue passes through: 100 before the body when accepted, the refusal without it', async () => {
    const form = Buffer.from(`--b\r\nContent-Disposition: form-data; name="bundle-author"\r\n\r\n${BOB.sid}\r\n--b\r\nContent-Disposition: form-data; name="manifest"\r\nContent-Type: ${MANIFEST_TYPE}\r\n\r\nname=continued.txt\n\r\n--b\r\nContent-Disposition: form-data; name="payload"\r\n\r\nafter the interim answer\r\n--b--\r\n`);
    const head = (auth: string): string =>
      `POST /restful/rhizome/insert HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${form.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    for (const port of [embedded(), web.port]) {
      const ok = await expectContinueExchange({ host: '127.0.0.1', port }, head(`Authorization: ${HARRY}\r\n`), form);
      assert.match(ok.beforeBody, /^HTTP\/1\.1 100 Continue\r\n\r\n$/, String(port));
      const final = ok.all.subarray(ok.all.indexOf('\r\n\r\n') + 4);
      assert.match(parseRawHead(final).statusLine, /^HTTP\/1\.1 20[01] /);
      const refused = await expectContinueExchange({ host: '127.0.0.1', port }, head(''), form);
      assert.match(refused.beforeBody, /^HTTP\/1\.1 401 Unauthorized\r\n/, 'no 100 for a request refused first');
    }
  });

  void it('control routes are out of reach, also for a request smuggled in the body of another', async () => {
    const inner = 'POST /control/tokens?name=smuggled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n';
    const chunked = `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`;
    const attempts = [
      `GET ${LIST} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`,
      `DELETE ${LIST} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`,
      `OPTIONS ${LIST} HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`,
      `GET ${LIST} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`,
    ];
    for (const bytes of attempts) {
      await rawExchangeAt({ host: '127.0.0.1', port: web.port }, bytes, 500);
      // And again on the same kept-alive connections to the node, now that they exist.
      await rawExchangeAt({ host: '127.0.0.1', port: web.port }, `GET ${LIST} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\nConnection: close\r\n\r\n`);
    }
    assert.deepEqual(t.node.tokens.list(), [], 'no token was made');
    // A client's bytes reach only the node's server for this web server, never the control
    // socket's own: a control route pipelined after a good request is 404 too.
    const pair =
      `GET ${LIST} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\n\r\n` +
      'POST /control/tokens?name=second HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
    const both = (await rawExchangeAt({ host: '127.0.0.1', port: web.port }, pair)).toString('latin1');
    assert.deepEqual([...both.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]), ['200', '404']);
    assert.deepEqual(t.node.tokens.list(), []);
    // The owner's own requests, on their own connections, are served as before.
    assert.equal((await unixRequest(t.paths.controlSocket, 'GET', '/control/tokens')).status, 200);
  });

  void it('forwarding headers sent by a client are not believed', async () => {
    const spoof = { 'Tendril-Front-Mode': 'dev', 'Tendril-Forwarded-For': '203.0.113.9', 'Tendril-Front-Cert': 'verified' };
    const r = await webRequest(web.url, 'GET', LIST, { headers: spoof });
    assert.equal(r.status, 401, 'still upstream mode: credentials needed');
    assert.equal((await webRequest(web.url, 'GET', LIST, { headers: { ...spoof, Authorization: HARRY } })).status, 200, 'and not refused as a remote peer');
    // On the node's own TCP listener they mean nothing either.
    assert.equal((await webRequest(`http://127.0.0.1:${embedded()}`, 'GET', LIST, { headers: spoof })).status, 401);
  });
});

void describe('a dedicated web server and the node\'s lifecycles', () => {
  void it('while the node restarts it answers 503 (JSON), then serves again without being restarted', async (ctx) => {
    let t = await startTestNode();
    const web = await spawnWebServer(t.paths, ['--mode=upstream', '--port=0']);
    try {
      assert.equal((await webRequest(web.url, 'GET', LIST, { headers: { Authorization: HARRY } })).status, 200);
      const poll = openStream(web.port, '/restful/rhizome/newsince/bundlelist.json');
      await poll.until((text) => text.includes('"rows":['));
      await t.stop();
      await poll.done; // cut, not left hanging
      for (let i = 0; i < 3; i++) {
        const down = await webRequest(web.url, 'GET', LIST, { headers: { Authorization: HARRY } });
        assert.equal(down.status, 503);
        assert.equal(down.reason, 'The node is not running');
        assert.equal(down.headers['content-type'], 'application/json');
        assert.equal(down.headers['retry-after'], '1');
        assert.deepEqual(down.json(), { http_status_code: 503, http_status_message: 'The node is not running' });
      }
      const restarted = Date.now();
      t = await startTestNode({ paths: t.paths });
      const up = await webRequest(web.url, 'GET', LIST, { headers: { Authorization: HARRY } });
      assert.equal(up.status, 200, up.text);
      ctx.diagnostic(`served again ${Date.now() - restarted} ms after the node's start began`);
      assert.equal(web.child.exitCode, null, 'the web server kept running');
    } finally {
      await web.stop();
      await t.destroy();
    }
  });

  void it('a web server killed with SIGKILL mid-request leaves the node serving', async () => {
    const t = await startTestNode({ config: { 'api.restful.newsince_timeout': '30' } });
    const web = await spawnWebServer(t.paths, ['--mode=upstream', '--port=0']);
    try {
      const poll = openStream(web.port, '/restful/rhizome/newsince/bundlelist.json');
      await poll.until((text) => text.includes('"rows":['));
      // An upload in full flow when the server dies.
      const upload = postStream(web.port, '/restful/rhizome/insert', multipartStream([
        { name: 'manifest', contentType: MANIFEST_TYPE, body: 'name=cut.bin\n' },
        { name: 'payload', body: generatedPayload(200 * MiB, 3) },
      ])).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      web.child.kill('SIGKILL');
      assert.equal(await web.exited, 'SIGKILL');
      await poll.done;
      await upload;
      for (let i = 0; i < 5; i++) assert.equal((await t.request('GET', LIST)).status, 200);
      assert.equal((await unixRequest(t.paths.controlSocket, 'GET', LIST)).status, 200);
      assert.equal((await insert(t, { manifest: 'name=after.txt\n', payload: 'still here' })).status, 201);
      // A new web server attaches as the first did.
      const again = await spawnWebServer(t.paths, ['--mode=upstream', '--port=0']);
      try {
        assert.equal((await webRequest(again.url, 'GET', '/restful/rhizome/bundlelist.json', { headers: { Authorization: HARRY } })).status, 200);
      } finally {
        await again.stop();
      }
    } finally {
      await web.stop();
      await t.destroy();
    }
  });
});

void describe('several web servers at once', { skip: haveOpenssl() ? false : 'the openssl command is not installed' }, () => {
  let certs: TestCerts;
  before(() => {
    certs = makeTestCerts();
  });
  after(() => certs.remove());

  void it('embedded and dedicated servers on different ports serve together; /restful/system lists them all', async () => {
    const t = await startTestNode({
      servers: [
        { mode: 'upstream', bind: '127.0.0.1', port: 0, allowedOrigins: [] },
        { mode: 'dev', bind: '127.0.0.1', port: 0, allowedOrigins: [] },
      ],
    });
    const tls = ['--certfile', certs.server.certFile, '--keyfile', certs.server.keyFile];
    const children = await Promise.all([
      spawnWebServer(t.paths, ['--mode=upstream', '--port=0']),
      spawnWebServer(t.paths, ['--mode=server', '--port=0', ...tls]),
    ]);
    const inProcess = await startDedicatedServer(
      t.paths,
      { mode: 'mtls', bind: '127.0.0.1', port: 0, allowedOrigins: [], certfile: certs.server.certFile, keyfile: certs.server.keyFile, clientca: certs.ca.certFile },
      silentLogger(),
      0,
    );
    try {
      const client = { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key, headers: { Authorization: HARRY } };
      const urls = [...t.node.state.urls, ...children.map((c) => c.url), inProcess.url];
      assert.equal(new Set(urls.map((u) => new URL(u).port)).size, 5, 'five ports');
      // Every one at once, a few times over.
      const replies = await Promise.all(urls.flatMap((url) => [1, 2, 3].map(() => webRequest(url, 'GET', LIST, client))));
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
      const system = (await t.request('GET', '/restful/system')).json<{ node: { web_servers: Array<{ mode: string; url: string; dedicated: boolean }> } }>();
      const listed = system.node.web_servers.map((s) => `${s.dedicated ? 'dedicated' : 'embedded'} ${s.mode} ${s.url}`).sort();
      assert.deepEqual(listed, [
        `dedicated mtls ${inProcess.url}`,
        `dedicated server ${children[1].url}`,
        `dedicated upstream ${children[0].url}`,
        `embedded dev ${t.node.state.urls[1]}`,
        `embedded upstream ${t.node.state.urls[0]}`,
      ].sort());
    } finally {
      await inProcess.stop();
      for (const c of children) await c.stop();
      await t.destroy();
    }
  });
});
