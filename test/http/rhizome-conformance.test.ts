/**
 * The reference's `tests/rhizomerestful` checklist (spec §8.2) over loopback, for the rows that
 * rhizome-insert, rhizome-list and rhizome-vectors do not already cover in full: lists and
 * newsince with every field, the manifest and payload reads with every header, missing payloads,
 * the insert variants (boundaries, anonymous updates, passphrases, empty payloads, 50 MiB),
 * duplicate detection, and authentication and CORS on a Rhizome path.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, unlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { decodeBundleToken } from '../../src/services/rhizome/token.js';
import { HARRY, RON, startTestNode, type Reply, type TestNode } from '../helpers/node.js';
import { append, insert, loadReferenceIdentities, manifestFields, MANIFEST_TYPE, referenceIdentities, statuses, type RhizomeJson } from '../helpers/rhizome.js';
import { generatedBytes, generatedPayload, multipartStream, postStream } from '../helpers/rhizome-wire.js';

const ids = referenceIdentities();
const BOB = ids.bob!.sid;
const CAROL = ids.carol!.sid;
const HEX64 = /^[0-9A-F]{64}$/;
const sha512 = (b: Buffer | string): string => createHash('sha512').update(b).digest('hex').toUpperCase();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Table {
  header: string[];
  rows: unknown[][];
}

/** Every `Serval-Rhizome-Bundle-*` header agrees with the signed manifest in the body. */
function assertHeadersMatchManifest(r: Reply, signed: Buffer, what: string): void {
  const f = manifestFields(signed);
  const h = (name: string): unknown => r.headers[`serval-rhizome-bundle-${name}`];
  assert.equal(h('id'), f.get('id'), what);
  assert.equal(h('version'), f.get('version'), what);
  assert.equal(h('filesize'), f.get('filesize'), what);
  assert.equal(h('filehash'), f.get('filehash'), what);
  assert.equal(h('bk'), f.get('BK'), what);
  assert.equal(h('date'), f.get('date'), what);
  assert.equal(h('service'), f.get('service'), what);
  assert.equal(h('name'), f.has('name') ? `"${f.get('name')}"` : undefined, what);
  assert.equal(h('sender'), f.get('sender'), what);
  assert.equal(h('recipient'), f.get('recipient'), what);
  assert.equal(h('crypt'), f.get('crypt'), what);
  assert.equal(h('tail'), f.get('tail'), what);
}

const list = async (t: TestNode, query = ''): Promise<Table> => (await t.request('GET', `/restful/rhizome/bundlelist.json${query}`)).json<Table>();

