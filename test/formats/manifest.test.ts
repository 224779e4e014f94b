// The Rhizome manifest text (spec §7.3): the reference's manifests, the parser's rules, validity
// reasons, the insert/append overlay, and properties over random input.
// node:test schedules suites and tests itself; `void` marks their promises as deliberately not awaited.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTendrilError } from '../../src/errors.js';
import { toHex } from '../../src/formats/hex.js';
import {
  KNOWN_LABELS,
  Manifest,
  buildManifestForAdd,
  manifestProblems,
  manifestTooBig,
  overlayManifest,
  parseManifest,
  serializeManifestText,
  validateManifest,
} from '../../src/formats/manifest.js';
import { VECTORS as VECTOR_PATHS } from '../helpers/vectors.js';

// The reference daemon's vectors, kept in test/vectors.
const VECTORS = VECTOR_PATHS.root;
const MANIFESTS = join(VECTORS, 'manifests');

interface ManifestVector {
  readonly name: string;
  readonly manifest_text: string;
  readonly manifest_fields_in_order: ReadonlyArray<readonly [string, string]>;
  readonly request_parts: ReadonlyArray<{ readonly name: string; readonly data_hex: string }>;
}

const dirs = readdirSync(MANIFESTS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const vector = (dir: string) => JSON.parse(readFileSync(join(MANIFESTS, dir, 'vector.json'), 'utf8')) as ManifestVector;
const rhm = (dir: string) => readFileSync(join(MANIFESTS, dir, 'manifest.rhm'));
/** Every signed manifest in the vectors, MeshMS and MeshMB included. */
const allManifests = [
  ...dirs.map((d) => join(MANIFESTS, d, 'manifest.rhm')),
  ...['x1_ply_bob', 'x1_ply_carol', 'x1_private_0', 'x1_private_1']
    .flatMap((d) => [d, d.replace('x1', 'x2')])
    .map((d) => join(VECTORS, 'meshms', d, 'manifest.rhm')),
  join(VECTORS, 'meshmb', 'feed', 'manifest.rhm'),
];

const text = (s: string) => Buffer.from(s, 'utf8');
const BID = 'C359AC7B68188E3175C4EBDC5D9CF68606E6A03E96854C6E876CE131AA2440EC';
const HASH = 'AB'.repeat(64);
const SID = 'AA6256760415F49C160CEED6252F3F6276ABBDDF9551435B23784AB44B906E40';

function assertInvalid(bytes: Buffer | string, why?: string): void {
  assert.throws(
    () => parseManifest(typeof bytes === 'string' ? text(bytes) : bytes),
    (err: unknown) => isTendrilError(err) && err.code === 'RHIZOME_MANIFEST_INVALID' && err.status === 422,
    why,
  );
}

const fields = (m: Manifest) => m.entries().map(([l, v]) => [l, v.toString('utf8')]);

void describe('parseManifest on the reference manifests', () => {
  void it('has the vectors', () => {
    assert.ok(dirs.length >= 12);
    assert.ok(allManifests.length >= 21);
  });

  for (const dir of dirs) {
    void it(`${dir}: fields, order and canonical labels as in vector.json; re-serialises identically`, () => {
      const v = vector(dir);
      const bytes = rhm(dir);
      const m = parseManifest(bytes);
      assert.deepEqual(fields(m), v.manifest_fields_in_order);
      assert.equal(m.malformed, undefined);
      assert.equal(m.body.toString('utf8'), v.manifest_text);
      assert.deepEqual(serializeManifestText(m), m.body);
      assert.deepEqual(serializeManifestText(m), bytes.subarray(0, bytes.indexOf(0)));
      assert.equal(m.signatureBlocks.length, 1);
      assert.equal(m.signatureBlocks[0]!.length, 97);
      assert.equal(validateManifest(m), undefined);
      assert.deepEqual(manifestProblems(m), { invalid: undefined, malformed: undefined });
      assert.deepEqual(readFileSync(join(MANIFESTS, dir, 'insert.response.body.rhm')), bytes);
    });
  }

  for (const path of allManifests.filter((p) => !p.startsWith(MANIFESTS))) {
    void it(`${path.slice(VECTORS.length)} parses, validates and re-serialises identically`, () => {
      const bytes = readFileSync(path);
      const m = parseManifest(bytes);
      assert.deepEqual(serializeManifestText(m), bytes.subarray(0, bytes.indexOf(0)));
      assert.equal(validateManifest(m), undefined);
    });
  }

  void it('typed accessors read the known fields (06: sender, recipient, crypt; 08: tail)', () => {
    const m = parseManifest(rhm('06_crypt_sender_recipient'));
    assert.equal(m.service, 'file');
    assert.equal(m.name, 'secret-bob-to-carol.bin');
    assert.equal(toHex(m.sender!), SID);
    assert.equal(toHex(m.recipient!), 'A5419541DEA710D921DD9E37F1DFECB3FB217A6D8E42EF9C6AC82DBD8EE7C71C');
    assert.equal(m.version, 1795347845659n);
    assert.equal(m.date, 1795347845659n);
    assert.equal(m.filesize, 10000n);
    assert.equal(m.crypt, true);
    assert.equal(m.tail, undefined);
    assert.equal(m.isJournal, false);
    assert.equal(m.id?.length, 32);
    assert.equal(m.bk?.length, 32);
    assert.equal(m.filehash?.length, 64);
    const j = parseManifest(rhm('08_journal_v1_create'));
    assert.equal(j.tail, 0n);
    assert.equal(j.isJournal, true);
    assert.equal(j.crypt, undefined);
  });

  void it('05: unknown labels are kept verbatim (mixed case, UTF-8 value, empty value)', () => {
    const m = parseManifest(rhm('05_custom_service_dave'));
    assert.equal(m.getText('CustomField'), 'some value with spaces = and equals');
    assert.equal(m.getText('x9'), 'ünïcödé ✓');
    assert.deepEqual(m.get('emptyval'), Buffer.alloc(0));
    assert.equal(m.get('customfield'), undefined, 'unknown labels match exactly');
    assert.equal(m.getText('UPPERlower123'), '1');
  });

  void it("05: the client's partial manifest parses with its own order", () => {
    const part = vector('05_custom_service_dave').request_parts.find((p) => p.name === 'manifest')!;
    const m = parseManifest(Buffer.from(part.data_hex, 'hex'), { partial: true });
    assert.deepEqual(m.labels(), ['service', 'CustomField', 'x9', 'emptyval', 'UPPERlower123']);
  });
});

void describe('parseManifest rules (§7.3.1)', () => {
  void it('accepts an empty manifest, with or without NUL', () => {
    assert.equal(parseManifest(Buffer.alloc(0)).size, 0);
    assert.equal(parseManifest(Buffer.of(0)).size, 0);
  });

  void it('rejects duplicate fields: known labels in any case, unknown labels exactly', () => {
    assertInvalid('name=a\nname=b\n');
    assertInvalid('name=a\nNAME=b\n');
    assertInvalid('Service=file\nservice=file\n');
    assertInvalid('foo=a\nfoo=b\n');
    assert.deepEqual(parseManifest(text('foo=a\nFoo=b\n')).labels(), ['foo', 'Foo']);
  });

  void it('accepts 256 fields and rejects 257', () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `f${i}=${i}\n`).join('');
    assert.equal(parseManifest(text(lines(256))).size, 256);
    assertInvalid(lines(257));
  });

  void it('accepts 8192 bytes in all and rejects 8193', () => {
    const ok = Buffer.concat([text(`name=${'x'.repeat(8192 - 7)}\n`), Buffer.of(0)]);
    assert.equal(ok.length, 8192);
    assert.equal(parseManifest(ok).name?.length, 8185);
    const tooBig = Buffer.concat([text(`name=${'x'.repeat(8192 - 6)}\n`), Buffer.of(0)]);
    assert.equal(tooBig.length, 8193);
    assertInvalid(tooBig);
  });

  void it('drops one CR before LF and rejects any other CR', () => {
    assert.equal(parseManifest(text('name=a\r\n')).name, 'a');
    assert.deepEqual(parseManifest(text('name=\r\n')).get('name'), Buffer.alloc(0));
    assert.deepEqual(serializeManifestText(parseManifest(text('name=a\r\nfoo=b\r\n'))), text('name=a\nfoo=b\n'));
    assertInvalid('name=a\rb\n');
    assertInvalid('name=a\r\r\n');
    assertInvalid('name=a\r');
    assertInvalid('na\rme=a\n');
  });

  void it('requires every line to end in LF before the NUL or the end', () => {
    assertInvalid('name=a');
    assertInvalid('name=a\0');
    assertInvalid('name=a\nfoo=b');
    assertInvalid('\n');
    assertInvalid('name\n');
    assertInvalid('name=a\n\n');
  });

  void it('checks labels: a letter, then letters or digits, 1 to 80 ASCII characters', () => {
    assertInvalid('=a\n');
    assertInvalid('1abc=a\n');
    assertInvalid('a_b=a\n');
    assertInvalid('a-b=a\n');
    assertInvalid('a b=a\n');
    assertInvalid(Buffer.from('\xe9t\xe9=a\n', 'latin1'));
    assertInvalid('nämé=a\n');
    assert.equal(parseManifest(text(`${'a'.repeat(80)}=a\n`)).size, 1);
    assertInvalid(`${'a'.repeat(81)}=a\n`);
    assert.deepEqual(parseManifest(text('a1B2=x=y\n')).getText('a1B2'), 'x=y');
  });

  void it('keeps any value bytes but NUL, CR and LF, even non-UTF-8', () => {
    const raw = Buffer.concat([text('name='), Buffer.from([0xff, 0xfe, 0x80, 0x01, 0x7f, 0x09]), text('\n')]);
    const m = parseManifest(raw);
    assert.deepEqual(m.get('name'), Buffer.from([0xff, 0xfe, 0x80, 0x01, 0x7f, 0x09]));
    assert.deepEqual(serializeManifestText(m), raw);
  });

  void it('rejects an unparsable core field (invalid)', () => {
    for (const line of [
      'id=XYZ',
      `id=${BID}00`,
      `id=${BID.slice(2)}`,
      'version=0',
      'version=abc',
      'version=-1',
      'version=+5',
      'version= 5',
      'version=18446744073709551616',
      'version=',
      'filesize=18446744073709551615',
      'filesize=1.5',
      'tail=18446744073709551615',
      'tail=-1',
      'filehash=AB',
      `filehash=${HASH}0`,
    ])
      assertInvalid(`service=file\n${line}\n`, line);
  });

  void it('accepts the extremes of the core number fields', () => {
    const m = parseManifest(text('version=18446744073709551615\nfilesize=18446744073709551614\ntail=0\n'));
    assert.equal(m.version, 18446744073709551615n);
    assert.equal(m.filesize, 18446744073709551614n);
    assert.equal(m.tail, 0n);
  });

  void it('drops an unparsable non-core field and marks the manifest malformed (Invalid field)', () => {
    const lines = ['BK=XY', 'service=a b', 'service=', 'service=fïle', 'date=abc', 'date=', 'date=9223372036854775808'];
    lines.push('date=1e3', 'sender=1234', 'recipient=Broadcast', 'crypt=2', 'crypt=');
    for (const line of lines) {
      const label = line.slice(0, line.indexOf('='));
      const m = parseManifest(text(`foo=1\n${line}\nbar=2\n`));
      assert.equal(m.malformed, 'Invalid field', line);
      assert.equal(m.has(label), false, line);
      assert.deepEqual(m.labels(), ['foo', 'bar'], line);
      assert.equal(validateManifest(m), "Missing 'id' field");
    }
  });

  void it('does not count a dropped field as a duplicate of a later one', () => {
    const m = parseManifest(text('date=abc\ndate=5\n'));
    assert.equal(m.date, 5n);
    assert.equal(m.malformed, 'Invalid field');
  });

  void it('recognises known labels in any case and stores them canonically, with canonical values', () => {
    const source = [`ID=${BID.toLowerCase()}`, 'Version=007', 'sender=broadcast', 'DATE=+5', `bk=${'ab'.repeat(32)}`];
    source.push(`FileHash=${HASH.toLowerCase()}`, 'CRYPT=1', 'Name=n');
    const m = parseManifest(text(source.map((l) => `${l}\n`).join('')));
    assert.deepEqual(m.labels(), ['id', 'version', 'sender', 'date', 'BK', 'filehash', 'crypt', 'name']);
    const canonical = [`id=${BID}`, 'version=7', `sender=${'F'.repeat(64)}`, 'date=5', `BK=${'AB'.repeat(32)}`];
    canonical.push(`filehash=${HASH}`, 'crypt=1', 'name=n');
    assert.equal(serializeManifestText(m).toString(), canonical.map((l) => `${l}\n`).join(''));
  });

  void it('parses date as a signed 64-bit integer', () => {
    assert.equal(parseManifest(text('date=-5\n')).date, -5n);
    assert.equal(parseManifest(text('date=-9223372036854775808\n')).date, -(2n ** 63n));
    assert.equal(parseManifest(text('date=9223372036854775807\n')).date, 2n ** 63n - 1n);
    assert.equal(parseManifest(text('date=-9223372036854775809\n')).malformed, 'Invalid field');
  });

  void it('stops the text at the first NUL and splits the signature blocks by 4*TYPE+5', () => {
    const body = text(`service=file\nname=a\n`);
    const other = Buffer.concat([Buffer.of(0x01), Buffer.alloc(8, 0xee)]); // type 1: 9 bytes
    const sig = Buffer.concat([Buffer.of(0x17), Buffer.alloc(96, 0x55)]);
    const overrun = Buffer.of(0x17, 1, 2, 3);
    const m = parseManifest(Buffer.concat([body, Buffer.of(0), other, sig, overrun]));
    assert.deepEqual(m.body, body);
    assert.deepEqual(m.signatureBlocks, [other, sig]);
    assert.deepEqual(m.labels(), ['service', 'name']);
    const afterNul = Buffer.from('garbage=\r\0\n');
    const partial = parseManifest(Buffer.concat([body, Buffer.of(0), afterNul]), { partial: true });
    assert.deepEqual(partial.signatureBlocks, []);
    assert.equal(partial.name, 'a');
  });
});

