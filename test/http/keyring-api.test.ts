/**
 * The Keyring REST API over loopback (spec §2, checklist §8.1, vectors in shared/vectors/http).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseKeyringDump } from '../../src/formats/keyring-dump.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { VECTORS } from '../helpers/vectors.js';

type IdentityJson = { sid: string; identity: string; did?: string; name?: string };
const HEX64 = /^[0-9A-F]{64}$/;

async function addIdentity(t: TestNode, query = ''): Promise<IdentityJson> {
  const r = await t.request('POST', `/restful/keyring/add${query}`);
  assert.equal(r.status, 201, r.text);
  return r.json<{ identity: IdentityJson }>().identity;
}

async function listSids(t: TestNode, query = ''): Promise<string[]> {
  const r = await t.request('GET', `/restful/keyring/identities.json${query}`);
  assert.equal(r.status, 200);
  return r.json<{ rows: string[][] }>().rows.map((row) => row[0]!);
}

void describe('keyring REST API', () => {
  let t: TestNode;
  before(async () => {
    // The reference's legacy GET forms are tested here, one option away (--allow-get-writes).
    t = await startTestNode({ getWrites: true });
  });
  after(async () => t.destroy());

  void it('keyringList: lists every unlocked identity', async () => {
    const added: string[] = [];
    for (let i = 0; i < 10; i++) added.push((await addIdentity(t, `?name=id${i}`)).sid);
    const r = await t.request('GET', '/restful/keyring/identities.json');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const table = r.json<{ header: string[]; rows: unknown[][] }>();
    assert.deepEqual(table.header, ['sid', 'identity', 'did', 'name']);
    const sids = table.rows.map((row) => row[0]);
    for (const sid of added) assert.ok(sids.includes(sid), `${sid} listed`);
    for (const sid of added) assert.equal((await t.request('DELETE', `/restful/keyring/${sid}`)).status, 200);
  });

  void it('keyringAdd: 201 "Identity added" with hex ids; an empty did= makes an empty DID/Name record', async () => {
    const r = await t.request('POST', '/restful/keyring/add?did=');
    assert.equal(r.status, 201);
    assert.equal(r.reason, 'Identity added');
    assert.equal(r.headers['content-length'], String(r.body.length));
    const body = r.json<{ http_status_code: number; http_status_message: string; identity: IdentityJson }>();
    assert.equal(body.http_status_code, 201);
    assert.equal(body.http_status_message, 'Identity added');
    assert.match(body.identity.sid, HEX64);
    assert.match(body.identity.identity, HEX64);
    assert.equal(body.identity.did, '');
    assert.equal(body.identity.name, '');
    const row = (await t.request('GET', '/restful/keyring/identities.json')).json<{ rows: unknown[][] }>().rows.find((x) => x[0] === body.identity.sid);
    assert.deepEqual(row, [body.identity.sid, body.identity.identity, '', '']);
  });

  void it('add without did or name has no record: members absent, list shows null', async () => {
    const id = await addIdentity(t);
    assert.equal('did' in id, false);
    assert.equal('name' in id, false);
    const row = (await t.request('GET', '/restful/keyring/identities.json')).json<{ rows: unknown[][] }>().rows.find((x) => x[0] === id.sid);
    assert.deepEqual(row, [id.sid, id.identity, null, null]);
  });

  void it('add validates the DID (5..31 of 0-9*#+) and the Name (1..63 bytes)', async () => {
    for (const did of ['1234', 'x2345', '1'.repeat(32), '555 1234']) {
      const r = await t.request('POST', `/restful/keyring/add?did=${encodeURIComponent(did)}`);
      assert.equal(r.status, 400, did);
      assert.equal(r.reason, 'Invalid DID');
      assert.equal(r.json<{ http_status_message: string }>().http_status_message, 'Invalid DID');
    }
    assert.equal((await t.request('POST', `/restful/keyring/add?did=${encodeURIComponent('+61*400#')}`)).status, 201);
    const long = (await t.request('POST', `/restful/keyring/add?name=${'n'.repeat(64)}`));
    assert.equal(long.status, 400);
    assert.equal(long.reason, 'Invalid Name');
    // 63 bytes of UTF-8 is the limit, counted in bytes, not characters.
    assert.equal((await t.request('POST', `/restful/keyring/add?name=${encodeURIComponent('é'.repeat(32))}`)).status, 400);
    assert.equal((await t.request('POST', `/restful/keyring/add?name=${encodeURIComponent('é'.repeat(31))}`)).status, 201);
  });

  void it('keyringGet: GET /SID returns the identity, twice; unknown SID → 404 exactly as the reference', async () => {
    const id = await addIdentity(t, '?did=5551234&name=Getter');
    for (let i = 0; i < 2; i++) {
      const r = await t.request('GET', `/restful/keyring/${id.sid.toLowerCase()}`);
      assert.equal(r.status, 200);
      assert.equal(r.reason, 'OK');
      assert.deepEqual(r.json<{ identity: IdentityJson }>().identity, id);
    }
    const vector = readFileSync(VECTORS.http('keyring_get_unknown_sid_404.http'));
    const expectedBody = vector.subarray(vector.indexOf('\r\n\r\n') + 4);
    const r = await t.request('GET', `/restful/keyring/${'0'.repeat(63)}1`);
    assert.equal(r.status, 404);
    assert.equal(r.reason, 'Identity not found');
    assert.deepEqual(r.body, expectedBody);
  });

  void it('a malformed SID or unknown sub-path is 404, and a wrong verb on a known path is 404 (not 405)', async () => {
    assert.equal((await t.request('GET', `/restful/keyring/${'Z'.repeat(64)}`)).status, 404);
    assert.equal((await t.request('GET', `/restful/keyring/${'A'.repeat(63)}`)).status, 404);
    assert.equal((await t.request('GET', '/restful/keyring/nonsense')).status, 404);
    assert.equal((await t.request('DELETE', '/restful/keyring/identities.json')).status, 404);
    assert.equal((await t.request('PUT', '/restful/keyring/add')).status, 404);
  });

  void it('keyringRemove: DELETE /SID → 200 "Identity removed" echoing it; gone afterwards and after a restart', async () => {
    const keep = await addIdentity(t, '?name=keep');
    const gone = await addIdentity(t, '?name=gone');
    const r = await t.request('DELETE', `/restful/keyring/${gone.sid}`);
    assert.equal(r.status, 200);
    assert.equal(r.reason, 'Identity removed');
    assert.equal(r.json<{ identity: IdentityJson }>().identity.sid, gone.sid);
    assert.equal((await t.request('DELETE', `/restful/keyring/${gone.sid}`)).status, 404);
    const sids = await listSids(t);
    assert.ok(!sids.includes(gone.sid));
    assert.ok(sids.includes(keep.sid));
    // Legacy GET form.
    const legacy = await addIdentity(t);
    assert.equal((await t.request('GET', `/restful/keyring/${legacy.sid}/remove`)).status, 200);
    assert.ok(!(await listSids(t)).includes(legacy.sid));
  });

  void it('keyringSetDidName: PATCH sets DID and Name; absent leaves, empty clears; POST /SID is the same', async () => {
    const id = await addIdentity(t);
    let r = await t.request('PATCH', `/restful/keyring/${id.sid}?did=987654321&name=Joe%20Bloggs`);
    assert.equal(r.status, 200);
    assert.equal(r.reason, 'Identity updated');
    assert.deepEqual(r.json<{ identity: IdentityJson }>().identity, { ...id, did: '987654321', name: 'Joe Bloggs' });
    r = await t.request('POST', `/restful/keyring/${id.sid}?name=Jo`);
    assert.deepEqual(r.json<{ identity: IdentityJson }>().identity, { ...id, did: '987654321', name: 'Jo' });
    r = await t.request('PATCH', `/restful/keyring/${id.sid}?did=`);
    assert.deepEqual(r.json<{ identity: IdentityJson }>().identity, { ...id, did: '', name: 'Jo' });
    assert.equal((await t.request('PATCH', `/restful/keyring/${id.sid}?did=12`)).reason, 'Invalid DID');
    assert.equal((await t.request('PATCH', `/restful/keyring/${'F'.repeat(64)}?did=12345`)).status, 404);
  });

  void it('keyringSetDidNamePin: legacy GET /SID/set — no PIN 404, wrong PIN 404, right PIN 200, then remembered', async () => {
    const id = await addIdentity(t, '?pin=secret%20pin');
    // The PIN used at creation keeps it unlocked; lock it so the PIN is needed again.
    assert.equal((await t.request('PUT', `/restful/keyring/${id.sid}/lock`)).status, 200);
    assert.equal((await t.request('GET', `/restful/keyring/${id.sid}/set?did=123456&name=Fred+Nurks`)).status, 404);
    assert.equal((await t.request('GET', `/restful/keyring/${id.sid}/set?did=123456&name=Fred+Nurks&pin=wrong`)).status, 404);
    const r = await t.request('GET', `/restful/keyring/${id.sid}/set?did=123456&name=Fred+Nurks&pin=secret+pin`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json<{ identity: IdentityJson }>().identity, { ...id, did: '123456', name: 'Fred Nurks' });
    const again = await t.request('GET', `/restful/keyring/${id.sid}/set?name=Fred+Nurks+II`);
    assert.equal(again.status, 200);
    assert.equal(again.json<{ identity: IdentityJson }>().identity.name, 'Fred Nurks II');
  });

  void it('keyringLockUnlock: locking hides an identity until its PIN is entered again', async () => {
    const a2 = await addIdentity(t, '?pin=abc');
    const a3 = await addIdentity(t, '?pin=xyz');
    const a4 = await addIdentity(t, '?pin=xyz');
    const a5 = await addIdentity(t, '?pin=xyz');
    const before = await listSids(t, '?pin=abc');
    for (const id of [a2, a3, a4, a5]) assert.ok(before.includes(id.sid));
    let r = await t.request('PUT', `/restful/keyring/${a2.sid}/lock`);
    assert.equal(r.status, 200);
    assert.equal(r.reason, 'Identity locked');
    assert.deepEqual(r.json<{ identity: IdentityJson }>().identity, a2);
    assert.ok(!(await listSids(t)).includes(a2.sid));
    r = await t.request('GET', `/restful/keyring/${a4.sid}/lock`);
    assert.equal(r.status, 200);
    let sids = await listSids(t);
    assert.ok(!sids.includes(a4.sid));
    assert.ok(sids.includes(a3.sid) && sids.includes(a5.sid), 'others with the same PIN stay unlocked');
    assert.equal((await t.request('PUT', `/restful/keyring/${a4.sid}/lock`)).status, 404);
    sids = await listSids(t, '?pin=abc');
    assert.ok(sids.includes(a2.sid) && !sids.includes(a4.sid));
    sids = await listSids(t, '?pin=xyz');
    assert.ok(sids.includes(a4.sid));
  });

  void it('keyringListPin: a PIN identity is invisible without its PIN, and a wrong PIN reveals nothing', async () => {
    const hidden = await addIdentity(t, '?pin=wif%20waf&name=Hidden');
    await t.request('PUT', `/restful/keyring/${hidden.sid}/lock`);
    const without = await t.request('GET', '/restful/keyring/identities.json');
    const wrong = await t.request('GET', '/restful/keyring/identities.json?pin=wif');
    assert.deepEqual(wrong.body, without.body);
    assert.ok(!without.text.includes(hidden.sid));
    assert.equal((await t.request('GET', `/restful/keyring/${hidden.sid}?pin=nope`)).status, 404);
    assert.ok((await listSids(t, '?pin=wif+waf')).includes(hidden.sid));
  });

  void it('never writes PINs or passwords to the log', async () => {
    await t.request('GET', '/restful/keyring/identities.json?pin=TopSecretPin');
    await t.request('GET', '/restful/keyring/identities.json', { auth: 'Basic ' + Buffer.from('harry:WrongPassword9').toString('base64') });
    const logs = t.logs.join('');
    assert.ok(logs.includes('request completed'));
    assert.ok(!logs.includes('TopSecretPin'));
    assert.ok(!logs.includes('WrongPassword9'));
    assert.ok(!logs.includes('potter'));
  });
});

void describe('keyring persistence', () => {
  void it('identities, PINs and DID/Name survive a restart; PIN identities need their PIN again', async () => {
    const t = await startTestNode();
    const open = await addIdentity(t, '?did=5552222&name=Bob');
    const pinned = await addIdentity(t, '?pin=1234&name=Alice');
    await t.stop();
    const t2 = await startTestNode({ paths: t.paths });
    try {
      const r = await t2.request('GET', `/restful/keyring/${open.sid}`);
      assert.deepEqual(r.json<{ identity: IdentityJson }>().identity, open);
      assert.ok(!(await listSids(t2)).includes(pinned.sid));
      assert.deepEqual((await t2.request('GET', `/restful/keyring/${pinned.sid}?pin=1234`)).json<{ identity: IdentityJson }>().identity, pinned);
    } finally {
      await t2.destroy();
    }
  });
});

void describe('keyring vectors', () => {
  void it('identities loaded from the reference dump list byte-identically to the reference', async () => {
    const t = await startTestNode();
    try {
      const dump = parseKeyringDump(readFileSync(VECTORS.identities('keyring_dump_secret.txt')));
      // The dump lists Carol, Bob, Alice, Dave; Alice has PIN 1234 (PINs apply in order).
      await t.node.keyring.load(dump, ['', '', '1234', '']);
      const r = await t.request('GET', '/restful/keyring/identities.json');
      const vector = readFileSync(VECTORS.http('keyring_identities_4rows.http'), 'latin1');
      const vectorRows = vector.slice(vector.indexOf('"rows":[') + 9).split('\n').filter((l) => l.startsWith('['));
      const rows = r.text.slice(r.text.indexOf('"rows":[') + 9).split('\n').filter((l) => l.startsWith('['));
      const strip = (l: string): string => l.replace(/,$/, '');
      assert.deepEqual(rows.map(strip).sort(), vectorRows.map(strip).sort());
      for (const name of ['alice', 'bob', 'carol', 'dave']) {
        const http = readFileSync(VECTORS.http(`keyring_add_${name}_201.http`), 'latin1');
        const expected = JSON.parse(http.slice(http.indexOf('\r\n\r\n') + 4)) as { identity: IdentityJson };
        const got = await t.request('GET', `/restful/keyring/${expected.identity.sid}`);
        assert.deepEqual(got.json<{ identity: IdentityJson }>().identity, expected.identity, name);
        // Byte-identical identity member, escaping included.
        const member = http.slice(http.indexOf('"identity": '), http.lastIndexOf('}') );
        assert.ok(got.text.includes(member.trimEnd()), name);
      }
    } finally {
      await t.destroy();
    }
  });
});
