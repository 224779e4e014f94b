/**
 * The four security modes of a web server (src/web/modes.ts, after VAST's `web` plugin:
 * /work/shared/spec/peers.md §1.4) over real sockets, with certificates the test makes with
 * `openssl`: each mode's accept / refuse matrix — credentials, tokens, client certificates — on a
 * server embedded in the node and on a dedicated one in front of it, which must answer alike;
 * plain HTTP and HTTPS where a mode does not speak them; CORS; `noauth`; and the start-up
 * refusals of impossible combinations, through startNode and through the command line.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { startDedicatedServer, type RunningWebServer } from '../../src/web/dedicated.js';
import type { Mode } from '../../src/web/modes.js';
import type { ServerSpec } from '../../src/web/spec.js';
import { spawnNode } from '../helpers/child-node.js';
import { runCli } from '../helpers/cli.js';
import { haveOpenssl, makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { rawExchangeAt } from '../helpers/control.js';
import { HARRY, makeInstance, startTestNode, type Reply, type TestNode } from '../helpers/node.js';
import { isListening, webRequest, type WebRequestOptions } from '../helpers/web.js';

const LIST = '/restful/keyring/identities.json';
const ADD = '/restful/keyring/add';
const REALM = 'Basic realm="Serval RESTful API"';
/** The modes that serve the REST API (mesh serves node-to-node sync only: test/web/serve.test.ts). */
type ApiMode = Exclude<Mode, 'mesh'>;
const MODES: readonly ApiMode[] = ['dev', 'upstream', 'server', 'mtls'];
const basic = (user: string, pass: string): string => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

const SKIP = haveOpenssl() ? false : 'the openssl command is not installed, so no certificates can be made';

/** Instance directories made here, removed at the end. */
const made: string[] = [];
function instance(entries: Record<string, string> = {}): ReturnType<typeof makeInstance> {
  const paths = makeInstance(entries);
  made.push(paths.root);
  return paths;
}
after(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

/** A server of `mode` on a free loopback port, with the test certificates where the mode needs them. */
function specFor(mode: Mode, certs: TestCerts, extra: Partial<ServerSpec> = {}): ServerSpec {
  const tls = mode === 'server' || mode === 'mtls' ? { certfile: certs.server.certFile, keyfile: certs.server.keyFile } : {};
  const ca = mode === 'mtls' ? { clientca: certs.ca.certFile } : {};
  return { mode, bind: '127.0.0.1', port: 0, allowedOrigins: [], ...tls, ...ca, ...extra };
}

interface Front {
  readonly label: string;
  readonly mode: ApiMode;
  readonly url: string;
}

/** The client side of a front: the test CA for HTTPS and, for mtls, the good client certificate. */
function clientOptions(front: Front, certs: TestCerts): WebRequestOptions {
  if (front.mode === 'dev' || front.mode === 'upstream') return {};
  if (front.mode === 'server') return { ca: certs.ca.cert };
  return { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key };
}

function call(front: Front, certs: TestCerts, method: string, path: string, options: WebRequestOptions = {}): Promise<Reply> {
  return webRequest(front.url, method, path, { ...clientOptions(front, certs), ...options });
}

/** A JSON result's two members, as the reference writes them. */
function result(r: Reply): { http_status_code: number; http_status_message: string } {
  return r.json<{ http_status_code: number; http_status_message: string }>();
}

/** Starts a node with one embedded server per mode, and a dedicated server per mode in front of it. */
async function startFronts(certs: TestCerts, config: Record<string, string> = {}): Promise<{ t: TestNode; fronts: Front[]; stop: () => Promise<void> }> {
  const t = await startTestNode({ config, servers: MODES.map((m) => specFor(m, certs, { allowedOrigins: ['https://app.example.org'] })) });
  const dedicated: RunningWebServer[] = [];
  try {
    for (const m of MODES) dedicated.push(await startDedicatedServer(t.paths, specFor(m, certs, { allowedOrigins: ['https://app.example.org'] }), silentLogger(), 0));
  } catch (err) {
    await t.destroy();
    throw err;
  }
  const fronts: Front[] = [
    ...MODES.map((mode, i) => ({ label: `embedded ${mode}`, mode, url: t.node.state.urls[i]! })),
    ...MODES.map((mode, i) => ({ label: `dedicated ${mode}`, mode, url: dedicated[i]!.url })),
  ];
  return {
    t,
    fronts,
    stop: async () => {
      for (const d of dedicated) await d.stop();
      await t.destroy();
    },
  };
}

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path?: string;
  readonly headers: () => Record<string, string>;
  /** Status per mode, and the reason phrase of a refusal. */
  readonly expect: Readonly<Record<ApiMode, number>>;
}