void describe('Manifest editing', () => {
  void it('keeps the position of a field that is set again and appends new ones', () => {
    const m = parseManifest(text('service=file\nname=a\nfoo=1\n'));
    m.name = 'b';
    m.set('FOO', 'x'); // unknown labels are exact: a new field
    m.version = 5n;
    m.set('Name', 'c');
    assert.equal(serializeManifestText(m).toString(), 'service=file\nname=c\nfoo=1\nFOO=x\nversion=5\n');
    assert.equal(m.delete('name'), true);
    assert.equal(m.delete('name'), false);
    m.name = 'd';
    assert.deepEqual(m.labels(), ['service', 'foo', 'FOO', 'version', 'name']);
    m.version = undefined;
    assert.equal(m.has('version'), false);
  });

  void it('round-trips every typed accessor', () => {
    const m = new Manifest();
    const id = Buffer.alloc(32, 1);
    m.id = id;
    m.version = 2n ** 64n - 1n;
    m.filesize = 0n;
    m.filehash = Buffer.alloc(64, 2);
    m.tail = 7n;
    m.bk = Buffer.alloc(32, 3);
    m.service = 'MeshMS2';
    m.date = -1n;
    m.sender = Buffer.alloc(32, 4);
    m.recipient = Buffer.alloc(32, 5);
    m.name = 'Ünï ✓';
    m.crypt = false;
    assert.deepEqual(m.id, id);
    assert.equal(m.version, 2n ** 64n - 1n);
    assert.equal(m.filesize, 0n);
    assert.deepEqual(m.filehash, Buffer.alloc(64, 2));
    assert.equal(m.tail, 7n);
    assert.deepEqual(m.bk, Buffer.alloc(32, 3));
    assert.equal(m.service, 'MeshMS2');
    assert.equal(m.date, -1n);
    assert.deepEqual(m.sender, Buffer.alloc(32, 4));
    assert.deepEqual(m.recipient, Buffer.alloc(32, 5));
    assert.equal(m.name, 'Ünï ✓');
    assert.equal(m.crypt, false);
    const inSetOrder = ['id', 'version', 'filesize', 'filehash', 'tail', 'BK', 'service', 'date', 'sender', 'recipient'];
    assert.deepEqual(m.labels(), [...inSetOrder, 'name', 'crypt']);
    const again = parseManifest(serializeManifestText(m));
    assert.deepEqual(again.entries(), m.entries());
  });

  void it('refuses what servald could not parse back', () => {
    const m = new Manifest();
    const rejects = (f: () => void) =>
      assert.throws(f, (e: unknown) => isTendrilError(e) && e.code === 'RHIZOME_MANIFEST_INVALID');
    rejects(() => (m.name = 'a\nb'));
    rejects(() => (m.name = 'a\rb'));
    rejects(() => m.set('x', 'a\0b'));
    rejects(() => m.set('bad label', 'x'));
    rejects(() => (m.service = 'a b'));
    rejects(() => (m.version = 0n));
    rejects(() => (m.filesize = 2n ** 64n - 1n));
    rejects(() => (m.date = 2n ** 63n));
    rejects(() => (m.id = Buffer.alloc(31)));
    rejects(() => m.set('crypt', 'yes'));
    for (let i = 0; i < 256; i++) m.set(`f${i}`, '');
    rejects(() => m.set('one', 'too many'));
    m.set('f0', 'replacing is fine');
    assert.equal(m.size, 256);
  });

  void it('clone() is independent', () => {
    const m = parseManifest(text('name=a\n'));
    const c = m.clone();
    c.name = 'b';
    assert.equal(m.name, 'a');
  });
});