/** The manifest text without the fields an update must not repeat (spec §8.2 RhizomeInsert). */
function stripped(signed: Buffer): string {
  return [...manifestFields(signed)]
    .filter(([k]) => !['version', 'date', 'filehash', 'filesize'].includes(k))
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

/** Reads a streamed table to its end. */
function stream(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Authorization: HARRY }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

void describe('rhizomerestful: lists (spec §8.2)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  void it('AuthBasicMissing / AuthBasicWrong / CORS_Request on a Rhizome path', async () => {
    const path = '/restful/rhizome/bundlelist.json';
    const none = await t.request('GET', path, { auth: null });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Basic realm="Serval RESTful API"');
    assert.equal(none.json<RhizomeJson>().http_status_code, 401);
    const wrong = await t.request('GET', path, { auth: 'Basic ' + Buffer.from('fred:nurks').toString('base64') });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Basic realm="Serval RESTful API"');
    assert.equal((await t.request('GET', path, { auth: RON })).status, 200);
    const pre = await t.request('OPTIONS', path, { auth: null, headers: { Origin: 'http://localhost:1234' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://localhost:1234');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET, POST, OPTIONS');
    assert.equal(pre.headers['access-control-allow-headers'], 'Authorization');
    // `null` is refused unless a server allows it (--allowed-origin=null): any page can be `null`.
    const nul = await t.request('OPTIONS', path, { auth: null, headers: { Origin: 'null' } });
    assert.equal(nul.status, 403);
    assert.equal(nul.headers['access-control-allow-origin'], undefined);
    for (const method of ['OPTIONS', 'GET']) {
      assert.equal((await t.request(method, path, { headers: { Origin: 'http://malevolent.site.com' } })).status, 403, method);
    }
    const ok = await t.request('GET', path, { headers: { Origin: 'http://localhost' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'http://localhost');
  });

  void it('RhizomeList: 100 bundles, 100 rows with every field right, only the newest with a token', async () => {
    const made: Array<{ f: Map<string, string>; r: Reply; i: number }> = [];
    for (let batch = 0; batch < 10; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 10 }, (_, k) => batch * 10 + k).map(async (i) => {
          const r = await insert(t, { author: BOB, manifest: `name=file${i}\n`, payload: `payload number ${i}\n` });
          assert.equal(r.status, 201, r.text);
          return { f: manifestFields(r.body), r, i };
        }),
      );
      made.push(...replies);
    }
    const table = await list(t);
    assert.equal(table.rows.length, 100);
    const col = (name: string): number => table.header.indexOf(name);
    const byId = new Map(table.rows.map((row) => [row[col('id')] as string, row]));
    for (const { f, r, i } of made) {
      const row = byId.get(f.get('id')!);
      assert.ok(row, `bundle ${i} listed`);
      assert.equal(row[col('name')], `file${i}`);
      assert.equal(row[col('service')], 'file');
      assert.equal(row[col('version')], Number(f.get('version')));
      assert.equal(row[col('filesize')], Number(f.get('filesize')));
      assert.equal(row[col('filehash')], f.get('filehash'));
      assert.equal(row[col('filehash')], sha512(`payload number ${i}\n`));
      assert.equal(row[col('date')], Number(f.get('date')));
      assert.equal(row[col('_id')], Number(r.headers['serval-rhizome-bundle-rowid']));
      assert.equal(row[col('.inserttime')], Number(r.headers['serval-rhizome-bundle-inserttime']));
      assert.equal(row[col('.fromhere')], 1);
      assert.equal(row[col('.author')], BOB);
      assert.equal(row[col('sender')], null);
      assert.equal(row[col('recipient')], null);
    }
    const rowids = table.rows.map((row) => row[col('_id')] as number);
    assert.deepEqual(rowids, [...rowids].sort((a, b) => b - a), 'newest first');
    const token = table.rows[0]![col('.token')] as string;
    assert.equal(decodeBundleToken(token, t.node.rhizome.uuid), rowids[0]);
    for (const row of table.rows.slice(1)) assert.equal(row[col('.token')], null);
  });

  void it('RhizomeListNewSince: streams from a token see bundles 6–10 and none of 0–5', async () => {
    // Long enough for five inserts on a loaded machine; the streams end at this timeout.
    const fresh = await startTestNode({ config: { 'api.restful.newsince_timeout': '5s' } });
    try {
      await loadReferenceIdentities(fresh);
      const bids: string[] = [];
      const add = async (i: number): Promise<void> => {
        const r = await insert(fresh, { author: BOB, manifest: `name=ns${i}\n`, payload: `newsince ${i}` });
        assert.equal(r.status, 201, r.text);
        bids[i] = manifestFields(r.body).get('id')!;
      };
      for (let i = 0; i < 6; i++) await add(i);
      const six = await list(fresh);
      assert.equal(six.rows.length, 6);
      const token = six.rows[0]![0] as string;
      const streams = [0, 1, 2].map(() => stream(fresh.port, `/restful/rhizome/newsince/${token}/bundlelist.json`));
      await sleep(200);
      for (let i = 6; i <= 10; i++) await add(i);
      const final = await list(fresh);
      for (const s of await Promise.all(streams)) {
        assert.equal(s.status, 200);
        assert.ok(s.text.endsWith('\n]\n}\n'), 'the stream ends with the table terminator');
        const table = JSON.parse(s.text) as Table;
        assert.deepEqual(table.header, six.header);
        const listed = table.rows.map((row) => row[3]);
        for (let i = 0; i < 6; i++) assert.ok(!listed.includes(bids[i]), `bundle ${i} not listed`);
        assert.deepEqual(listed, bids.slice(6), 'bundles 6–10, oldest first');
        for (const row of table.rows) {
          const expected = final.rows.find((r) => r[3] === row[3])!;
          assert.deepEqual(row.slice(1), expected.slice(1), 'every field as in the list');
          assert.equal(decodeBundleToken(row[0] as string, fresh.node.rhizome.uuid), row[1]);
        }
      }
    } finally {
      await fresh.destroy();
    }
  });
});

