/**
 * The common REST layer over loopback (spec §1): authentication, CORS, framing, limits, HTTP
 * versions and connection handling, and the node surviving hostile input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { HARRY, parseRawHead, rawExchange, RON, startTestNode, type TestNode } from '../helpers/node.js';
import { VECTORS } from '../helpers/vectors.js';

const LIST = '/restful/keyring/identities.json';
const REALM = 'Basic realm="Serval RESTful API"';
const basic = (user: string, pass: string): string => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

function vectorBody(file: string): Buffer {
  const raw = readFileSync(VECTORS.http(file));
  return raw.subarray(raw.indexOf('\r\n\r\n') + 4);
}

void describe('common REST layer', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => t.destroy());

  void describe('authentication (spec §1.10)', () => {
    void it('AuthBasicMissing: 401 with the realm header and the reference body, byte for byte', async () => {
      const r = await t.request('GET', LIST, { auth: null });
      assert.equal(r.status, 401);
      assert.equal(r.reason, 'Unauthorized');
      assert.equal(r.headers['www-authenticate'], REALM);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['content-length'], '68');
      assert.deepEqual(r.body, vectorBody('keyring_identities_401_noauth.http'));
    });

    void it('AuthBasicWrong: wrong credentials 401, other configured users 200', async () => {
      const wrong = await t.request('GET', LIST, { auth: basic('fred', 'nurks') });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers['www-authenticate'], REALM);
      assert.deepEqual(wrong.body, vectorBody('keyring_identities_401_wrongpass.http'));
      assert.equal((await t.request('GET', LIST, { auth: basic('harry', 'potter2') })).status, 401);
      assert.equal((await t.request('GET', LIST, { auth: RON })).status, 200);
      assert.equal((await t.request('GET', LIST, { auth: basic('hermione', 'grainger') })).status, 200);
    });

    void it('a malformed Authorization header is 400: bad base64, no colon, lowercase scheme, unknown scheme', async () => {
      for (const auth of ['Basic !!!!', 'Basic ' + Buffer.from('nocolon').toString('base64'), 'basic ' + Buffer.from('harry:potter').toString('base64'), 'Magic xyz', 'Basic']) {
        const r = await t.request('GET', LIST, { auth });
        assert.equal(r.status, 400, auth);
        assert.equal(r.json<{ http_status_code: number }>().http_status_code, 400);
      }
    });

    void it('an empty table is the reference bytes exactly', async () => {
      const fresh = await startTestNode();
      try {
        const r = await fresh.request('GET', LIST);
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, vectorBody('keyring_identities_0rows.http'));
      } finally {
        await fresh.destroy();
      }
    });
  });

  void describe('CORS (spec §1.10)', () => {
    void it('CORS_Request: OPTIONS needs no credentials and echoes local origins', async () => {
      for (const [origin, echoed] of [
        ['http://localhost', 'http://localhost'],
        ['http://localhost:1234', 'http://localhost:1234'],
        ['https://127.0.0.1/', 'https://127.0.0.1'],
        ['file://localhost', 'file://localhost'],
      ] as const) {
        const r = await t.request('OPTIONS', LIST, { auth: null, headers: { Origin: origin } });
        assert.equal(r.status, 200, origin);
        assert.equal(r.headers['access-control-allow-origin'], echoed);
        assert.equal(r.headers['access-control-allow-methods'], 'GET, POST, OPTIONS');
        assert.equal(r.headers['access-control-allow-headers'], 'Authorization');
        assert.equal(r.json<{ http_status_code: number }>().http_status_code, 200);
      }
      // The reference also echoes `null`, which any page can give itself with a sandboxed frame:
      // Tendril refuses it unless a server allows it (--allowed-origin=null, test/web/browser-checks.test.ts).
      assert.equal((await t.request('OPTIONS', LIST, { auth: null, headers: { Origin: 'null' } })).status, 403);
    });

    void it('a foreign origin is 403 for OPTIONS and GET, even with credentials', async () => {
      for (const method of ['OPTIONS', 'GET']) {
        const r = await t.request(method, LIST, { headers: { Origin: 'http://malevolent.site.com' } });
        assert.equal(r.status, 403, method);
        assert.equal(r.headers['access-control-allow-origin'], undefined);
      }
      assert.equal((await t.request('GET', LIST, { headers: { Origin: 'http://[::1]:80' } })).status, 403);
    });

    void it('an authenticated GET from a local origin is 200 with the CORS headers; a malformed Origin is 400', async () => {
      const r = await t.request('GET', LIST, { headers: { Origin: 'http://localhost:8080' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], 'http://localhost:8080');
      assert.equal((await t.request('GET', LIST, { headers: { Origin: 'http://localhost/some/path' } })).status, 400);
      assert.equal((await t.request('GET', LIST, { headers: { Origin: 'file:///x' } })).status, 400);
      // `file://` with no host is not an origin at all.
      assert.equal((await t.request('GET', LIST, { headers: { Origin: 'file://' } })).status, 200);
    });

    void it('a 401 to a local origin still carries the CORS headers so the page can read it', async () => {
      const r = await t.request('GET', LIST, { auth: null, headers: { Origin: 'http://localhost' } });
      assert.equal(r.status, 401);
      assert.equal(r.headers['access-control-allow-origin'], 'http://localhost');
    });
  });

  void describe('framing (spec §1.6), checked before credentials', () => {
    void it('a POST with a non-multipart body is 415 even without credentials', async () => {
      const r = await t.request('POST', '/restful/keyring/add', { auth: null, headers: { 'Content-Type': 'text/plain' }, body: 'hello' });
      assert.equal(r.status, 415);
      const upper = await t.request('POST', '/restful/keyring/add', { headers: { 'Content-Type': 'Multipart/Form-Data; boundary=x' }, body: 'hello' });
      assert.equal(upper.status, 415, 'type and subtype are case-sensitive');
    });

    void it('a POST body without Content-Type, or multipart without boundary, is 400', async () => {
      assert.equal((await t.request('POST', '/restful/keyring/add', { body: 'hello' })).status, 400);
      assert.equal((await t.request('POST', '/restful/keyring/add', { headers: { 'Content-Type': 'multipart/form-data' }, body: 'hello' })).status, 400);
      assert.equal((await t.request('POST', '/restful/keyring/add', { headers: { 'Content-Type': 'multipart/form-data; boundary="' }, body: 'x' })).status, 400);
    });

    void it('a GET with a Content-Type or a body is 400 regardless of credentials', async () => {
      assert.equal((await t.request('GET', LIST, { auth: null, headers: { 'Content-Type': 'application/json' } })).status, 400);
      assert.equal((await t.request('GET', LIST, { headers: { 'Content-Length': 3 }, body: 'abc' })).status, 400);
    });

    void it('a POST with Content-Length 0 needs no Content-Type; other verbs ignore bodies', async () => {
      assert.equal((await t.request('POST', '/restful/keyring/add', { headers: { 'Content-Length': 0 } })).status, 201);
      const id = (await t.request('POST', '/restful/keyring/add')).json<{ identity: { sid: string } }>().identity;
      const r = await t.request('DELETE', `/restful/keyring/${id.sid}`, { headers: { 'Content-Type': 'text/plain' }, body: 'ignored' });
      assert.equal(r.status, 200);
    });
  });

  void describe('limits (spec §1.3, §1.5)', () => {
    void it('query strings: 7000 bytes fit, 7100 are 414, 9000 are 431, as the reference measured', async () => {
      assert.equal((await t.request('GET', `${LIST}?junk=${'x'.repeat(7000)}`)).status, 200);
      const r414 = await t.request('GET', `${LIST}?junk=${'x'.repeat(7100)}`);
      assert.equal(r414.status, 414);
      assert.equal(r414.reason, 'Request-URI Too Long');
      const r431 = await t.request('GET', `${LIST}?junk=${'x'.repeat(9000)}`);
      assert.equal(r431.status, 431);
      assert.equal(r431.headers['content-type'], 'application/json');
    });

    void it('ten query parameters are fine, an eleventh is 400', async () => {
      const ten = Array.from({ length: 10 }, (_, i) => `p${i}=${i}`).join('&');
      assert.equal((await t.request('GET', `${LIST}?${ten}`)).status, 200);
      assert.equal((await t.request('GET', `${LIST}?${ten}&p10=10`)).status, 400);
      assert.equal((await t.request('GET', `${LIST}?${'a&'.repeat(3000)}`)).status, 400);
    });

    void it('an oversized header block is 431 in the JSON result format, and the node keeps serving', async () => {
      const r = await t.request('GET', LIST, { headers: { 'X-Junk': 'y'.repeat(20_000) } });
      assert.equal(r.status, 431);
      assert.equal(r.json<{ http_status_code: number }>().http_status_code, 431);
      const flood: Record<string, string> = {};
      for (let i = 0; i < 2000; i++) flood[`X-H${i}`] = 'v';
      assert.equal((await t.request('GET', LIST, { headers: flood })).status, 431);
      assert.equal((await t.request('GET', LIST)).status, 200);
    });

    void it('paths are form-decoded before routing: %XX and +', async () => {
      assert.equal((await t.request('GET', '/restful/keyring/identities%2Ejson')).status, 200);
      const r = await t.request('POST', '/restful/keyring/add?name=Ann+Lee%21');
      assert.equal(r.json<{ identity: { name: string } }>().identity.name, 'Ann Lee!');
    });

    void it('an unknown path is 404 with a JSON result', async () => {
      // (`/` itself leads to the web UI: test/web/ui-static.test.ts.)
      for (const path of ['/nonexistent', '/restful/nonexistent', '/restful', '/favicon.ico']) {
        const r = await t.request('GET', path);
        assert.equal(r.status, 404, path);
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.json<{ http_status_code: number }>().http_status_code, 404);
      }
    });
  });

  void describe('HTTP versions and connections (spec §1.2)', () => {
    void it('HTTP/1.0: the response is complete and the connection closes', async () => {
      const raw = await rawExchange(t.port, `GET ${LIST} HTTP/1.0\r\nAuthorization: ${HARRY}\r\n\r\n`);
      const { statusLine, headers, body } = parseRawHead(raw);
      assert.equal(statusLine, 'HTTP/1.1 200 OK');
      assert.equal(Number(headers.get('content-length')), body.length);
      assert.ok(body.toString().startsWith('{\n"header":'));
    });

    void it('HTTP/1.1 keep-alive: several requests on one connection, pipelined too', async () => {
      const one = `GET ${LIST} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\n\r\n`;
      const last = `GET ${LIST} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\nConnection: close\r\n\r\n`;
      const raw = (await rawExchange(t.port, one + one + last)).toString('latin1');
      assert.equal(raw.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
    });

    void it('a request line that is not HTTP is 400 JSON; an unknown verb is 400; the node keeps serving', async () => {
      for (const line of ['HELLO\r\n\r\n', 'GET / HTTP/2.0\r\n\r\n', 'BREW /restful/ HTTP/1.1\r\n\r\n', 'GET /\x00x HTTP/1.1\r\n\r\n']) {
        const { statusLine, body } = parseRawHead(await rawExchange(t.port, line));
        assert.match(statusLine, /^HTTP\/1\.1 400 /, JSON.stringify(line));
        assert.equal(JSON.parse(body.toString()).http_status_code, 400);
      }
      assert.equal((await t.request('GET', LIST)).status, 200);
    });

    void it('a truncated request or a client that vanishes mid-request does not disturb others', async () => {
      await new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: t.port }, () => {
          s.write(`POST /restful/keyring/add HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\nContent-Length: 100\r\n`);
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 50);
        });
      });
      const half = connect({ host: '127.0.0.1', port: t.port });
      half.write('GET /restful/keyring/identit');
      assert.equal((await t.request('GET', LIST)).status, 200);
      half.destroy();
    });

    void it('wrong Content-Length both ways: a short body waits, a long one is two requests or 400', async () => {
      const short = `POST /restful/keyring/add HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\nContent-Length: 10\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\nabc`;
      // The server waits for the rest of the body; the client gives up; nothing breaks.
      const raw = await rawExchange(t.port, short, 300);
      assert.ok(raw.length === 0 || parseRawHead(raw).statusLine.startsWith('HTTP/1.1 201'));
      const extra = `GET ${LIST} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\nContent-Length: 0\r\n\r\nGARBAGE\r\n\r\n`;
      const text = (await rawExchange(t.port, extra, 1000)).toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 OK/);
      assert.match(text, /HTTP\/1\.1 400 /);
      assert.equal((await t.request('GET', LIST)).status, 200);
    });

    void it('Expect: 100-continue is not answered with 100 when the request is refused first', async () => {
      const req = `POST /restful/keyring/add HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 20\r\n\r\n`;
      const raw = (await rawExchange(t.port, req, 1000)).toString('latin1');
      assert.match(raw, /^HTTP\/1\.1 401 Unauthorized/);
      assert.ok(!raw.includes('100 Continue'));
    });
  });
});

void describe('peer address (spec §1.10)', () => {
  void it('a request from a non-loopback peer is 403, IPv4 or IPv6, mapped or not', async () => {
    const { checkPeer, openAuthenticator } = await import('../../src/http/access.js');
    const policy = { localOnly: true, cors: 'local' as const, authenticator: openAuthenticator('x') };
    const from = (remoteAddress: string | undefined) => ({ socket: { remoteAddress }, headers: {} }) as unknown as IncomingMessage;
    for (const address of ['10.0.0.5', '192.168.1.20', '::ffff:10.1.2.3', 'fe80::1', '2001:db8::1']) {
      assert.throws(() => checkPeer(from(address), policy), (err: { status?: number; code?: string }) => err.status === 403 && err.code === 'ACCESS_NOT_LOCAL', address);
    }
    for (const address of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', undefined]) {
      assert.doesNotThrow(() => checkPeer(from(address), policy), String(address));
    }
  });

  void it('the embedded server refuses to listen beyond loopback in upstream and dev mode', async () => {
    const { makeInstance } = await import('../helpers/node.js');
    const { startNode } = await import('../../src/node/node.js');
    const { buildConfig } = await import('../../src/config/config.js');
    const { readConfigFile } = await import('../../src/config/file.js');
    const { silentLogger } = await import('../../src/log.js');
    const { TEST_PIN_KEY_PARAMS } = await import('../../src/crypto/pin-key.js');
    const paths = makeInstance();
    const config = buildConfig(readConfigFile(paths.configFile));
    for (const mode of ['upstream', 'dev'] as const) {
      await assert.rejects(
        startNode({ paths, config: () => config, log: silentLogger(), servers: [{ mode, bind: '0.0.0.0', port: 0, allowedOrigins: [] }], pinKeyParams: TEST_PIN_KEY_PARAMS }),
        (err: Error) => /loopback/.test(err.message) && err.message.includes(mode),
      );
    }
    // Nothing was left listening or locked: a normal start works.
    const node = await startNode({ paths, config: () => config, log: silentLogger(), port: 0, pinKeyParams: TEST_PIN_KEY_PARAMS });
    await node.stop();
  });
});