void describe('validateManifest (§7.3.3)', () => {
  const SID_1 = Buffer.alloc(32, 1);
  const base = () => {
    const m = new Manifest();
    m.id = Buffer.from(BID, 'hex');
    m.version = 1n;
    m.filesize = 5n;
    m.filehash = Buffer.from(HASH, 'hex');
    m.service = 'file';
    m.name = 'n';
    return m;
  };
  const cases: Array<[string, (m: Manifest) => void, string | undefined]> = [
    ['valid', () => {}, undefined],
    ['no id', (m) => (m.id = undefined), "Missing 'id' field"],
    ['no version', (m) => (m.version = undefined), "Missing 'version' field"],
    ['no filesize', (m) => (m.filesize = undefined), "Missing 'filesize' field"],
    ['filesize 0 with filehash', (m) => (m.filesize = 0n), "Spurious 'filehash' field"],
    ['filesize > 0 without filehash', (m) => (m.filehash = undefined), "Missing 'filehash' field"],
    ['filesize 0 without filehash', (m) => ((m.filesize = 0n), (m.filehash = undefined)), undefined],
    ['no service', (m) => (m.service = undefined), "Missing 'service' field"],
    ['file without name', (m) => (m.name = undefined), "Manifest with service='file' missing 'name' field"],
    ['MeshMS2 without recipient', (m) => ((m.service = 'MeshMS2'), (m.sender = SID_1)), "Manifest missing 'recipient' field"],
    ['MeshMS1 without sender', (m) => ((m.service = 'MeshMS1'), (m.recipient = SID_1)), "Manifest missing 'sender' field"],
    ['MeshMS2 with both, no date', (m) => ((m.service = 'MeshMS2'), (m.sender = m.recipient = SID_1)), undefined],
    ['other service without date', (m) => (m.service = 'MeshMB1'), "Missing 'date' field"],
    ['other service with date', (m) => ((m.service = 'MeshMB1'), (m.date = 1n)), undefined],
    ['service names are case-sensitive', (m) => ((m.service = 'File'), (m.name = undefined)), "Missing 'date' field"],
  ];
  for (const [what, edit, reason] of cases) {
    void it(`${what} → ${reason ?? 'valid'}`, () => {
      const m = base();
      edit(m);
      assert.equal(validateManifest(m), reason);
    });
  }

  void it('reports the first hard failure before any malformation, and both separately', () => {
    const m = new Manifest();
    assert.equal(validateManifest(m), "Missing 'id' field");
    assert.deepEqual(manifestProblems(m), { invalid: "Missing 'id' field", malformed: "Missing 'service' field" });
  });

  void it('reports a parse-time Invalid field when nothing else is wrong', () => {
    const m = parseManifest(text(`id=${BID}\nversion=1\nfilesize=0\nservice=file\nname=n\ncrypt=maybe\n`));
    assert.equal(validateManifest(m), 'Invalid field');
    assert.deepEqual(manifestProblems(m), { invalid: undefined, malformed: 'Invalid field' });
  });
});