void describe('rhizomerestful: manifests and payloads (spec §8.2)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  void it('RhizomeManifest: the body is the manifest; exactly one of each header, with its value', async () => {
    const r = await insert(t, { author: BOB, manifest: 'name=my file.txt\n', payload: 'manifest test\n' });
    assert.equal(r.status, 201, r.text);
    const f = manifestFields(r.body);
    const rhm = await t.request('GET', `/restful/rhizome/${f.get('id')}.rhm`);
    assert.equal(rhm.status, 200);
    assert.equal(rhm.reason, 'OK');
    assert.equal(rhm.headers['content-type'], MANIFEST_TYPE);
    assert.equal(rhm.headers['content-length'], String(r.body.length));
    assert.deepEqual(rhm.body, r.body);
    assert.deepEqual(statuses(rhm), [1, undefined]);
    assert.equal(rhm.headers['serval-rhizome-result-bundle-status-message'], '"Bundle already in store"');
    // Exact values: a repeated header would be joined with ", " and fail these.
    assertHeadersMatchManifest(rhm, rhm.body, 'rhm');
    assert.equal(rhm.headers['serval-rhizome-bundle-name'], '"my file.txt"');
    assert.equal(rhm.headers['serval-rhizome-bundle-service'], 'file');
    assert.equal(rhm.headers['serval-rhizome-bundle-author'], BOB);
    assert.equal(rhm.headers['serval-rhizome-bundle-secret'], r.headers['serval-rhizome-bundle-secret']);
    assert.match(rhm.headers['serval-rhizome-bundle-secret'] as string, HEX64);
    assert.equal(rhm.headers['serval-rhizome-bundle-rowid'], r.headers['serval-rhizome-bundle-rowid']);
    assert.equal(rhm.headers['serval-rhizome-bundle-inserttime'], r.headers['serval-rhizome-bundle-inserttime']);
  });

  /** Two clear and two encrypted bundles (spec §8.2 RhizomePayloadRaw / RhizomePayloadDecrypted). */
  async function fourBundles(): Promise<Array<{ plain: Buffer; f: Map<string, string>; crypt: boolean }>> {
    const specs = [
      { manifest: 'name=clear1\n', plain: Buffer.from('clear payload one\n'), crypt: false },
      { manifest: 'name=clear2\n', plain: generatedBytes(200_000, 11), crypt: false },
      { manifest: 'name=enc1\ncrypt=1\n', plain: Buffer.from('encrypted payload one\n'), crypt: true },
      { manifest: `name=enc2\nsender=${BOB}\nrecipient=${CAROL}\n`, plain: generatedBytes(150_000, 12), crypt: true },
    ];
    const out = [];
    for (const s of specs) {
      const r = await insert(t, { author: BOB, manifest: s.manifest, payload: s.plain });
      assert.equal(r.status, 201, r.text);
      const f = manifestFields(r.body);
      assert.equal(f.get('crypt'), s.crypt ? '1' : undefined);
      out.push({ plain: s.plain, f, crypt: s.crypt });
    }
    return out;
  }

  void it('RhizomePayloadRaw and RhizomePayloadDecrypted: stored bytes and plaintext, statuses 1/2, full headers', async () => {
    for (const { plain, f, crypt } of await fourBundles()) {
      const bid = f.get('id')!;
      const raw = await t.request('GET', `/restful/rhizome/${bid}/raw.bin`);
      assert.equal(raw.status, 200);
      assert.equal(raw.headers['content-type'], 'application/octet-stream');
      assert.equal(raw.headers['content-length'], String(plain.length));
      assert.equal(sha512(raw.body), f.get('filehash'), 'raw.bin is what the filehash names');
      if (crypt) assert.notDeepEqual(raw.body, plain, 'stored encrypted');
      else assert.deepEqual(raw.body, plain);
      assert.deepEqual(statuses(raw), [1, 2]);
      assert.equal(raw.headers['serval-rhizome-result-bundle-status-message'], '"Bundle already in store"');
      assert.equal(raw.headers['serval-rhizome-result-payload-status-message'], '"Payload already in store"');
      const rhm = await t.request('GET', `/restful/rhizome/${bid}.rhm`);
      assertHeadersMatchManifest(raw, rhm.body, `raw ${f.get('name')}`);
      assert.equal(raw.headers['serval-rhizome-bundle-author'], BOB);

      const dec = await t.request('GET', `/restful/rhizome/${bid}/decrypted.bin`);
      assert.equal(dec.status, 200);
      assert.deepEqual(dec.body, plain, 'decrypted.bin is the plaintext');
      assert.deepEqual(statuses(dec), [1, 2]);
      assertHeadersMatchManifest(dec, rhm.body, `decrypted ${f.get('name')}`);
    }
  });

  void it('RhizomePayloadRawNonexistPayload / RhizomePayloadDecryptedNonexistPayload: 404 Payload not found, statuses 1/1', async () => {
    // A file-backed payload whose file is deleted, and an inline one whose row is deleted.
    const big = await insert(t, { author: BOB, manifest: 'name=lost-file\n', payload: Buffer.alloc(300_000, 0x61) });
    const small = await insert(t, { author: BOB, manifest: 'name=lost-row\ncrypt=1\n', payload: 'tiny lost payload' });
    const bigF = manifestFields(big.body);
    const smallF = manifestFields(small.body);
    const hex = bigF.get('filehash')!.toLowerCase();
    unlinkSync(join(t.paths.storeDir, 'payloads', hex.slice(0, 2), hex));
    const db = new Database(join(t.paths.storeDir, 'rhizome.db'));
    try {
      assert.equal(db.prepare('DELETE FROM payloads WHERE hash = ?').run(Buffer.from(smallF.get('filehash')!, 'hex')).changes, 1);
    } finally {
      db.close();
    }
    for (const f of [bigF, smallF]) {
      for (const which of ['raw.bin', 'decrypted.bin']) {
        const r = await t.request('GET', `/restful/rhizome/${f.get('id')}/${which}`);
        const what = `${f.get('name')} ${which}`;
        assert.equal(r.status, 404, what);
        assert.equal(r.reason, 'Payload not found', what);
        assert.equal(r.headers['content-type'], 'application/json');
        assert.deepEqual(statuses(r), [1, 1], what);
        assert.equal(r.headers['serval-rhizome-result-payload-status-message'], '"Payload new to store"');
        assert.deepEqual(r.json(), {
          http_status_code: 404,
          http_status_message: 'Payload not found',
          rhizome_bundle_status_code: 1,
          rhizome_bundle_status_message: 'Bundle already in store',
          rhizome_payload_status_code: 1,
          rhizome_payload_status_message: 'Payload new to store',
        });
        assert.equal(r.headers['serval-rhizome-bundle-id'], f.get('id'));
      }
      // The manifest itself is still there.
      assert.equal((await t.request('GET', `/restful/rhizome/${f.get('id')}.rhm`)).status, 200);
    }
  });
});

