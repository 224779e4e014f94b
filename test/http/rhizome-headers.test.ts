/**
 * The `Serval-Rhizome-*` headers against the reference's own responses (spec §3.2): every insert
 * and append of test/vectors/manifests is replayed here byte for byte, and the answers to it and
 * to GET .rhm / raw.bin / decrypted.bin must name the same Rhizome headers in the same order, with
 * the same values wherever a value does not depend on the clock or on randomness (a fresh bundle
 * id, BK and secret; a version or date taken from the clock; the filehash of a payload whose
 * encryption nonce comes from such a version; row ids and insert times).
 *
 * Where everything is determined (journal appends to the reference's own journal) the response
 * body must be the reference's manifest, byte for byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestNode, HARRY, type TestNode } from '../helpers/node.js';
import { bundleVector, importBundle, loadReferenceIdentities, manifestFields } from '../helpers/rhizome.js';
import { VECTORS } from '../helpers/vectors.js';

interface HttpMessage {
  readonly statusLine: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
}

function parseMessage(raw: Buffer): HttpMessage {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a complete response: ${JSON.stringify(raw.subarray(0, 200).toString('latin1'))}`);
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  return {
    statusLine: lines[0]!,
    headers: lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as const),
    body: raw.subarray(end + 4),
  };
}

/** Sends a request (asking the server to close after it) and reads the whole response. */
function exchange(port: number, request: Buffer): Promise<HttpMessage> {
  const at = request.indexOf('\r\n\r\n');
  const closing = Buffer.concat([request.subarray(0, at), Buffer.from('\r\nConnection: close'), request.subarray(at)]);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parseMessage(Buffer.concat(chunks)));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.end(closing);
  });
}

