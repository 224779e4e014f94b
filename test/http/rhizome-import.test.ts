/**
 * Import as curl sends it (chunked, `Expect: 100-continue`), journals that share payloads, and
 * crypt=1 both ways (spec §3.9, §3.10, §7.8, checklist §8.2 RhizomeImport, RhizomeImportLarge,
 * RhizomeImportParamsBad, RhizomeJournalAppendSharedPayload).
 *
 * "Both ways": what the reference encrypted decrypts here, and what Tendril encrypts is exactly
 * what an independent implementation of §7.8 (libsodium's XSalsa20 driven page by page from this
 * file) produces, so the reference can decrypt it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import sodium from 'sodium-native';
import { HARRY, startTestNode, type Reply, type TestNode } from '../helpers/node.js';
import { append, bundleVector, insert, loadReferenceIdentities, manifestFields, MANIFEST_TYPE, referenceIdentities, type RhizomeJson } from '../helpers/rhizome.js';
import { generatedBytes, generatedPayload, multipartStream, postStream, rawPost, type RawExchange, type StreamPart } from '../helpers/rhizome-wire.js';

const ids = referenceIdentities();
const BOB = ids.bob!.sid;
const CAROL = ids.carol!.sid;
const sha512 = (...parts: Array<Buffer | string>): Buffer => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (b: Buffer): string => b.toString('hex').toUpperCase();

const json = (r: RawExchange): RhizomeJson => JSON.parse(r.body.toString('utf8')) as RhizomeJson;

function importParts(manifest: Buffer, payload?: StreamPart['body']): StreamPart[] {
  const parts: StreamPart[] = [{ name: 'manifest', contentType: MANIFEST_TYPE, body: manifest }];
  if (payload !== undefined) parts.push({ name: 'payload', filename: 'payload', body: payload });
  return parts;
}

/** GET a payload as a stream of chunks (never held whole). */
function download(port: number, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, headers: { Authorization: HARRY }, agent: false }, resolve).on('error', reject);
  });
}