void describe('manifestTooBig (§3.8.3 step 7)', () => {
  void it("uses servald's two messages at the exact limits", () => {
    assert.equal(manifestTooBig(Buffer.alloc(8094)), undefined);
    const withSignature = (n: number) => `Manifest too big: body of ${n} + signature of 97 bytes exceeds limit of 8192`;
    assert.equal(manifestTooBig(Buffer.alloc(8095)), withSignature(8096));
    assert.equal(manifestTooBig(Buffer.alloc(8191)), withSignature(8192));
    assert.equal(manifestTooBig(Buffer.alloc(8192)), 'Manifest too big: body of 8193 bytes exceeds limit of 8192');
  });
});

void describe('overlayManifest and buildManifestForAdd (§3.8.1 step 2, §3.9)', () => {
  void it('reproduces update 10 from stored 02: version, filesize, filehash lose their place', () => {
    const stored = parseManifest(rhm('02_authored_bob'));
    const expected = parseManifest(rhm('10_update_02_v2'));
    const result = buildManifestForAdd(parseManifest(Buffer.alloc(0), { partial: true }), stored, { appending: false });
    assert.ok('manifest' in result);
    const m = result.manifest;
    assert.deepEqual(m.labels(), ['service', 'id', 'BK', 'date', 'name']);
    m.version = expected.version;
    m.filesize = expected.filesize;
    m.filehash = expected.filehash;
    assert.deepEqual(serializeManifestText(m), expected.body);
    const storedOrder = ['service', 'version', 'id', 'BK', 'date', 'name', 'filesize', 'filehash'];
    assert.deepEqual(stored.labels(), storedOrder, 'stored is untouched');
  });

  void it('reproduces journal append v2 from v1: fields keep their place', () => {
    const stored = parseManifest(rhm('08_journal_v1_create'));
    const expected = parseManifest(rhm('08_journal_v2_append'));
    const result = buildManifestForAdd(new Manifest(), stored, { appending: true });
    assert.ok('manifest' in result);
    const m = result.manifest;
    assert.deepEqual(m.labels(), stored.labels());
    m.filesize = 45n;
    m.version = (m.tail ?? 0n) + 45n;
    m.filehash = expected.filehash;
    assert.deepEqual(serializeManifestText(m), expected.body);
  });

  void it('overlays known fields in the fixed order, then unknown fields in partial order', () => {
    const stored = parseManifest(text(`zeta=1\nname=old\nid=${BID}\nversion=3\nfilesize=1\nfilehash=${HASH}\nalpha=1\n`));
    const partialText = 'crypt=0\nbeta=2\nalpha=9\nname=new\nservice=x\nsender=broadcast\n';
    const partial = parseManifest(text(partialText), { partial: true });
    const m = overlayManifest(stored, partial, { appending: false });
    assert.deepEqual(fields(m), [
      ['zeta', '1'],
      ['name', 'new'],
      ['id', BID],
      ['alpha', '9'],
      ['service', 'x'],
      ['sender', 'F'.repeat(64)],
      ['crypt', '0'],
      ['beta', '2'],
    ]);
    const appended = overlayManifest(stored, partial, { appending: true });
    assert.deepEqual(appended.labels().slice(0, 6), ['zeta', 'name', 'id', 'version', 'filesize', 'filehash']);
  });

  void it('starts a new journal with filesize=0 and tail=0 appended', () => {
    const partial = parseManifest(text('service=journalvec\nname=journal.log\n'));
    const result = buildManifestForAdd(partial, undefined, { appending: true });
    assert.ok('manifest' in result);
    const expected = 'service=journalvec\nname=journal.log\nfilesize=0\ntail=0\n';
    assert.equal(serializeManifestText(result.manifest).toString(), expected);
  });

  void it("answers the reference's 422 reasons", () => {
    const reason = (partial: string, stored: string | undefined, appending: boolean) => {
      const storedManifest = stored === undefined ? undefined : parseManifest(text(stored));
      const r = buildManifestForAdd(parseManifest(text(partial)), storedManifest, { appending });
      return 'reason' in r ? r.reason : undefined;
    };
    assert.equal(reason('version=5\n', undefined, true), "Cannot set 'version' field in journal append");
    assert.equal(reason('filesize=5\n', undefined, true), "Cannot set 'filesize' field in journal append");
    assert.equal(reason(`filehash=${HASH}\n`, undefined, true), "Cannot set 'filehash' field in journal append");
    assert.equal(reason('', `id=${BID}\nversion=3\n`, true), 'Cannot append to a non-journal');
    assert.equal(reason('tail=0\n', undefined, false), 'Cannot add a journal bundle (use append instead)');
    assert.equal(reason('', `id=${BID}\ntail=0\n`, false), 'Cannot add a journal bundle (use append instead)');
    assert.equal(reason('version=5\n', `id=${BID}\nversion=3\n`, false), undefined);
  });
});

