/**
 * The owner-only control socket (README "The command line"; spec §1.6, §1.9 for the framing and
 * routing rules the control family follows): its file mode, the control-only keyring load route,
 * and that route's multipart rules (411, 405, 100-continue, part names and size cap). None of it
 * is reachable over TCP.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { encodeMultipart } from '../../src/http/multipart.js';
import { expectContinueExchange, rawExchangeAt, unixRequest } from '../helpers/control.js';
import { parseRawHead, startTestNode, type TestNode } from '../helpers/node.js';
import { VECTORS } from '../helpers/vectors.js';

const LOAD = '/control/keyring/load';
const LIST = '/restful/keyring/identities.json';
const BOUNDARY = 'control-test-boundary';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

interface VectorIdentity {
  label: string;
  pin: string;
  sid: string;
  identity: string;
  did: string | null;
  name: string | null;
}
const VECTOR_IDS = (JSON.parse(readFileSync(VECTORS.file('identities.json'), 'utf8')) as { identities: VectorIdentity[] }).identities;
const byLabel = (label: string): VectorIdentity => VECTOR_IDS.find((i) => i.label === label)!;
/** The order of the reference dump (and so of loading): Carol, Bob, Alice, Dave. */
const DUMP_ORDER = ['carol', 'bob', 'alice', 'dave'].map(byLabel);
const SECRET_DUMP = readFileSync(VECTORS.identities('keyring_dump_secret.txt'));

type IdentityJson = { sid: string; identity: string; did?: string; name?: string };

function dumpForm(dump: Buffer | string, name = 'dump'): Buffer {
  return encodeMultipart([{ name, body: dump }], BOUNDARY);
}