void describe('import over the wire (spec §3.10)', () => {
  let source: TestNode;
  let target: TestNode;
  before(async () => {
    [source, target] = await Promise.all([startTestNode(), startTestNode()]);
    await loadReferenceIdentities(source);
  });
  after(async () => {
    await Promise.all([source.destroy(), target.destroy()]);
  });

  void it('RhizomeImport: 100 Continue and 201; again without query 200; with query and a dummy part, no 100 and no body read', async () => {
    const payload = generatedBytes(100, 7);
    const made = await insert(source, { author: BOB, manifest: 'name=imported\n', payload });
    assert.equal(made.status, 201, made.text);
    const f = manifestFields(made.body);
    const query = `?id=${f.get('id')}&version=${f.get('version')}`;

    const first = await rawPost(target.port, `/restful/rhizome/import${query}`, multipartStream(importParts(made.body, payload)));
    assert.deepEqual(first.interim, ['HTTP/1.1 100 Continue']);
    assert.equal(first.statusLine, 'HTTP/1.1 201 Created');
    assert.equal(first.headers.get('content-type'), 'application/json');
    assert.equal(first.headers.get('serval-rhizome-bundle-id'), f.get('id'));
    assert.equal(first.headers.get('serval-rhizome-bundle-version'), f.get('version'));
    assert.equal(first.headers.get('serval-rhizome-bundle-filesize'), '100');
    assert.equal(first.headers.get('serval-rhizome-bundle-filehash'), f.get('filehash'));
    assert.deepEqual(json(first), {
      http_status_code: 201,
      http_status_message: 'Created',
      rhizome_bundle_status_code: 0,
      rhizome_bundle_status_message: 'Bundle new to store',
      rhizome_payload_status_code: 1,
      rhizome_payload_status_message: 'Payload new to store',
    });
    const rhm = await target.request('GET', `/restful/rhizome/${f.get('id')}.rhm`);
    assert.deepEqual(rhm.body, made.body, 'stored exactly as signed');
    assert.deepEqual((await target.request('GET', `/restful/rhizome/${f.get('id')}/raw.bin`)).body, payload);

    const again = await rawPost(target.port, '/restful/rhizome/import', multipartStream(importParts(made.body, payload)));
    assert.deepEqual(again.interim, ['HTTP/1.1 100 Continue']);
    assert.equal(again.statusLine, 'HTTP/1.1 200 Bundle already in store');
    assert.equal(again.headers.get('serval-rhizome-bundle-id'), f.get('id'));
    assert.equal(again.headers.get('serval-rhizome-bundle-version'), f.get('version'));
    assert.equal(again.headers.get('serval-rhizome-bundle-filesize'), '100');
    assert.equal(again.headers.get('serval-rhizome-bundle-filehash'), f.get('filehash'));
    assert.equal(json(again).rhizome_bundle_status_code, 1);

    const dummy = await rawPost(
      target.port,
      `/restful/rhizome/import${query}`,
      multipartStream([{ name: 'dummy', body: 'not read at all' }]),
    );
    assert.deepEqual(dummy.interim, [], 'no 100 Continue');
    assert.equal(dummy.bodySent, false, 'the answer came before the body');
    assert.equal(dummy.statusLine, 'HTTP/1.1 200 Bundle already in store');
    assert.equal(dummy.headers.get('serval-rhizome-bundle-id'), f.get('id'));
    assert.equal(dummy.headers.get('serval-rhizome-bundle-version'), f.get('version'));
    assert.equal(dummy.headers.get('serval-rhizome-bundle-filesize'), '100');
    assert.equal(dummy.headers.has('serval-rhizome-bundle-filehash'), false);
    assert.deepEqual(json(dummy), {
      http_status_code: 200,
      http_status_message: 'Bundle already in store',
      rhizome_bundle_status_code: 1,
      rhizome_bundle_status_message: 'Bundle already in store',
      rhizome_payload_status_code: 2,
      rhizome_payload_status_message: 'Payload already in store',
    });
  });

  void it('RhizomeImportParamsBad: a query naming another id or version is 422 mentioning the query, after 100 Continue', async () => {
    const made = await insert(source, { author: BOB, manifest: 'name=params\n', payload: 'params bad\n' });
    const f = manifestFields(made.body);
    const other = 'F'.repeat(64);
    for (const query of [`?id=${other}&version=${f.get('version')}`, `?id=${f.get('id')}&version=${BigInt(f.get('version')!) + 1n}`, `?id=${f.get('id')}&version=${BigInt(f.get('version')!) - 1n}`]) {
      const r = await rawPost(target.port, `/restful/rhizome/import${query}`, multipartStream(importParts(made.body, Buffer.from('params bad\n'))));
      assert.deepEqual(r.interim, ['HTTP/1.1 100 Continue'], query);
      assert.match(r.statusLine, /^HTTP\/1\.1 422 /, query);
      const body = json(r);
      assert.equal(body.rhizome_bundle_status_code, 4, query);
      assert.match(body.rhizome_bundle_status_message!, /query/, query);
    }
    assert.equal((await target.request('GET', `/restful/rhizome/${f.get('id')}.rhm`)).status, 404, 'nothing imported');
  });

  void it('RhizomeImportLarge: 50 MiB streamed from one node into another, chunked with 100 Continue → 201', { timeout: 60_000 }, async () => {
    const SIZE = 50 * 1024 * 1024;
    const made = await postStream(
      source.port,
      '/restful/rhizome/insert',
      multipartStream([
        { name: 'bundle-author', contentType: 'serval/sid;format=hex', body: BOB },
        { name: 'manifest', contentType: MANIFEST_TYPE, body: 'name=large-import.bin\n' },
        { name: 'payload', body: generatedPayload(SIZE, 99) },
      ]),
    );
    assert.equal(made.status, 201, made.body.toString());
    const f = manifestFields(made.body);
    const raw = await download(source.port, `/restful/rhizome/${f.get('id')}/raw.bin`);
    assert.equal(raw.statusCode, 200);
    const r = await rawPost(
      target.port,
      `/restful/rhizome/import?id=${f.get('id')}&version=${f.get('version')}`,
      multipartStream(importParts(made.body, raw as AsyncIterable<Buffer>)),
    );
    assert.deepEqual(r.interim, ['HTTP/1.1 100 Continue']);
    assert.equal(r.statusLine, 'HTTP/1.1 201 Created', r.body.toString());
    assert.equal(r.headers.get('serval-rhizome-bundle-filesize'), String(SIZE));
    assert.equal(r.headers.get('serval-rhizome-bundle-filehash'), f.get('filehash'));
    const back = await download(target.port, `/restful/rhizome/${f.get('id')}/raw.bin`);
    const hash = createHash('sha512');
    let length = 0;
    for await (const chunk of back as AsyncIterable<Buffer>) {
      hash.update(chunk);
      length += chunk.length;
    }
    assert.equal(length, SIZE);
    assert.equal(hex(hash.digest()), f.get('filehash'));
    assert.deepEqual(readdirSync(join(target.paths.storeDir, 'tmp')), []);
  });
});