const ALL = (status: number): Record<ApiMode, number> => ({ dev: status, upstream: status, server: status, mtls: status });
const GUARDED = (status: number): Record<ApiMode, number> => ({ dev: 200, upstream: status, server: status, mtls: status });

const REASONS: Record<number, string> = {
  400: 'Malformed Authorization header',
  401: 'Unauthorized',
  403: 'Forbidden: read-only credentials',
};

void describe('web server modes: the accept / refuse matrix', { skip: SKIP }, () => {
  let certs: TestCerts;
  let fronts: Front[];
  let t: TestNode;
  let stop: () => Promise<void>;
  let rw: string;
  let ro: string;
  let revoked: string;

  before(async () => {
    certs = makeTestCerts();
    ({ t, fronts, stop } = await startFronts(certs));
    rw = (await t.node.tokens.generate({ name: 'rw' })).token;
    ro = (await t.node.tokens.generate({ name: 'ro', readOnly: true })).token;
    const gone = await t.node.tokens.generate({ name: 'gone' });
    await t.node.tokens.revoke(gone.info.id);
    revoked = gone.token;
  });
  after(async () => {
    await stop();
    certs.remove();
  });

  const cases: readonly Case[] = [
    { name: 'no credentials', headers: () => ({}), expect: GUARDED(401) },
    { name: 'wrong Basic credentials', headers: () => ({ Authorization: basic('harry', 'wrong') }), expect: GUARDED(401) },
    { name: 'Basic credentials', headers: () => ({ Authorization: HARRY }), expect: ALL(200) },
    { name: 'X-Tendril-Token', headers: () => ({ 'X-Tendril-Token': rw }), expect: ALL(200) },
    { name: 'Authorization: Bearer', headers: () => ({ Authorization: `Bearer ${rw}` }), expect: ALL(200) },
    { name: 'a wrong token', headers: () => ({ 'X-Tendril-Token': `tdk1_${'A'.repeat(43)}` }), expect: GUARDED(401) },
    { name: 'a read-only token reading', headers: () => ({ 'X-Tendril-Token': ro }), expect: ALL(200) },
    // dev checks no credentials at all, so the read-only token is not even looked at.
    { name: 'a read-only token writing', method: 'POST', path: ADD, headers: () => ({ Authorization: `Bearer ${ro}` }), expect: { ...GUARDED(403), dev: 201 } },
    { name: 'a revoked token', headers: () => ({ 'X-Tendril-Token': revoked }), expect: GUARDED(401) },
    { name: 'a malformed token header', headers: () => ({ 'X-Tendril-Token': 'two words' }), expect: ALL(400) },
  ];

  for (const c of cases) {
    void it(`${c.name}: ${MODES.map((m) => `${m} ${c.expect[m]}`).join(', ')} — embedded and dedicated alike`, async () => {
      for (const front of fronts) {
        const r = await call(front, certs, c.method ?? 'GET', c.path ?? LIST, { headers: c.headers() });
        const expected = c.expect[front.mode];
        assert.equal(r.status, expected, `${front.label}: ${r.text}`);
        assert.equal(r.headers['content-type'], 'application/json', front.label);
        if (expected === 200) {
          assert.deepEqual(r.json<{ header: string[] }>().header, ['sid', 'identity', 'did', 'name'], front.label);
          continue;
        }
        const { http_status_code, http_status_message } = result(r);
        assert.deepEqual({ http_status_code, http_status_message }, { http_status_code: expected, http_status_message: expected === 201 ? 'Identity added' : REASONS[expected] }, front.label);
        assert.equal(r.reason, expected === 201 ? 'Identity added' : REASONS[expected], front.label);
        assert.equal(r.headers['www-authenticate'], expected === 401 ? REALM : undefined, front.label);
      }
    });
  }

  void it('mtls: no client certificate 403, one from another CA 403, the CA-signed one passes on to the credentials', async () => {
    for (const front of fronts.filter((f) => f.mode === 'mtls')) {
      const ca = certs.ca.cert;
      const cases: Array<[string, WebRequestOptions, number, string]> = [
        ['no certificate, good credentials', { ca, headers: { Authorization: HARRY } }, 403, 'Forbidden: client certificate required'],
        ['no certificate, no credentials', { ca }, 403, 'Forbidden: client certificate required'],
        ['another CA, good credentials', { ca, cert: certs.otherClient.cert, key: certs.otherClient.key, headers: { Authorization: HARRY } }, 403, 'Forbidden: client certificate not trusted'],
        ['the server certificate as a client one', { ca, cert: certs.server.cert, key: certs.server.key, headers: { Authorization: HARRY } }, 403, 'Forbidden: client certificate not trusted'],
        ['good certificate, no credentials', { ca, cert: certs.client.cert, key: certs.client.key }, 401, 'Unauthorized'],
        ['good certificate, a token', { ca, cert: certs.client.cert, key: certs.client.key, headers: { 'X-Tendril-Token': rw } }, 200, 'OK'],
      ];
      for (const [what, options, status, reason] of cases) {
        const r = await webRequest(front.url, 'GET', LIST, options);
        assert.equal(r.status, status, `${front.label}, ${what}: ${r.text}`);
        assert.equal(r.reason, reason, `${front.label}, ${what}`);
        if (status !== 200) assert.deepEqual(result(r), { http_status_code: status, http_status_message: reason });
      }
      // The certificate is checked before anything else: even the docs and the preflight need it.
      const preflight = await webRequest(front.url, 'OPTIONS', LIST, { ca, headers: { Origin: 'http://localhost' } });
      assert.equal(preflight.status, 403, front.label);
    }
  });

  void it('server and mtls refuse plain HTTP; dev and upstream refuse HTTPS', async () => {
    for (const front of fronts) {
      const url = new URL(front.url);
      if (front.mode === 'server' || front.mode === 'mtls') {
        const raw = await rawExchangeAt({ host: '127.0.0.1', port: Number(url.port) }, `GET ${LIST} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\n\r\n`, 2000);
        assert.doesNotMatch(raw.toString('latin1'), /^HTTP\//, `${front.label} answered plain HTTP`);
        await assert.rejects(webRequest(`http://127.0.0.1:${url.port}`, 'GET', LIST, { headers: { Authorization: HARRY } }), front.label);
      } else {
        await assert.rejects(webRequest(`https://127.0.0.1:${url.port}`, 'GET', LIST, { ca: certs.ca.cert, headers: { Authorization: HARRY } }), front.label);
      }
    }
  });

  void it('HTTPS servers present the test certificate, valid for 127.0.0.1 and localhost', async () => {
    for (const front of fronts.filter((f) => f.mode === 'server')) {
      const port = new URL(front.url).port;
      assert.equal((await webRequest(`https://localhost:${port}`, 'GET', LIST, { ca: certs.ca.cert, headers: { Authorization: HARRY } })).status, 200);
      // Without the test CA the certificate is not trusted by the client.
      await assert.rejects(webRequest(front.url, 'GET', LIST, { headers: { Authorization: HARRY } }), /self-signed|unable to verify|certificate/i);
    }
  });

  void it('CORS: every mode allows only local pages, --allowed-origin and its own origin (dev included, since issue 14)', async () => {
    for (const front of fronts) {
      const foreign = await call(front, certs, 'GET', LIST, { headers: { Authorization: HARRY, Origin: 'http://evil.example' } });
      const preflight = await call(front, certs, 'OPTIONS', LIST, { headers: { Origin: 'http://evil.example' } });
      const allowed = await call(front, certs, 'GET', LIST, { headers: { Authorization: HARRY, Origin: 'https://app.example.org' } });
      const local = await call(front, certs, 'GET', LIST, { headers: { Authorization: HARRY, Origin: 'http://localhost:3000' } });
      assert.equal(allowed.status, 200, front.label);
      assert.equal(local.status, 200, front.label);
      assert.equal(foreign.status, 403, front.label);
      assert.deepEqual(result(foreign), { http_status_code: 403, http_status_message: 'Forbidden' });
      assert.equal(foreign.headers['access-control-allow-origin'], undefined);
      assert.equal(preflight.status, 403, front.label);
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.org', front.label);
      assert.equal(local.headers['access-control-allow-origin'], 'http://localhost:3000', front.label);
      // A page served from this very server (the docs) is same-origin: no CORS headers needed.
      const own = await call(front, certs, 'GET', LIST, { headers: { Authorization: HARRY, Origin: front.url } });
      assert.equal(own.status, 200, front.label);
      assert.equal(own.headers['access-control-allow-origin'], undefined);
    }
  });
});

void describe('web server modes: api.restful.authorization=noauth', { skip: SKIP }, () => {
  let certs: TestCerts;
  let fronts: Front[];
  let stop: () => Promise<void>;
  before(async () => {
    certs = makeTestCerts();
    ({ fronts, stop } = await startFronts(certs, { 'api.restful.authorization': 'noauth' }));
  });
  after(async () => {
    await stop();
    certs.remove();
  });

  void it('upstream (and dev) serve without credentials; server and mtls still refuse them', async () => {
    for (const front of fronts) {
      const r = await call(front, certs, 'GET', LIST);
      const guarded = front.mode === 'server' || front.mode === 'mtls';
      assert.equal(r.status, guarded ? 401 : 200, `${front.label}: ${r.text}`);
      if (guarded) {
        assert.equal(r.headers['www-authenticate'], REALM);
        assert.equal((await call(front, certs, 'GET', LIST, { headers: { Authorization: HARRY } })).status, 200, front.label);
        assert.equal((await call(front, certs, 'POST', ADD, { headers: { Authorization: basic('harry', 'nope') } })).status, 401, front.label);
      }
    }
  });
});

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s: Server = createServer();
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

void describe('web server modes: impossible combinations are start-up errors', { skip: SKIP }, () => {
  let certs: TestCerts;
  let garbage: string;
  let directory: string;
  before(() => {
    certs = makeTestCerts();
    garbage = join(certs.dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    directory = join(certs.dir, 'a-directory');
    mkdirSync(directory);
  });
  after(() => certs.remove());

  const server = (extra: Partial<ServerSpec>): ServerSpec => ({ ...specFor('server', certs), ...extra });
  const mtls = (extra: Partial<ServerSpec>): ServerSpec => ({ ...specFor('mtls', certs), ...extra });

  /** [what, spec, message] — every spec is refused by startNode with the message. */
  const refusals = (): Array<[string, ServerSpec, RegExp]> => [
    ['server without --certfile', server({ certfile: undefined }), /server mode needs --certfile/],
    ['server without --keyfile', server({ keyfile: undefined }), /server mode needs --keyfile/],
    ['a missing certificate file', server({ certfile: join(certs.dir, 'nope.crt') }), /cannot read --certfile .*nope\.crt: no such file/],
    ['a missing key file', server({ keyfile: join(certs.dir, 'nope.key') }), /cannot read --keyfile .*nope\.key: no such file/],
    ['an unreadable certificate (a directory)', server({ certfile: directory }), /cannot read --certfile .*a-directory: it is a directory/],
    ['a certificate file that holds none', server({ certfile: garbage }), /--certfile .*garbage\.pem holds no PEM certificate/],
    ['a key file that holds none', server({ keyfile: garbage }), /--keyfile .*garbage\.pem holds no usable private key/],
    ['a key that is not the certificate\'s', server({ keyfile: certs.client.keyFile }), /--keyfile .*client\.key is not the private key of the certificate/],
    ['mtls without --clientca', mtls({ clientca: undefined }), /mtls mode needs --clientca/],
    ['mtls with a --clientca that holds no certificate', mtls({ clientca: garbage }), /--clientca .*garbage\.pem holds no PEM certificate/],
    ['mtls with a missing --clientca', mtls({ clientca: join(certs.dir, 'nope-ca.crt') }), /cannot read --clientca .*nope-ca\.crt: no such file/],
    ['--clientca in server mode', server({ clientca: certs.ca.certFile }), /--clientca is only for mtls mode/],
    ['--certfile in upstream mode', { ...specFor('upstream', certs), certfile: certs.server.certFile }, /--certfile has no use in upstream mode/],
    ['--keyfile in dev mode', { ...specFor('dev', certs), keyfile: certs.server.keyFile }, /--keyfile has no use in dev mode/],
    ['upstream on 0.0.0.0', { ...specFor('upstream', certs), bind: '0.0.0.0' }, /upstream mode can only bind to a loopback address .*not 0\.0\.0\.0/],
    ['dev on 0.0.0.0', { ...specFor('dev', certs), bind: '0.0.0.0' }, /dev mode can only bind to a loopback address .*not 0\.0\.0\.0/],
    ['upstream on ::', { ...specFor('upstream', certs), bind: '::' }, /upstream mode can only bind to a loopback address/],
    ['a bind address that is not one', { ...specFor('upstream', certs), bind: 'example.org' }, /--bind must be an IP address/],
  ];

  void it('startNode refuses each with a message naming the problem, leaves nothing listening and the instance free', async () => {
    const paths = instance();
    const before = await freePort();
    for (const [what, spec, message] of refusals()) {
      // A good server listed first must not be left listening either.
      const good = specFor('upstream', certs, { port: before });
      await assert.rejects(startTestNode({ paths, servers: [good, spec] }), message, what);
      assert.equal(await isListening(before), false, `${what}: the good server was left listening`);
    }
    const t = await startTestNode({ paths });
    assert.equal((await t.request('GET', LIST)).status, 200, 'the instance is usable afterwards');
    await t.destroy();
  });

  void it('an unreadable certificate file (mode 000) is refused, unless running as root who reads anything', { skip: process.getuid?.() === 0 && 'root reads files of mode 000' }, async () => {
    const locked = join(certs.dir, 'locked.crt');
    writeFileSync(locked, readFileSync(certs.server.certFile));
    chmodSync(locked, 0o000);
    await assert.rejects(startTestNode({ paths: instance(), servers: [server({ certfile: locked })] }), /cannot read --certfile .*locked\.crt: permission denied/);
  });

  void it('a port in use is refused naming the server, and the servers already listening are closed again', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const busy = (taken.address() as { port: number }).port;
    const first = await freePort();
    try {
      await assert.rejects(
        startTestNode({ paths: instance(), servers: [specFor('upstream', certs, { port: first }), specFor('server', certs, { port: busy })] }),
        new RegExp(`web server \\(server mode\\) cannot listen on 127\\.0\\.0\\.1:${busy}: the port is in use`),
      );
      assert.equal(await isListening(first), false);
    } finally {
      taken.close();
    }
  });

  void it('the command line: start --commands and web server exit 1 with the message, leaving nothing running', async () => {
    const port = await freePort();
    const c = certs;
    const runs: Array<[readonly string[], RegExp]> = [
      [['start', `--commands=web server --mode=upstream --port=${port}; web server --mode=server --port=0`], /server mode needs --certfile/],
      [['start', '--commands', `web server --mode=upstream --port=${port}; web server --mode=mtls --port=0 --certfile=${c.server.certFile} --keyfile=${c.server.keyFile}`], /mtls mode needs --clientca/],
      [['start', '--commands=web server --mode=upstream --bind=0.0.0.0'], /upstream mode can only bind to a loopback address/],
      [['start', '--commands=web server --mode=secure'], /unknown mode "secure" \(dev, server, upstream, mtls, mesh\)/],
      [['start', '--commands=web server --port=70000'], /invalid port "70000"/],
      [['start', '--commands=web sever --mode=dev'], /unknown command "web sever --mode=dev"/],
      [['web', 'server', '--mode=upstream', '--bind=0.0.0.0'], /upstream mode can only bind to a loopback address/],
      [['web', 'server', '--mode=dev', '--bind', '0.0.0.0'], /dev mode can only bind to a loopback address/],
      [['web', 'server', '--mode=server', `--certfile=${join(c.dir, 'missing.crt')}`, `--keyfile=${c.server.keyFile}`], /cannot read --certfile .*missing\.crt: no such file/],
      [['web', 'server', '--mode=server', `--certfile=${c.server.certFile}`, `--keyfile=${c.client.keyFile}`], /is not the private key of the certificate/],
      [['web', 'server', '--mode=mtls', `--certfile=${c.server.certFile}`, `--keyfile=${c.server.keyFile}`], /mtls mode needs --clientca/],
      [['web', 'server', '--mode=dev', `--certfile=${c.server.certFile}`], /--certfile has no use in dev mode/],
      [['web', 'server', '--mode=bogus'], /unknown mode "bogus"/],
      [['web', 'server', '--port=abc'], /invalid port "abc"/],
      [['web', 'server', '--colour=blue'], /unknown option '--colour=blue'/],
    ];
    // Two at a time: each is a Node process start.
    for (let i = 0; i < runs.length; i += 2) {
      await Promise.all(
        runs.slice(i, i + 2).map(async ([args, message]) => {
          // An instance each: a failing start holds the instance lock for a moment.
          const r = await runCli(instance().root, args, { timeoutMs: 20_000 });
          assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
          assert.match(r.stderr, message, args.join(' '));
          assert.match(r.stderr, /^tendril: /);
        }),
      );
    }
    assert.equal(await isListening(port), false);
  });
});

void describe('web servers embedded by the command line', { skip: SKIP }, () => {
  let certs: TestCerts;
  before(() => {
    certs = makeTestCerts();
  });
  after(() => certs.remove());

  const urlsOf = (root: string): string[] => (JSON.parse(readFileSync(join(root, 'proc', 'state.json'), 'utf8')) as { urls: string[] }).urls;

  void it('start --commands runs every server it names; web.commands does the same from the config', async () => {
    const commands = `web server --mode=upstream; web server --mode=server --certfile=${certs.server.certFile} --keyfile=${certs.server.keyFile}`;
    for (const how of ['option', 'config'] as const) {
      const paths = instance(how === 'config' ? { 'web.commands': commands } : {});
      const node = await spawnNode(paths, { args: how === 'option' ? ['--commands', commands] : [] });
      try {
        const [plain, tls] = urlsOf(paths.root);
        assert.match(plain!, /^http:\/\/127\.0\.0\.1:\d+$/, how);
        assert.match(tls!, /^https:\/\/127\.0\.0\.1:\d+$/, how);
        assert.equal((await webRequest(plain!, 'GET', LIST, { headers: { Authorization: HARRY } })).status, 200, how);
        assert.equal((await webRequest(tls!, 'GET', LIST, { ca: certs.ca.cert, headers: { Authorization: HARRY } })).status, 200, how);
        assert.equal((await webRequest(tls!, 'GET', LIST, { ca: certs.ca.cert })).status, 401, how);
      } finally {
        await node.stop();
      }
    }
  });
});