void describe('control socket', () => {
  let t: TestNode;
  let socket: string;
  before(async () => {
    t = await startTestNode();
    socket = t.paths.controlSocket;
  });
  after(async () => t.destroy());
  // Every test starts from an empty keyring.
  afterEach(async () => removeAll());

  async function listSids(query = ''): Promise<string[]> {
    const r = await unixRequest(socket, 'GET', LIST + query);
    assert.equal(r.status, 200, r.text);
    return r.json<{ rows: string[][] }>().rows.map((row) => row[0]!);
  }

  async function removeAll(): Promise<void> {
    for (const sid of await listSids('?pin=1234')) {
      assert.equal((await unixRequest(socket, 'DELETE', `/restful/keyring/${sid}`)).status, 200);
    }
  }

  void it('is a Unix socket that only its owner may open (mode 0600)', () => {
    const st = statSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, process.getuid?.());
  });

  void it('serves the keyring API without credentials, although the TCP listener requires them', async () => {
    assert.equal((await t.request('GET', LIST, { auth: null })).status, 401);
    const r = await unixRequest(socket, 'GET', LIST);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json<{ header: string[] }>().header, ['sid', 'identity', 'did', 'name']);
    const added = await unixRequest(socket, 'POST', '/restful/keyring/add?name=NoCreds');
    assert.equal(added.status, 201, 'write routes too');
    const sid = added.json<{ identity: IdentityJson }>().identity.sid;
    assert.equal((await unixRequest(socket, 'DELETE', `/restful/keyring/${sid}`)).status, 200);
  });

  void it('POST /control/keyring/load with a `dump` part loads the reference dump, PINs applied in order', async () => {
    const body = dumpForm(SECRET_DUMP);
    const r = await unixRequest(socket, 'POST', `${LOAD}?pin=&pin=&pin=1234&pin=`, {
      headers: { 'Content-Type': MULTIPART, 'Content-Length': body.length },
      body,
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.reason, 'Identities loaded');
    assert.equal(r.headers['content-type'], 'application/json');
    const loaded = r.json<{ http_status_code: number; identities: IdentityJson[] }>();
    assert.equal(loaded.http_status_code, 201);
    assert.deepEqual(
      loaded.identities.map((i) => [i.sid, i.identity, i.did, i.name]),
      DUMP_ORDER.map((v) => [v.sid, v.identity, v.did ?? undefined, v.name ?? undefined]),
    );

    // Visible over TCP at once, in dump order; as with add?pin=, the new PIN identity is unlocked on return.
    const rows = (await t.request('GET', LIST)).json<{ rows: unknown[][] }>().rows;
    assert.deepEqual(rows.map((row) => row[0]), DUMP_ORDER.map((v) => v.sid));
    const dave = byLabel('dave');
    assert.deepEqual(rows.find((row) => row[0] === dave.sid), [dave.sid, dave.identity, null, null]);
    // Alice, the third new identity, took the third PIN: once locked only 1234 brings her back.
    const alice = byLabel('alice');
    assert.equal((await t.request('PUT', `/restful/keyring/${alice.sid}/lock`)).status, 200);
    assert.ok(!(await listSids()).includes(alice.sid));
    assert.ok(!(await listSids('?pin=')).includes(alice.sid));
    assert.ok(!(await listSids('?pin=4321')).includes(alice.sid));
    const withPin = (await t.request('GET', `${LIST}?pin=1234`)).json<{ rows: unknown[][] }>().rows;
    assert.deepEqual(withPin.find((row) => row[0] === alice.sid), [alice.sid, alice.identity, '5551111', 'Alice']);

    // Loading the same dump again adds nothing: identities already present are skipped.
    const again = await unixRequest(socket, 'POST', LOAD, { headers: { 'Content-Type': MULTIPART }, body });
    assert.equal(again.status, 201);
    assert.deepEqual(again.json<{ identities: unknown[] }>().identities, []);
    assert.equal((await listSids('?pin=1234')).length, 4);
  });

  void it('Expect: 100-continue is answered with 100 Continue before the body is read, then 201', async () => {
    const body = dumpForm(SECRET_DUMP);
    const head =
      `POST ${LOAD} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nExpect: 100-continue\r\n` +
      `Content-Type: ${MULTIPART}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const x = await expectContinueExchange({ path: socket }, head, body);
    assert.equal(x.beforeBody, 'HTTP/1.1 100 Continue\r\n\r\n', 'nothing but the interim response before the body');
    const final = parseRawHead(x.all.subarray(x.beforeBody.length));
    assert.equal(final.statusLine, 'HTTP/1.1 201 Identities loaded');
    assert.equal(JSON.parse(final.body.toString('utf8')).identities.length, 4);
    assert.equal((await listSids('?pin=1234')).length, 4);
  });

  void it('Expect: 100-continue gets no 100 when the request is refused before the handler reads the body', async () => {
    const body = dumpForm(SECRET_DUMP);
    for (const [method, path, status] of [
      ['POST', '/control/nothing', 404],
      ['PUT', LOAD, 405],
    ] as const) {
      const head =
        `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nExpect: 100-continue\r\n` +
        `Content-Type: ${MULTIPART}\r\nContent-Length: ${body.length}\r\n\r\n`;
      const x = await expectContinueExchange({ path: socket }, head, body);
      assert.match(x.beforeBody, new RegExp(`^HTTP/1\\.1 ${status} `), `${method} ${path}`);
      assert.ok(!x.all.toString('latin1').includes('100 Continue'), `${method} ${path}: no 100`);
    }
    assert.deepEqual(await listSids('?pin=1234'), []);
  });

  void it('a POST with neither Content-Length nor chunked encoding is 411 Length Required', async () => {
    const raw = await rawExchangeAt(
      { path: socket },
      `POST ${LOAD} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: ${MULTIPART}\r\n\r\n`,
    );
    const { statusLine, headers, body } = parseRawHead(raw);
    assert.equal(statusLine, 'HTTP/1.1 411 Length Required');
    assert.equal(headers.get('content-type'), 'application/json');
    assert.deepEqual(JSON.parse(body.toString('utf8')), { http_status_code: 411, http_status_message: 'Length Required' });

    // Chunked is framed: the same form sent chunked loads.
    const form = dumpForm(SECRET_DUMP);
    const chunked = `${form.length.toString(16)}\r\n${form.toString('latin1')}\r\n0\r\n\r\n`;
    const ok = parseRawHead(
      await rawExchangeAt(
        { path: socket },
        Buffer.from(
          `POST ${LOAD} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nContent-Type: ${MULTIPART}\r\n\r\n${chunked}`,
          'latin1',
        ),
      ),
    );
    assert.equal(ok.statusLine, 'HTTP/1.1 201 Identities loaded');
    assert.equal((await listSids('?pin=1234')).length, 4);
  });

  void it('a known control path with the wrong method is 405 (the control family uses 405)', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const r = await unixRequest(socket, method, LOAD);
      assert.equal(r.status, 405, method);
      assert.equal(r.reason, 'Method Not Allowed');
      assert.equal(r.json<{ http_status_code: number }>().http_status_code, 405);
    }
    assert.equal((await unixRequest(socket, 'GET', '/control/other')).status, 404, 'an unknown control path is 404');
  });

  void it('a form part other than `dump` is 400 and loads nothing', async () => {
    const body = encodeMultipart([{ name: 'keyring', body: SECRET_DUMP }], BOUNDARY);
    const r = await unixRequest(socket, 'POST', LOAD, { headers: { 'Content-Type': MULTIPART }, body });
    assert.equal(r.status, 400);
    assert.equal(r.reason, 'Unsupported "keyring" form part');
    const twice = encodeMultipart([{ name: 'dump', body: SECRET_DUMP }, { name: 'dump', body: SECRET_DUMP }], BOUNDARY);
    const dup = await unixRequest(socket, 'POST', LOAD, { headers: { 'Content-Type': MULTIPART }, body: twice });
    assert.equal(dup.status, 400);
    assert.equal(dup.reason, 'Duplicate "dump" form part');
    assert.deepEqual(await listSids('?pin=1234'), []);
  });

  void it('a `dump` part over the 4 MiB cap is 400 "Overflow" and loads nothing', async () => {
    // A valid dump followed by blank lines: only the size is wrong.
    const big = Buffer.concat([SECRET_DUMP, Buffer.alloc(4 * 1024 * 1024, '\n')]);
    const body = dumpForm(big);
    const r = await unixRequest(socket, 'POST', LOAD, { headers: { 'Content-Type': MULTIPART, 'Content-Length': body.length }, body });
    assert.equal(r.status, 400);
    assert.equal(r.reason, 'Overflow in "dump" form part');
    assert.deepEqual(await listSids('?pin=1234'), []);
  });

  void it('a malformed dump is 400 naming the problem, and loads nothing even if earlier entries were fine', async () => {
    // Identity 3 (Dave) loses the last hex digit of its CRYPTOCOMBINED secret.
    const broken = SECRET_DUMP.toString('latin1').replace(/(3: type=0x06\(CRYPTOCOMBINED\).* sec=[0-9A-F]+)[0-9A-F]\n/, '$1\n');
    assert.notEqual(broken, SECRET_DUMP.toString('latin1'));
    const r = await unixRequest(socket, 'POST', LOAD, { headers: { 'Content-Type': MULTIPART }, body: dumpForm(broken) });
    assert.equal(r.status, 400);
    assert.match(r.reason, /^Malformed keyring dump: /);
    assert.ok(!r.text.includes('C85712027667EBB1'), 'no secret is quoted back');
    assert.deepEqual(await listSids('?pin=1234'), []);
  });

  void it('the control route does not exist on the TCP listener: 404 whatever the method or credentials', async () => {
    const body = dumpForm(SECRET_DUMP);
    for (const method of ['POST', 'GET', 'PUT']) {
      for (const auth of [undefined, null]) {
        const r = await t.request(method, LOAD, {
          auth,
          ...(method === 'POST' ? { headers: { 'Content-Type': MULTIPART }, body } : {}),
        });
        assert.equal(r.status, 404, `${method} ${auth === null ? 'without' : 'with'} credentials`);
      }
    }
    // Nor does an unframed POST get 411 there: the path is simply unknown.
    const raw = await rawExchangeAt(
      { host: '127.0.0.1', port: t.port },
      `POST ${LOAD} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Basic aGFycnk6cG90dGVy\r\n\r\n`,
    );
    assert.match(parseRawHead(raw).statusLine, /^HTTP\/1\.1 404 /);
    assert.deepEqual(await listSids('?pin=1234'), []);
  });
});