void describe('journals sharing payloads (spec §3.9)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  void it('RhizomeJournalAppendSharedPayload: payload status 2 and no new blobs when the bytes are already stored', async () => {
    // One inline, one file-backed (over max_blob_size): both kinds of blob are shared.
    for (const size of [1000, 200_000]) {
      const file1 = generatedBytes(size, size);
      const file2 = generatedBytes(size, size + 1);
      const both = Buffer.concat([file1, file2]);
      assert.equal((await insert(t, { author: BOB, manifest: `name=one${size}\n`, payload: file1 })).status, 201);
      assert.equal((await insert(t, { author: BOB, manifest: `name=both${size}\n`, payload: both })).status, 201);
      const db = new Database(join(t.paths.storeDir, 'rhizome.db'), { readonly: true });
      const blobs = (): number => Number((db.prepare('SELECT count(*) AS n FROM payloads').get() as { n: bigint }).n);
      const files = (): number => readdirSync(join(t.paths.storeDir, 'payloads')).reduce((n, d) => n + readdirSync(join(t.paths.storeDir, 'payloads', d)).length, 0);
      try {
        const [blobsBefore, filesBefore] = [blobs(), files()];
        const first = await append(t, { author: BOB, manifest: `name=shared${size}\n`, payload: file1 });
        assert.equal(first.status, 201, first.text);
        assert.equal(first.headers['serval-rhizome-result-payload-status-code'], '2');
        assert.equal(first.headers['serval-rhizome-bundle-filehash'], hex(sha512(file1)));
        const bid = manifestFields(first.body).get('id')!;
        const second = await append(t, { bundleId: bid, manifest: '', payload: file2 });
        assert.equal(second.status, 201, second.text);
        assert.equal(second.headers['serval-rhizome-result-payload-status-code'], '2');
        assert.equal(second.headers['serval-rhizome-bundle-filehash'], hex(sha512(both)));
        assert.equal(second.headers['serval-rhizome-bundle-filesize'], String(both.length));
        assert.equal(second.headers['serval-rhizome-bundle-version'], String(both.length));
        assert.equal(blobs(), blobsBefore, 'no new payload rows');
        assert.equal(files(), filesBefore, 'no new payload files');
        assert.deepEqual((await t.request('GET', `/restful/rhizome/${bid}/raw.bin`)).body, both);
      } finally {
        db.close();
      }
    }
    assert.deepEqual(readdirSync(join(t.paths.storeDir, 'tmp')), []);
  });
});

/** Adds `offset` to a 24-byte nonce read as a big-endian integer (spec §7.8). */
function addToNonce(nonce: Buffer, offset: number): Buffer {
  const out = Buffer.from(nonce);
  let carry = BigInt(offset);
  for (let i = out.length - 1; i >= 0 && carry > 0n; i--) {
    const sum = BigInt(out[i]!) + (carry & 0xffn);
    out[i] = Number(sum & 0xffn);
    carry = (carry >> 8n) + (sum >> 8n);
  }
  return out;
}