const get = (port: number, path: string): Promise<HttpMessage> =>
  exchange(port, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${HARRY}\r\n\r\n`, 'latin1'));

const rhizomeHeaders = (m: HttpMessage): Array<readonly [string, string]> => m.headers.filter(([k]) => k.startsWith('Serval-Rhizome-'));

const value = (m: HttpMessage, name: string): string | undefined => m.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

function reference(dir: string, file: string): HttpMessage {
  return parseMessage(readFileSync(VECTORS.manifests(dir, file)));
}

/** What of a bundle's headers does not depend on the clock or randomness, per vector. */
interface Fixed {
  /** The bundle id (and with it BK and Secret) is the reference's: a supplied secret or bundle id. */
  readonly id: boolean;
  /** version and date are the reference's (journal appends; date kept from the stored manifest). */
  readonly version: boolean;
  readonly date: boolean;
  /** The filehash is the reference's (no encryption nonce made from a clock-based version). */
  readonly filehash: boolean;
}

function fixedHeaders(f: Fixed): Set<string> {
  const names = [
    'Serval-Rhizome-Result-Bundle-Status-Code',
    'Serval-Rhizome-Result-Bundle-Status-Message',
    'Serval-Rhizome-Result-Payload-Status-Code',
    'Serval-Rhizome-Result-Payload-Status-Message',
    'Serval-Rhizome-Bundle-Filesize',
    'Serval-Rhizome-Bundle-Sender',
    'Serval-Rhizome-Bundle-Recipient',
    'Serval-Rhizome-Bundle-Crypt',
    'Serval-Rhizome-Bundle-Tail',
    'Serval-Rhizome-Bundle-Name',
    'Serval-Rhizome-Bundle-Service',
    'Serval-Rhizome-Bundle-Author',
  ];
  if (f.id) names.push('Serval-Rhizome-Bundle-Id', 'Serval-Rhizome-Bundle-BK', 'Serval-Rhizome-Bundle-Secret');
  if (f.version) names.push('Serval-Rhizome-Bundle-Version');
  if (f.date) names.push('Serval-Rhizome-Bundle-Date');
  if (f.filehash) names.push('Serval-Rhizome-Bundle-Filehash');
  return new Set(names);
}

function assertLike(ours: HttpMessage, ref: HttpMessage, fixed: Set<string>, what: string): void {
  assert.equal(ours.statusLine, ref.statusLine, what);
  assert.equal(value(ours, 'Content-Type'), value(ref, 'Content-Type'), `${what}: Content-Type`);
  const mine = rhizomeHeaders(ours);
  const theirs = rhizomeHeaders(ref);
  assert.deepEqual(
    mine.map(([k]) => k),
    theirs.map(([k]) => k),
    `${what}: the same Serval-Rhizome headers in the same order`,
  );
  for (const [name, v] of theirs) {
    if (fixed.has(name)) assert.equal(value(ours, name), v, `${what}: ${name}`);
  }
}

const CASES: ReadonlyArray<{ dir: string; fixed: Fixed; before?: string }> = [
  { dir: '01_anon_known_secret', fixed: { id: true, version: false, date: false, filehash: true } },
  { dir: '02_authored_bob', fixed: { id: false, version: false, date: false, filehash: true } },
  { dir: '03_file_named_alice', fixed: { id: false, version: false, date: false, filehash: true } },
  { dir: '04_zero_length_carol', fixed: { id: false, version: false, date: false, filehash: true } },
  { dir: '05_custom_service_dave', fixed: { id: false, version: false, date: false, filehash: true } },
  { dir: '06_crypt_sender_recipient', fixed: { id: false, version: false, date: false, filehash: false } },
  { dir: '07_crypt_bundle_secret', fixed: { id: true, version: false, date: false, filehash: false } },
  { dir: '08_journal_v1_create', fixed: { id: false, version: true, date: false, filehash: true } },
  // Appends to the reference's own journal (imported first): everything is determined.
  { dir: '08_journal_v2_append', fixed: { id: true, version: true, date: true, filehash: true }, before: '08_journal_v1_create' },
  { dir: '08_journal_v3_append', fixed: { id: true, version: true, date: true, filehash: true } },
  // An update of the reference's bundle 02 (imported first): the id, BK, secret and date are kept.
  { dir: '10_update_02_v2', fixed: { id: true, version: false, date: true, filehash: true }, before: '02_authored_bob' },
  { dir: '12_inserted_during_newsince', fixed: { id: true, version: false, date: false, filehash: true } },
];

void describe('Serval-Rhizome headers against the reference (spec §3.2)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  for (const c of CASES) {
    void it(`${c.dir}: the insert and the three GETs answer with the reference's header set and order`, async () => {
      if (c.before) {
        const prior = bundleVector(c.before);
        const imported = await importBundle(t, prior.manifest, prior.raw);
        assert.equal(imported.status, 201, imported.text);
      }
      const v = bundleVector(c.dir);
      const fixed = fixedHeaders(c.fixed);
      const inserted = await exchange(t.port, readFileSync(VECTORS.manifests(c.dir, 'insert.request')));
      assertLike(inserted, reference(c.dir, 'insert.response.http'), fixed, `${c.dir} insert`);
      const f = manifestFields(inserted.body);
      assert.equal(value(inserted, 'Serval-Rhizome-Bundle-Id'), f.get('id'));
      assert.equal(value(inserted, 'Content-Length'), String(inserted.body.length));
      if (c.fixed.id && c.fixed.version && c.fixed.date) {
        assert.deepEqual(inserted.body, v.manifest, `${c.dir}: the reference's manifest, byte for byte`);
      } else {
        // The same fields in the same order as the reference serialised them.
        assert.deepEqual([...f.keys()], [...manifestFields(v.manifest).keys()], `${c.dir}: field order`);
      }
      const bid = f.get('id')!;
      const rhm = await get(t.port, `/restful/rhizome/${bid}.rhm`);
      assertLike(rhm, reference(c.dir, 'get_rhm.http'), fixed, `${c.dir} .rhm`);
      assert.deepEqual(rhm.body, inserted.body);
      const raw = await get(t.port, `/restful/rhizome/${bid}/raw.bin`);
      assertLike(raw, reference(c.dir, 'get_raw.http'), fixed, `${c.dir} raw.bin`);
      if (c.fixed.filehash) assert.deepEqual(raw.body, v.raw, `${c.dir}: raw.bin`);
      const dec = await get(t.port, `/restful/rhizome/${bid}/decrypted.bin`);
      assertLike(dec, reference(c.dir, 'get_decrypted.http'), fixed, `${c.dir} decrypted.bin`);
      if (dec.statusLine.startsWith('HTTP/1.1 200')) assert.deepEqual(dec.body, v.decrypted, `${c.dir}: decrypted.bin`);
    });
  }
});