// Arbitraries for well-formed manifests: distinct labels, values each field's syntax accepts.
const hexOf = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex').toUpperCase());
const KNOWN_VALUE: Record<(typeof KNOWN_LABELS)[number], fc.Arbitrary<string>> = {
  id: hexOf(32),
  version: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }).map(String),
  filehash: hexOf(64),
  filesize: fc.bigInt({ min: 0n, max: 2n ** 64n - 2n }).map(String),
  tail: fc.bigInt({ min: 0n, max: 2n ** 64n - 2n }).map(String),
  BK: hexOf(32),
  service: fc.stringMatching(/^[A-Za-z0-9_.]{1,12}$/),
  date: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  sender: hexOf(32),
  recipient: hexOf(32),
  name: fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/[\0\r\n]/.test(s)),
  crypt: fc.constantFrom('0', '1'),
};
const unknownLabel = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9]{0,10}$/)
  .filter((l) => !KNOWN_LABELS.some((k) => k.toLowerCase() === l.toLowerCase()));
const field: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constantFrom(...KNOWN_LABELS).chain((l) => KNOWN_VALUE[l].map((v): [string, string] => [l, v])),
  fc.tuple(unknownLabel, fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !/[\0\r\n]/.test(s))),
);
const manifestFields = fc.uniqueArray(field, { selector: ([l]) => l, maxLength: 40 });