/** Spec §7.8 written out independently: XSalsa20 per 4096-byte page, nonce + page offset. */
function cipher(key: Buffer, nonce: Buffer, logicalStart: number, data: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  let pos = 0;
  while (pos < data.length) {
    const logical = logicalStart + pos;
    const page = logical - (logical % 4096);
    const within = logical - page;
    const n = Math.min(4096 - within, data.length - pos);
    const keystream = Buffer.alloc(within + n);
    sodium.crypto_stream_xor(keystream, Buffer.alloc(within + n), addToNonce(nonce, page), key);
    for (let i = 0; i < n; i++) out[pos + i] = data[pos + i]! ^ keystream[within + i]!;
    pos += n;
  }
  return out;
}

function nonceOf(bid: Buffer, version: bigint): Buffer {
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(version);
  return sha512(v, bid, v).subarray(0, 24);
}

void describe('crypt=1 both ways (spec §7.8)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  const raw = async (bid: string): Promise<Reply> => t.request('GET', `/restful/rhizome/${bid}/raw.bin`);

  void it('the reference encrypted it: 06 (sender/recipient) decrypts here, whole and by Range', async () => {
    const v = bundleVector('06_crypt_sender_recipient');
    const r = await postStream(t.port, '/restful/rhizome/import', multipartStream(importParts(v.manifest, v.raw)));
    assert.equal(r.status, 201, r.body.toString());
    const dec = await t.request('GET', `/restful/rhizome/${v.json.bid}/decrypted.bin`);
    assert.equal(dec.status, 200);
    assert.deepEqual(dec.body, v.decrypted);
    const part = await t.request('GET', `/restful/rhizome/${v.json.bid}/decrypted.bin`, { headers: { Range: 'bytes=4000-8200' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 4000-8200/${v.raw.length}`);
    assert.deepEqual(part.body, v.decrypted!.subarray(4000, 8201));
  });

  void it('Tendril encrypted it with a bundle secret: raw.bin is what §7.8 gives (and only whoever holds the secret can decrypt)', async () => {
    const secret = sha512('tendril crypt test').subarray(0, 32);
    const plain = generatedBytes(10_000, 3);
    const r = await insert(t, { secret: hex(secret), manifest: 'name=selfcrypt\ncrypt=1\n', payload: plain });
    assert.equal(r.status, 201, r.text);
    const f = manifestFields(r.body);
    const bid = Buffer.from(f.get('id')!, 'hex');
    const key = sha512(Buffer.from('sasquatch'), secret, bid).subarray(0, 32);
    const expected = cipher(key, nonceOf(bid, BigInt(f.get('version')!)), 0, plain);
    const stored = await raw(f.get('id')!);
    assert.deepEqual(stored.body, expected);
    assert.equal(f.get('filehash'), hex(sha512(expected)), 'filehash is of the ciphertext');
    // Anonymous: only the inserter knew the secret, so this node cannot decrypt it on a GET.
    assert.equal((await t.request('GET', `/restful/rhizome/${f.get('id')}/decrypted.bin`)).status, 419);
  });

  void it('Tendril encrypted it for a recipient: the pair key of the reference, a fresh nonce per version', async () => {
    const pairKey = Buffer.from(bundleVector('06_crypt_sender_recipient').json.payload_key as string, 'hex');
    const plain = generatedBytes(9000, 4);
    const r = await insert(t, { manifest: `name=to-carol\nsender=${BOB}\nrecipient=${CAROL}\n`, payload: plain });
    assert.equal(r.status, 201, r.text);
    const f = manifestFields(r.body);
    assert.equal(f.get('crypt'), '1');
    const bid = Buffer.from(f.get('id')!, 'hex');
    assert.deepEqual((await raw(f.get('id')!)).body, cipher(pairKey, nonceOf(bid, BigInt(f.get('version')!)), 0, plain));
    const dec = await t.request('GET', `/restful/rhizome/${f.get('id')}/decrypted.bin`, { headers: { Range: 'bytes=4090-4100' } });
    assert.equal(dec.status, 206);
    assert.deepEqual(dec.body, plain.subarray(4090, 4101));
  });

  void it('an encrypted journal continues one keystream across appends (nonce version 0, offsets from the start)', async () => {
    const pairKey = Buffer.from(bundleVector('06_crypt_sender_recipient').json.payload_key as string, 'hex');
    const parts = [generatedBytes(5000, 5), generatedBytes(3000, 6)];
    const first = await append(t, { manifest: `name=secret-journal\nsender=${BOB}\nrecipient=${CAROL}\n`, payload: parts[0] });
    assert.equal(first.status, 201, first.text);
    const bid = manifestFields(first.body).get('id')!;
    const second = await append(t, { bundleId: bid, manifest: '', payload: parts[1] });
    assert.equal(second.status, 201, second.text);
    const plain = Buffer.concat(parts);
    const expected = cipher(pairKey, nonceOf(Buffer.from(bid, 'hex'), 0n), 0, plain);
    assert.deepEqual((await raw(bid)).body, expected);
    assert.equal(manifestFields(second.body).get('filehash'), hex(sha512(expected)));
    assert.deepEqual((await t.request('GET', `/restful/rhizome/${bid}/decrypted.bin`)).body, plain);
  });
});

void describe('import refusals and request-level errors (spec §3.10, §3.11)', () => {
  let source: TestNode;
  let target: TestNode;
  before(async () => {
    [source, target] = await Promise.all([startTestNode(), startTestNode()]);
    await loadReferenceIdentities(source);
  });
  after(async () => {
    await Promise.all([source.destroy(), target.destroy()]);
  });

  const post = (parts: StreamPart[], query = ''): ReturnType<typeof postStream> =>
    postStream(target.port, `/restful/rhizome/import${query}`, multipartStream(parts));
  const members = (r: { body: Buffer }): RhizomeJson => JSON.parse(r.body.toString('utf8')) as RhizomeJson;

  void it('400 for the wrong parts, 422 for a payload that is not the one signed, 422 for a manifest that is not one', async () => {
    const made = await insert(source, { author: BOB, manifest: 'name=refused\n', payload: 'the signed payload' });
    const empty = await insert(source, { author: BOB, manifest: 'name=empty\n', payload: '' });
    const cases: Array<[string, StreamPart[], number, string]> = [
      ['no payload', importParts(made.body), 400, 'Missing "payload" form part'],
      ['payload of an empty bundle', importParts(empty.body, 'x'), 400, 'Spurious "payload" form part'],
      ['payload first', [{ name: 'payload', body: 'x' }, ...importParts(made.body)], 400, 'Missing "manifest" form part'],
      ['bundle-author', [{ name: 'bundle-author', body: BOB }, ...importParts(made.body, 'x')], 400, 'Unsupported "bundle-author" form part'],
      ['bundle-secret', [{ name: 'bundle-secret', body: 'AB'.repeat(32) }, ...importParts(made.body, 'x')], 400, 'Unsupported "bundle-secret" form part'],
      ['two manifests', [...importParts(made.body), ...importParts(made.body, 'the signed payload')], 400, 'Duplicate "manifest" form part'],
      ['short payload', importParts(made.body, 'the signed payloa'), 422, 'Inconsistent filesize'],
      ['other payload', importParts(made.body, 'the signed paylord'), 422, 'Inconsistent filehash'],
      ['not a manifest', importParts(Buffer.from('hello'), 'x'), 422, 'Invalid manifest'],
      ['no id', importParts(Buffer.from('name=x\n\0'), 'x'), 422, "Missing 'id' field"],
      ['manifest type', [{ name: 'manifest', contentType: 'text/plain', body: made.body }], 415, 'Unsupported Content-Type in "manifest" form part'],
    ];
    for (const [what, parts, status, reason] of cases) {
      const r = await post(parts);
      assert.equal(r.status, status, `${what}: ${r.body.toString()}`);
      assert.equal(r.reason, reason, what);
      assert.equal(members(r).http_status_message, reason, what);
      if (status === 422 && reason.startsWith('Inconsistent')) {
        assert.equal(members(r).rhizome_bundle_status_code, 6, what);
        assert.equal(members(r).rhizome_payload_status_code, reason.endsWith('filesize') ? 3 : 4, what);
        assert.equal(r.headers['serval-rhizome-bundle-id'], manifestFields(made.body).get('id'), what);
      }
      if (status === 422 && !reason.startsWith('Inconsistent')) assert.equal(members(r).rhizome_bundle_status_code, 4, what);
    }
    const listed = await target.request('GET', '/restful/rhizome/bundlelist.json');
    assert.equal(listed.json<{ rows: unknown[] }>().rows.length, 0, 'nothing imported');
    assert.deepEqual(readdirSync(join(target.paths.storeDir, 'tmp')), []);
    // Tendril imports a zero-length bundle with no payload part (the reference cannot).
    const ok = await post(importParts(empty.body));
    assert.equal(ok.status, 201);
    assert.deepEqual([members(ok).rhizome_bundle_status_code, members(ok).rhizome_payload_status_code], [0, 0]);
  });

  void it('a payload the store already holds is still read and checked, then shared: 201 with payload status 2', async () => {
    const shared = 'a payload two bundles carry';
    const p = await insert(source, { author: BOB, manifest: 'name=first-carrier\n', payload: shared });
    const q = await insert(source, { author: BOB, manifest: 'name=second-carrier\n', payload: shared });
    const first = await post(importParts(p.body, shared));
    assert.equal(first.status, 201);
    assert.equal(members(first).rhizome_payload_status_code, 1);
    // The reference answers this early with a 201 that stores nothing; Tendril checks the bytes.
    const forged = await post(importParts(q.body, shared.replace('two', 'TWO')));
    assert.equal(forged.status, 422);
    assert.equal(forged.reason, 'Inconsistent filehash');
    const second = await post(importParts(q.body, shared));
    assert.equal(second.status, 201);
    assert.equal(members(second).rhizome_payload_status_code, 2);
    assert.equal((await target.request('GET', `/restful/rhizome/${manifestFields(q.body).get('id')}/raw.bin`)).text, shared);
  });

  void it('411 for an upload without a length; 404 for paths beyond the fixed ones and when Rhizome is off', async () => {
    // Neither Content-Length nor chunked: the reference would read an empty body (docs/api.md).
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: target.port });
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => (text += c));
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
      socket.end(`POST /restful/rhizome/insert HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${HARRY}\r\nContent-Type: multipart/form-data; boundary=x\r\nConnection: close\r\n\r\n`);
    });
    assert.match(raw, /^HTTP\/1\.1 411 /);
    for (const path of ['/restful/rhizome/bundlelist.json/x', '/restful/rhizome/insert/x', `/restful/rhizome/${'A'.repeat(64)}/raw.binx`, `/restful/rhizome/${'A'.repeat(63)}.rhm`, '/restful/rhizome/newsince/bundlelist.jsonx']) {
      assert.equal((await target.request('GET', path)).status, 404, path);
    }
    for (const [key, value] of [['rhizome.enable', '0'], ['rhizome.http.enable', '0']] as const) {
      const off = await startTestNode({ config: { [key]: value } });
      try {
        for (const path of ['/restful/rhizome/bundlelist.json', `/restful/rhizome/${'A'.repeat(64)}.rhm`, '/restful/rhizome/newsince/bundlelist.json']) {
          const r = await off.request('GET', path);
          assert.equal(r.status, 404, `${key}: ${path}`);
        }
        assert.equal((await postStream(off.port, '/restful/rhizome/insert', multipartStream(importParts(Buffer.from(''))))).status, 404);
        assert.equal((await off.request('GET', '/restful/keyring/identities.json')).status, 200, 'the keyring stays');
      } finally {
        await off.destroy();
      }
    }
  });
});