void describe('rhizomerestful: insert (spec §8.2)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  void it('RhizomeInsert: four inserts, headers agree with the manifest, listing and extraction; re-inserts', async () => {
    const cases = [
      { author: BOB, manifest: 'name=blarg\n', payload: Buffer.from('File one\n'), filename: 'file1', name: 'blarg' },
      { author: BOB, manifest: 'crypt=1\n', payload: Buffer.from('File two, encrypted\n'), filename: 'file2', name: 'file2' },
      { author: BOB, manifest: '', payload: Buffer.from('File three\n'), filename: 'kibble', name: 'kibble' },
      { author: undefined, manifest: 'service=wah\ncrypt=0\n', payload: Buffer.from('File four\n'), filename: 'file4', name: 'file4' },
    ];
    const made: Array<{ r: Reply; c: (typeof cases)[number] }> = [];
    for (const c of cases) {
      const r = await insert(t, { author: c.author, manifest: c.manifest, payload: c.payload, filename: c.filename });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.headers['content-type'], MANIFEST_TYPE);
      assert.deepEqual(statuses(r), [0, 1]);
      assertHeadersMatchManifest(r, r.body, c.name);
      const f = manifestFields(r.body);
      // service=wah is not a file service: the filename does not become its name.
      assert.equal(f.get('name'), c.author === undefined ? undefined : c.name);
      assert.match(r.headers['serval-rhizome-bundle-secret'] as string, HEX64);
      assert.match(r.headers['serval-rhizome-bundle-rowid'] as string, /^\d+$/);
      assert.match(r.headers['serval-rhizome-bundle-inserttime'] as string, /^\d+$/);
      if (c.author) {
        assert.equal(r.headers['serval-rhizome-bundle-author'], BOB);
        assert.match(f.get('BK')!, HEX64);
      } else {
        assert.equal(r.headers['serval-rhizome-bundle-author'], undefined);
        assert.equal(f.get('BK'), undefined);
      }
      made.push({ r, c });
    }
    assert.equal(manifestFields(made[3]!.r.body).get('service'), 'wah');
    assert.equal(manifestFields(made[3]!.r.body).get('crypt'), '0');

    const table = await list(t);
    for (const { r, c } of made) {
      const row = table.rows.find((x) => x[3] === r.headers['serval-rhizome-bundle-id'])!;
      assert.equal(row[8], c.author ? 1 : 0, '.fromhere');
      assert.equal(row[7], c.author ?? null, '.author');
      const dec = await t.request('GET', `/restful/rhizome/${row[3] as string}/decrypted.bin`);
      assert.deepEqual(dec.body, c.payload, 'extraction round-trips');
    }

    for (const { r, c } of made) {
      const payload = Buffer.from(`updated ${c.name}\n`);
      const again = await insert(t, { manifest: stripped(r.body), payload });
      if (c.author) {
        assert.equal(again.status, 201, again.text);
        assert.deepEqual(statuses(again), [0, 1]);
        const f = manifestFields(again.body);
        assert.equal(f.get('id'), manifestFields(r.body).get('id'));
        assert.equal(f.get('filehash'), again.headers['serval-rhizome-bundle-filehash']);
        const dec = await t.request('GET', `/restful/rhizome/${f.get('id')}/decrypted.bin`);
        assert.deepEqual(dec.body, payload);
      } else {
        assert.equal(again.status, 419, again.text);
        assert.match(again.json<RhizomeJson>().rhizome_bundle_status_message!, /missing bundle secret/i);
        assert.equal(again.json<RhizomeJson>().rhizome_bundle_status_code, 8);
      }
    }
  });

  void it('RhizomeInsertBoundaries: payloads of 7250 to 7700 bytes all insert and read back', async () => {
    for (let size = 7250; size <= 7700; size += 50) {
      // Bytes that look like multipart framing make the boundary search work hardest.
      const payload = Buffer.from(Array.from({ length: size }, (_, i) => '\r\n-'.charCodeAt(i % 3)));
      const r = await insert(t, { author: BOB, manifest: `name=boundary${size}\n`, payload });
      assert.equal(r.status, 201, `${size}: ${r.text}`);
      const f = manifestFields(r.body);
      assert.equal(f.get('filesize'), String(size));
      assert.equal(f.get('filehash'), sha512(payload));
      const raw = await t.request('GET', `/restful/rhizome/${f.get('id')}/raw.bin`);
      assert.deepEqual(raw.body, payload, String(size));
    }
  });

  void it('RhizomeInsertAnon: an anonymous bundle is updated with its hex secret and the stripped manifest', async () => {
    const first = await insert(t, { manifest: 'name=anonymous\n', payload: 'anonymous v1\n' });
    assert.equal(first.status, 201, first.text);
    const secret = first.headers['serval-rhizome-bundle-secret'] as string;
    assert.match(secret, HEX64);
    const bid = manifestFields(first.body).get('id')!;
    const r = await insert(t, { secret, manifest: stripped(first.body), payload: 'anonymous v2, a bit longer\n' });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(statuses(r), [0, 1]);
    const f = manifestFields(r.body);
    assert.equal(f.get('id'), bid);
    assert.equal(f.has('BK'), false);
    assert.ok(BigInt(f.get('version')!) > BigInt(manifestFields(first.body).get('version')!));
    assert.equal(r.headers['serval-rhizome-bundle-secret'], secret);
    assert.equal(r.headers['serval-rhizome-bundle-author'], undefined);
    const row = (await list(t)).rows.find((x) => x[3] === bid)!;
    assert.equal(row[8], 0, '.fromhere');
    assert.equal(row[4], Number(f.get('version')));
    assert.equal((await t.request('GET', `/restful/rhizome/${bid}/raw.bin`)).text, 'anonymous v2, a bit longer\n');
  });

  void it('RhizomeInsertAnonPassphrase: the same BID twice, no BK, the Secret header', async () => {
    const first = await insert(t, { secret: '#This Too Shall Pass', manifest: '', payload: 'passphrase one\n', filename: 'pp.txt' });
    assert.equal(first.status, 201, first.text);
    const f1 = manifestFields(first.body);
    for (const field of ['id', 'version', 'date', 'service', 'name', 'filesize', 'filehash']) assert.ok(f1.has(field), field);
    assert.equal(f1.has('BK'), false);
    assert.match(first.headers['serval-rhizome-bundle-secret'] as string, HEX64);
    const second = await insert(t, { secret: '#This Too Shall Pass', manifest: '', payload: 'passphrase two\n', filename: 'pp.txt' });
    assert.equal(second.status, 201, second.text);
    const f2 = manifestFields(second.body);
    assert.equal(f2.get('id'), f1.get('id'));
    assert.equal(f2.has('BK'), false);
    assert.equal(second.headers['serval-rhizome-bundle-secret'], first.headers['serval-rhizome-bundle-secret']);
    assert.ok(BigInt(f2.get('version')!) > BigInt(f1.get('version')!));
  });

  void it('RhizomeInsertEmpty: an empty payload is bundle 0 / payload 0, stored without a payload', async () => {
    const db = new Database(join(t.paths.storeDir, 'rhizome.db'), { readonly: true });
    const payloadRows = (): number => Number((db.prepare('SELECT count(*) AS n FROM payloads').get() as { n: number }).n);
    try {
      const rowsBefore = payloadRows();
      const r = await insert(t, { manifest: '', payload: '', filename: 'lucky' });
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(statuses(r), [0, 0]);
      assert.equal(r.headers['serval-rhizome-result-payload-status-message'], '"Payload empty"');
      const f = manifestFields(r.body);
      assert.equal(f.get('name'), 'lucky');
      assert.equal(f.get('filesize'), '0');
      assert.equal(f.has('filehash'), false);
      assert.equal(r.headers['serval-rhizome-bundle-filehash'], undefined);
      assert.equal(payloadRows(), rowsBefore, 'no payload row');
      const raw = await t.request('GET', `/restful/rhizome/${f.get('id')}/raw.bin`);
      assert.equal(raw.status, 200);
      assert.equal(raw.body.length, 0);
      assert.equal(raw.headers['content-length'], '0');
    } finally {
      db.close();
    }
  });

  void it('RhizomeUpdateToEmpty: bundle-id, an empty manifest and an empty payload → 201, 0/0', async () => {
    const first = await insert(t, { author: BOB, manifest: 'name=to-be-emptied\n', payload: 'not empty yet\n' });
    const bid = manifestFields(first.body).get('id')!;
    const r = await insert(t, { bundleId: bid, manifest: '', payload: '' });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(statuses(r), [0, 0]);
    const f = manifestFields(r.body);
    assert.equal(f.get('id'), bid);
    assert.equal(f.get('filesize'), '0');
    assert.equal(f.has('filehash'), false);
    assert.equal(f.get('name'), 'to-be-emptied');
    const rhm = await t.request('GET', `/restful/rhizome/${bid}.rhm`);
    assert.deepEqual(rhm.body, r.body, 'the stored manifest is the response');
    // The old payload went with the old version.
    const hex = manifestFields(first.body).get('filehash')!;
    const db = new Database(join(t.paths.storeDir, 'rhizome.db'), { readonly: true });
    try {
      assert.equal(db.prepare('SELECT 1 FROM payloads WHERE hash = ?').get(Buffer.from(hex, 'hex')), undefined);
    } finally {
      db.close();
    }
  });

  void it('duplicate detection: the same payload, service and name by the same author → 200 status 2, the stored bundle', async () => {
    const payload = 'duplicated payload\n';
    const first = await insert(t, { author: BOB, manifest: 'name=dup.txt\n', payload });
    assert.equal(first.status, 201, first.text);
    const count = (await list(t)).rows.length;
    const again = await insert(t, { author: BOB, manifest: 'name=dup.txt\n', payload });
    assert.equal(again.status, 200, again.text);
    // A success is answered like the reference's static manifest response: the default reason.
    assert.equal(again.reason, 'OK');
    assert.equal(again.headers['content-type'], MANIFEST_TYPE);
    assert.deepEqual(statuses(again), [2, 2]);
    assert.equal(again.headers['serval-rhizome-result-bundle-status-message'], '"Duplicate bundle already in store"');
    assert.deepEqual(again.body, first.body, 'the existing bundle is described');
    assert.equal(again.headers['serval-rhizome-bundle-id'], first.headers['serval-rhizome-bundle-id']);
    assert.equal(again.headers['serval-rhizome-bundle-rowid'], first.headers['serval-rhizome-bundle-rowid']);
    assert.equal((await list(t)).rows.length, count, 'nothing new stored');
    // A different name, or an anonymous insert (author not verified), is not a duplicate.
    const other = await insert(t, { author: BOB, manifest: 'name=other.txt\n', payload });
    assert.equal(other.status, 201);
    const anon = await insert(t, { manifest: 'name=dup.txt\n', payload });
    assert.equal(anon.status, 201);
    assert.notEqual(anon.headers['serval-rhizome-bundle-id'], first.headers['serval-rhizome-bundle-id']);
  });

  void it('RhizomeAppendNonJournalForbidden: 422 and the bundle is unchanged', async () => {
    const plain = await insert(t, { author: BOB, manifest: 'name=plain\n', payload: 'plain\n' });
    const bid = manifestFields(plain.body).get('id')!;
    const count = (await list(t)).rows.length;
    const r = await append(t, { bundleId: bid, manifest: '', payload: 'more' });
    assert.equal(r.status, 422);
    assert.equal(r.json<RhizomeJson>().rhizome_bundle_status_message, 'Cannot append to a non-journal');
    assert.equal(r.json<RhizomeJson>().rhizome_bundle_status_code, 4);
    assert.deepEqual((await t.request('GET', `/restful/rhizome/${bid}.rhm`)).body, plain.body);
    assert.equal((await list(t)).rows.length, count);
  });

  void it('RhizomeInsertLarge: 50 MiB → 201, statuses 0/1, and it reads back identical', { timeout: 60_000 }, async () => {
    const SIZE = 50 * 1024 * 1024;
    const hash = createHash('sha512');
    const tapped = function* (): Generator<Buffer> {
      for (const chunk of generatedPayload(SIZE, 50)) {
        hash.update(chunk);
        yield chunk;
      }
    };
    const r = await postStream(
      t.port,
      '/restful/rhizome/insert',
      multipartStream([
        { name: 'bundle-author', contentType: 'serval/sid;format=hex', body: BOB },
        { name: 'manifest', contentType: MANIFEST_TYPE, body: 'name=large.bin\n' },
        { name: 'payload', filename: 'large.bin', body: tapped() },
      ]),
    );
    assert.equal(r.status, 201, r.body.toString());
    assert.equal(r.headers['serval-rhizome-result-bundle-status-code'], '0');
    assert.equal(r.headers['serval-rhizome-result-payload-status-code'], '1');
    const expected = hash.digest('hex').toUpperCase();
    const f = manifestFields(r.body);
    assert.equal(f.get('filesize'), String(SIZE));
    assert.equal(f.get('filehash'), expected);
    const raw = await t.request('GET', `/restful/rhizome/${f.get('id')}/raw.bin`);
    assert.equal(raw.status, 200);
    assert.equal(raw.body.length, SIZE);
    assert.equal(sha512(raw.body), expected);
    assert.deepEqual(readdirSync(join(t.paths.storeDir, 'tmp')), []);
  });
});
