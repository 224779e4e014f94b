/**
 * Rhizome insert, append and the read endpoints over loopback (spec §3.2, §3.5 – §3.9, checklist
 * §8.2).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from '../helpers/node.js';
import {
  addParts,
  append,
  insert,
  loadReferenceIdentities,
  manifestFields,
  MANIFEST_TYPE,
  postForm,
  referenceIdentities,
} from '../helpers/rhizome.js';

const ids = referenceIdentities();
const BOB = ids.bob!.sid;
const CAROL = ids.carol!.sid;
const sha512 = (b: Buffer | string): string => createHash('sha512').update(b).digest('hex').toUpperCase();
const HEX64 = /^[0-9A-F]{64}$/;

void describe('rhizome insert', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  void it('RhizomeInsert: an authored bundle gets 201, its manifest as the body, and every header', async () => {
    const payload = 'Hello world!\n';
    const r = await insert(t, { author: BOB, manifest: 'name=hello.txt\n', payload, filename: 'ignored.txt' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.reason, 'Created');
    assert.equal(r.headers['content-type'], MANIFEST_TYPE);
    assert.equal(r.headers['serval-rhizome-result-bundle-status-code'], '0');
    assert.equal(r.headers['serval-rhizome-result-bundle-status-message'], '"Bundle new to store"');
    assert.equal(r.headers['serval-rhizome-result-payload-status-code'], '1');
    assert.equal(r.headers['serval-rhizome-result-payload-status-message'], '"Payload new to store"');
    const f = manifestFields(r.body);
    assert.equal(f.get('name'), 'hello.txt');
    assert.equal(f.get('service'), 'file');
    assert.equal(f.get('filesize'), '13');
    assert.equal(f.get('filehash'), sha512(payload));
    assert.match(f.get('BK')!, HEX64);
    assert.equal(r.headers['serval-rhizome-bundle-id'], f.get('id'));
    assert.equal(r.headers['serval-rhizome-bundle-version'], f.get('version'));
    assert.equal(r.headers['serval-rhizome-bundle-filesize'], '13');
    assert.equal(r.headers['serval-rhizome-bundle-filehash'], f.get('filehash'));
    assert.equal(r.headers['serval-rhizome-bundle-bk'], f.get('BK'));
    assert.equal(r.headers['serval-rhizome-bundle-date'], f.get('date'));
    assert.equal(r.headers['serval-rhizome-bundle-name'], '"hello.txt"');
    assert.equal(r.headers['serval-rhizome-bundle-service'], 'file');
    assert.equal(r.headers['serval-rhizome-bundle-author'], BOB);
    assert.match(r.headers['serval-rhizome-bundle-secret'] as string, HEX64);
    assert.match(r.headers['serval-rhizome-bundle-rowid'] as string, /^\d+$/);
    assert.match(r.headers['serval-rhizome-bundle-inserttime'] as string, /^\d+$/);

    const bid = f.get('id')!;
    const rhm = await t.request('GET', `/restful/rhizome/${bid}.rhm`);
    assert.equal(rhm.status, 200);
    assert.deepEqual(rhm.body, r.body);
    assert.equal(rhm.headers['serval-rhizome-result-bundle-status-code'], '1');
    assert.equal(rhm.headers['serval-rhizome-result-payload-status-code'], undefined);
    assert.equal(rhm.headers['serval-rhizome-bundle-author'], BOB);
    assert.equal(rhm.headers['serval-rhizome-bundle-secret'], r.headers['serval-rhizome-bundle-secret']);
    const raw = await t.request('GET', `/restful/rhizome/${bid}/raw.bin`);
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-type'], 'application/octet-stream');
    assert.equal(raw.text, payload);
    assert.equal(raw.headers['serval-rhizome-result-payload-status-code'], '2');
  });

  void it('takes the name from the payload filename when the manifest has none', async () => {
    const r = await insert(t, { author: BOB, manifest: '', payload: 'kibble bits', filename: 'dir/kibble' });
    assert.equal(r.status, 201, r.text);
    assert.equal(manifestFields(r.body).get('name'), 'kibble');
    assert.equal(r.headers['serval-rhizome-bundle-name'], '"kibble"');
  });

  void it('an anonymous bundle with no name and no filename is 422 with the reference reason', async () => {
    const r = await insert(t, { manifest: '', payload: 'x' });
    assert.equal(r.status, 422);
    assert.equal(r.json<{ rhizome_bundle_status_message: string }>().rhizome_bundle_status_message, "Manifest with service='file' missing 'name' field");
  });

  void it('updating an authored bundle needs no secret; an anonymous one fails with Missing bundle secret', async () => {
    const authored = await insert(t, { author: BOB, manifest: 'name=v1\n', payload: 'one' });
    const anon = await insert(t, { manifest: 'name=anon\n', payload: 'one' });
    assert.equal(anon.status, 201);
    assert.equal(anon.headers['serval-rhizome-bundle-author'], undefined);
    for (const [first, expected] of [
      [authored, 201],
      [anon, 419],
    ] as const) {
      const bid = manifestFields(first.body).get('id')!;
      const r = await insert(t, { bundleId: bid, manifest: '', payload: 'two!' });
      assert.equal(r.status, expected, r.text);
      if (expected === 201) {
        const f = manifestFields(r.body);
        assert.equal(f.get('id'), bid);
        assert.equal(f.get('BK'), manifestFields(first.body).get('BK'));
        assert.ok(BigInt(f.get('version')!) > BigInt(manifestFields(first.body).get('version')!));
      } else {
        assert.match(r.json<{ rhizome_bundle_status_message: string }>().rhizome_bundle_status_message, /missing bundle secret/i);
      }
    }
  });

  void it('a passphrase secret makes the same bundle id each time; with an author the BK is the same too', async () => {
    const a = await insert(t, { author: BOB, secret: '#This Too Shall Pass', manifest: 'name=pp\n', payload: 'first' });
    const b = await insert(t, { author: BOB, secret: '#This Too Shall Pass', manifest: 'name=pp\n', payload: 'second' });
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.equal(manifestFields(a.body).get('id'), manifestFields(b.body).get('id'));
    assert.equal(manifestFields(a.body).get('BK'), manifestFields(b.body).get('BK'));
    assert.equal(a.headers['serval-rhizome-bundle-secret'], b.headers['serval-rhizome-bundle-secret']);
  });

  void it('sender and recipient imply crypt=1; both parties decrypt; the raw bytes differ', async () => {
    const plain = Buffer.alloc(10_000, 7);
    const r = await insert(t, { manifest: `sender=${BOB}\nrecipient=${CAROL}\nname=secret\n`, payload: plain });
    assert.equal(r.status, 201, r.text);
    const f = manifestFields(r.body);
    assert.equal(f.get('crypt'), '1');
    const bid = f.get('id')!;
    const raw = await t.request('GET', `/restful/rhizome/${bid}/raw.bin`);
    assert.notDeepEqual(raw.body, plain);
    assert.equal(raw.body.length, plain.length);
    const dec = await t.request('GET', `/restful/rhizome/${bid}/decrypted.bin`);
    assert.equal(dec.status, 200);
    assert.deepEqual(dec.body, plain);
  });

  void it('Range: partial 206 with Content-Range, suffix, whole, multi → whole, unsatisfiable 416, malformed 400', async () => {
    const payload = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    const r = await insert(t, { author: BOB, manifest: 'name=range\n', payload });
    const bid = manifestFields(r.body).get('id')!;
    const get = (range: string, which = 'raw.bin'): ReturnType<TestNode['request']> =>
      t.request('GET', `/restful/rhizome/${bid}/${which}`, { headers: { Range: range } });
    const mid = await get('bytes=100-199');
    assert.equal(mid.status, 206);
    assert.equal(mid.reason, 'OK');
    assert.equal(mid.headers['content-range'], 'bytes 100-199/10000');
    assert.deepEqual(mid.body, payload.subarray(100, 200));
    const zero = await get('bytes=0-0');
    assert.deepEqual(zero.body, payload.subarray(0, 1));
    const tail = await get('bytes=-100');
    assert.deepEqual(tail.body, payload.subarray(9900));
    const open = await get('bytes=9990-');
    assert.deepEqual(open.body, payload.subarray(9990));
    const whole = await get('bytes=0-99999');
    assert.equal(whole.status, 200);
    assert.deepEqual(whole.body, payload);
    const multi = await get('bytes=0-1,5-6');
    assert.equal(multi.status, 200);
    assert.equal(multi.body.length, payload.length);
    const none = await get('bytes=10000-');
    assert.equal(none.status, 416);
    assert.equal(none.headers['content-range'], 'bytes */10000');
    assert.equal(none.json<{ http_status_code: number }>().http_status_code, 416);
    assert.equal((await get('bytes=200-100')).status, 400);
    assert.equal((await get('pages=1-2')).status, 400);
    const decMid = await get('bytes=4090-4200', 'decrypted.bin');
    assert.deepEqual(decMid.body, payload.subarray(4090, 4201));
    // The node keeps serving after every one of these.
    assert.equal((await t.request('GET', `/restful/rhizome/${bid}.rhm`)).status, 200);
  });

  void it('form-part errors: missing, duplicate, misplaced, unsupported, wrong type, overflow', async () => {
    const cases: Array<[string, ReturnType<typeof addParts>, number, RegExp]> = [
      ['payload only', addParts({ payload: 'x' }), 400, /Missing "manifest" form part/],
      ['manifest only', addParts({ manifest: 'name=x\n' }), 400, /Missing "payload" form part/],
      ['two manifests', [...addParts({ manifest: 'name=x\n' }), ...addParts({ manifest: 'name=y\n', payload: 'p' })], 400, /Duplicate "manifest" form part/],
      ['two payloads', [...addParts({ manifest: 'name=x\n', payload: 'a' }), { name: 'payload', body: 'b' }], 400, /Duplicate "payload" form part/],
      ['payload first', [{ name: 'payload', body: 'p' }, ...addParts({ manifest: 'name=x\n' })], 400, /Missing "manifest" form part/],
      ['extra part', addParts({ manifest: 'name=x\n', payload: 'p', extra: [{ name: 'happyhappy', body: 'joy' }] }), 400, /Unsupported "happyhappy" form part/],
      ['author after manifest', [...addParts({ manifest: 'name=x\n' }), { name: 'bundle-author', body: BOB }], 400, /Spurious "bundle-author" form part/],
      ['bad author hex', addParts({ author: 'Z'.repeat(64), manifest: 'name=x\n', payload: 'p' }), 400, /Invalid "bundle-author" form part/],
      ['manifest type', [{ name: 'manifest', contentType: 'rhizome-manifest/text', body: 'name=x\n' }, { name: 'payload', body: 'p' }], 415, /Unsupported Content-Type in "manifest" form part/],
      ['manifest format', [{ name: 'manifest', contentType: 'rhizome/manifest; format="text"', body: 'name=x\n' }, { name: 'payload', body: 'p' }], 415, /Unsupported Content-Type in "manifest" form part/],
      ['overflow', addParts({ manifest: `foo=${'x'.repeat(8189)}\n`, payload: 'p' }), 400, /Overflow in "manifest" form part/],
    ];
    const before = (await t.request('GET', '/restful/rhizome/bundlelist.json')).json<{ rows: unknown[] }>().rows.length;
    for (const [what, parts, status, reason] of cases) {
      const r = await postForm(t, '/restful/rhizome/insert', parts);
      assert.equal(r.status, status, what);
      assert.match(r.reason, reason, what);
    }
    const after = (await t.request('GET', '/restful/rhizome/bundlelist.json')).json<{ rows: unknown[] }>().rows.length;
    assert.equal(after, before, 'nothing stored');
  });

  void it('manifest problems: journal forbidden, too big, bad size and hash', async () => {
    const journal = await insert(t, { manifest: 'tail=0\n', payload: 'p' });
    assert.equal(journal.status, 422);
    assert.equal(journal.json<{ rhizome_bundle_status_message: string }>().rhizome_bundle_status_message, 'Cannot add a journal bundle (use append instead)');
    const big = await insert(t, { author: BOB, manifest: `foo=${'x'.repeat(8185)}\n`, payload: 'p', filename: 'big.txt' });
    assert.equal(big.status, 422);
    assert.match(big.json<{ rhizome_bundle_status_message: string }>().rhizome_bundle_status_message, /Manifest too big/);
    for (const size of [6, 100]) {
      const r = await insert(t, { author: BOB, manifest: `name=s\nfilesize=${size}\n`, payload: 'ninebytes' });
      assert.equal(r.status, 422);
      assert.equal(r.reason, 'Inconsistent filesize');
      const body = r.json<{ rhizome_payload_status_code: number; rhizome_bundle_status_message: string }>();
      assert.equal(body.rhizome_payload_status_code, 3);
      assert.equal(body.rhizome_bundle_status_message, `Payload size (9) contradicts manifest (filesize=${size})`);
    }
    const hash = await insert(t, { author: BOB, manifest: `name=h\nfilehash=${'F'.repeat(128)}\n`, payload: 'ninebytes' });
    assert.equal(hash.status, 422);
    assert.equal(hash.reason, 'Inconsistent filehash');
    assert.equal(hash.json<{ rhizome_payload_status_code: number }>().rhizome_payload_status_code, 4);
  });

  void it('an empty payload is stored as an empty bundle (payload status 0)', async () => {
    const r = await insert(t, { author: BOB, manifest: '', payload: '', filename: 'lucky' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers['serval-rhizome-result-payload-status-code'], '0');
    const f = manifestFields(r.body);
    assert.equal(f.get('filesize'), '0');
    assert.equal(f.has('filehash'), false);
    const raw = await t.request('GET', `/restful/rhizome/${f.get('id')}/raw.bin`);
    assert.equal(raw.status, 200);
    assert.equal(raw.body.length, 0);
  });

  void it('RhizomeJournalAppend: appends grow the journal; version = tail + filesize; append to non-journal 422', async () => {
    const first = await append(t, { author: BOB, manifest: 'service=anything\nname=hoopla\nrandom=rubbish\n', payload: 'line one\n' });
    assert.equal(first.status, 201, first.text);
    const f1 = manifestFields(first.body);
    assert.equal(f1.get('tail'), '0');
    assert.equal(f1.get('filesize'), '9');
    assert.equal(f1.get('version'), '9');
    assert.equal(first.headers['serval-rhizome-bundle-tail'], '0');
    const second = await append(t, { bundleId: f1.get('id'), manifest: '', payload: 'line two\n' });
    assert.equal(second.status, 201, second.text);
    const f2 = manifestFields(second.body);
    assert.equal(f2.get('filesize'), '18');
    assert.equal(f2.get('version'), '18');
    assert.equal(f2.get('filehash'), sha512('line one\nline two\n'));
    const raw = await t.request('GET', `/restful/rhizome/${f1.get('id')}/raw.bin`);
    assert.equal(raw.text, 'line one\nline two\n');
    const plain = await insert(t, { author: BOB, manifest: 'name=plain\n', payload: 'x' });
    const bad = await append(t, { bundleId: manifestFields(plain.body).get('id'), manifest: '', payload: 'more' });
    assert.equal(bad.status, 422);
    assert.equal(bad.json<{ rhizome_bundle_status_message: string }>().rhizome_bundle_status_message, 'Cannot append to a non-journal');
    const versioned = await append(t, { manifest: 'version=5\n', payload: 'v' });
    assert.equal(versioned.json<{ rhizome_bundle_status_message: string }>().rhizome_bundle_status_message, "Cannot set 'version' field in journal append");
  });

  void it('RhizomeManifestNonexist and friends: unknown BID → 404 Bundle not found with bundle status 0 only', async () => {
    for (const suffix of ['.rhm', '/raw.bin', '/decrypted.bin']) {
      const r = await t.request('GET', `/restful/rhizome/${'0'.repeat(63)}1${suffix}`);
      assert.equal(r.status, 404, suffix);
      assert.equal(r.reason, 'Bundle not found');
      assert.equal(r.headers['serval-rhizome-result-bundle-status-code'], '0');
      assert.equal(r.headers['serval-rhizome-result-payload-status-code'], undefined);
      assert.deepEqual(r.json(), {
        http_status_code: 404,
        http_status_message: 'Bundle not found',
        rhizome_bundle_status_code: 0,
        rhizome_bundle_status_message: 'Bundle new to store',
      });
    }
  });

  void it('wrong verbs are 405 and unknown sub-paths 404 in the Rhizome family', async () => {
    assert.equal((await t.request('GET', '/restful/rhizome/insert')).status, 405);
    assert.equal((await t.request('POST', '/restful/rhizome/bundlelist.json', { headers: { 'Content-Length': 0 } })).status, 405);
    assert.equal((await t.request('GET', '/restful/rhizome/bundlelist.jsonx')).status, 404);
    assert.equal((await t.request('GET', `/restful/rhizome/${'A'.repeat(64)}.rhmx`)).status, 404);
  });
});