void describe('properties', () => {
  void it('well-formed manifests round-trip: text → fields → identical text', () => {
    fc.assert(
      fc.property(manifestFields, (fs) => {
        const source = Buffer.from(fs.map(([l, v]) => `${l}=${v}\n`).join(''), 'utf8');
        const m = parseManifest(source);
        assert.deepEqual(fields(m), fs);
        assert.equal(m.malformed, undefined);
        assert.deepEqual(serializeManifestText(m), source);
      }),
    );
  });

  const isInvalid = (err: unknown) => isTendrilError(err) && err.code === 'RHIZOME_MANIFEST_INVALID';
  const parsesOrInvalid = (bytes: Uint8Array) => {
    try {
      const m = parseManifest(bytes);
      // Whatever parses serialises to text that parses to the same fields.
      const again = parseManifest(serializeManifestText(m));
      assert.deepEqual(again.entries(), m.entries());
    } catch (err) {
      if (!isInvalid(err)) throw err;
    }
  };

  void it('random bytes either parse or throw RHIZOME_MANIFEST_INVALID', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 9000 }), parsesOrInvalid), { numRuns: 300 });
  });

  void it('random near-manifests either parse or throw RHIZOME_MANIFEST_INVALID', () => {
    const anyCase = (l: string) =>
      fc.array(fc.boolean(), { minLength: l.length, maxLength: l.length }).map((up) =>
        [...l].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''),
      );
    const label = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...KNOWN_LABELS).chain(anyCase) },
      { weight: 2, arbitrary: unknownLabel },
      { weight: 1, arbitrary: fc.constantFrom('', '1x', 'a_b', 'a b', 'é') },
    );
    const value = fc.oneof(
      hexOf(32),
      hexOf(64),
      fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }).map(String),
      fc.constantFrom('', '0', '1', '+1', 'broadcast', 'file', 'MeshMS2', 'a\rb', 'x=y'),
      fc.string({ maxLength: 10 }),
    );
    const end = fc.oneof(
      { weight: 8, arbitrary: fc.constant('\n') },
      { weight: 1, arbitrary: fc.constantFrom('\r\n', '\r', '', '\0') },
    );
    const line = fc.tuple(label, value, end).map(([l, v, e]) => `${l}=${v}${e}`);
    const tail = fc.option(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([Buffer.of(0), b])));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), tail, (lines, sigs) =>
        parsesOrInvalid(Buffer.concat([Buffer.from(lines.join(''), 'utf8'), sigs ?? Buffer.alloc(0)])),
      ),
      { numRuns: 2000 },
    );
  });
});
