/**
 * Properties of the byte formats, tokens and configuration values (the issue's "every parser and
 * codec"): arbitrary input never throws anything but the catalogue's errors (or returns the API's
 * "not valid" value), and what is encoded decodes to the same thing. The HTTP parsers are in
 * properties-http.test.ts; test/formats/*.test.ts already hold the first properties of manifests
 * and plys, which are not repeated here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildConfig, validateEntry } from '../../src/config/config.js';
import { formatConfigText, parseConfigText } from '../../src/config/file.js';
import { KEYS } from '../../src/config/schema.js';
import { parseBoolean, parseChoice, parseInterval, parsePort, parseScaled, parseUint } from '../../src/config/values.js';
import { bundleKeyPairFromSecret, manifestSigner, signManifest, verifyManifestSignature } from '../../src/crypto/bundle-keys.js';
import { deriveIdentityKeys } from '../../src/crypto/identity.js';
import { sodium } from '../../src/crypto/sodium.js';
import { decodeBase64Url, encodeBase64Url } from '../../src/formats/base64url.js';
import { isHex, parseHex, parseHexAny, toHex } from '../../src/formats/hex.js';
import {
  KEY_TYPE,
  combinedFromDump,
  combinedToDump,
  formatKeyringDump,
  parseKeyringDump,
  type DumpIdentity,
  type DumpKeypair,
} from '../../src/formats/keyring-dump.js';
import { decodeUleb, encodeUleb } from '../../src/formats/leb128.js';
import {
  KNOWN_LABELS,
  Manifest,
  buildManifestForAdd,
  manifestProblems,
  manifestTooBig,
  MAX_MANIFEST_BYTES,
  overlayManifest,
  parseManifest,
  serializeManifestText,
  validateManifest,
} from '../../src/formats/manifest.js';
import {
  decodeMessage,
  decodeTime,
  encodeMessage,
  encodeRecord,
  encodeTime,
  MAX_MESSAGE_BYTES,
  MAX_RECORD_CONTENT,
  recordsBackward,
} from '../../src/formats/ply.js';
import { fromDumpIdentity } from '../../src/services/keyring/keypairs.js';
import { decodeActivityToken, decodePositionToken, encodeActivityToken, encodePositionToken } from '../../src/services/meshmb/tokens.js';
import { decodeMeshmsToken, encodeMeshmsToken } from '../../src/services/meshms/token.js';
import { decodeBundleToken, encodeBundleToken } from '../../src/services/rhizome/token.js';
import { isWellFormed, outcomeOf, PROTOTYPE_NAMES } from '../helpers/properties.js';

// Four times fast-check's default: these run in a few seconds, and parsers face the world.
fc.configureGlobal({ numRuns: 400 });

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b));
const latin1 = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength });
const SAFE = Number.MAX_SAFE_INTEGER;

void describe('manifests: what test/formats/manifest.test.ts does not cover', () => {
  const hex = (n: number) => bytes(n, n).map((b) => b.toString('hex'));
  // Values the parser rewrites into a canonical form of another length: `broadcast` grows to 64
  // hex digits, leading zeros and a `+` sign go.
  const oddField = fc.oneof(
    fc.constantFrom('sender=broadcast', 'recipient=broadcast'),
    hex(32).map((h) => `BK=${h}`),
    fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }).map((v) => `version=000${v}`),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => `date=${v >= 0n ? '+' : ''}${v}`),
    fc.constantFrom('crypt=2', 'service=no spaces', 'name=', 'Name=shadowed'),
  );

  void it('near the 8192-byte limit, parse → serialize → parse holds, or the text is too big and says so', () => {
    fc.assert(
      fc.property(fc.uniqueArray(oddField, { selector: (f) => f.slice(0, f.indexOf('=')).toLowerCase(), maxLength: 6 }), fc.nat(200), (fields, slack) => {
        const head = fields.map((f) => `${f}\n`).join('');
        const padLength = MAX_MANIFEST_BYTES - head.length - 'pad=\n'.length - slack;
        fc.pre(padLength >= 0);
        const source = Buffer.from(`${head}pad=${'x'.repeat(padLength)}\n`, 'latin1');
        const m = parseManifest(source);
        const text = serializeManifestText(m);
        if (text.length <= MAX_MANIFEST_BYTES) {
          assert.deepEqual(parseManifest(text).entries(), m.entries());
        } else {
          // `broadcast` → 64 digits can outgrow the limit: such a manifest can never be signed.
          assert.equal(outcomeOf(() => parseManifest(text)), 'RHIZOME_MANIFEST_INVALID');
          assert.match(manifestTooBig(text) ?? '', /^Manifest too big/);
        }
      }),
      { numRuns: 1200 },
    );
  });

  const anyLabel = fc.oneof(fc.constantFrom(...KNOWN_LABELS), fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,6}$/), latin1(6));
  const anyValue = fc.oneof(latin1(12), hex(32), hex(64), fc.bigInt({ min: -3n, max: 2n ** 64n + 3n }).map(String), fc.constantFrom('broadcast', '', '1', '0'));
  type Edit =
    | { op: 'set'; label: string; value: string }
    | { op: 'delete'; label: string }
    | { op: 'typed'; field: 'id' | 'filehash' | 'sender' | 'version' | 'filesize' | 'date' | 'name' | 'crypt' | 'service'; value: unknown };
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), label: anyLabel, value: anyValue }),
    fc.record({ op: fc.constant('delete' as const), label: anyLabel }),
    // Each typed setter with values of its own type (the compiler refuses others), or undefined.
    ...(
      [
        [['id', 'filehash', 'sender'], bytes(0, 70)],
        [['version', 'filesize', 'date'], fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n })],
        [['name', 'service'], anyValue],
        [['crypt'], fc.boolean()],
      ] as const
    ).map(([fields, value]) =>
      fc.record({ op: fc.constant('typed' as const), field: fc.constantFrom(...fields), value: fc.option(value as fc.Arbitrary<unknown>, { nil: undefined }) }),
    ),
  );

  void it('edits through set, delete and the typed setters throw only RHIZOME_MANIFEST_INVALID, and what they leave re-parses', () => {
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 25 }), (edits) => {
        const m = new Manifest();
        for (const e of edits) {
          outcomeOf(() => {
            if (e.op === 'set') m.set(e.label, e.value);
            else if (e.op === 'delete') m.delete(e.label);
            else (m as unknown as Record<string, unknown>)[e.field] = e.value;
          }, ['RHIZOME_MANIFEST_INVALID']);
        }
        // Every typed getter reads what the setters allowed.
        void [m.id, m.version, m.filesize, m.filehash, m.tail, m.bk, m.service, m.date, m.sender, m.recipient, m.name, m.crypt];
        const text = serializeManifestText(m);
        fc.pre(text.length <= MAX_MANIFEST_BYTES);
        assert.deepEqual(parseManifest(text).entries(), m.entries());
      }),
      { numRuns: 2000 },
    );
  });

  const lines = fc.array(
    fc.oneof(
      oddField,
      fc.tuple(fc.constantFrom(...KNOWN_LABELS, 'x', 'Y'), anyValue).map(([l, v]) => `${l}=${v}`),
      fc.constantFrom('id=' + 'A'.repeat(64), 'version=1', 'filesize=0', 'filesize=3', 'filehash=' + 'B'.repeat(128), 'tail=0', 'service=file', 'service=MeshMS2'),
    ),
    { maxLength: 12 },
  );
  const manifestArb = lines.map((ls) => {
    try {
      return parseManifest(Buffer.from(ls.map((l) => `${l}\n`).join(''), 'latin1'));
    } catch {
      return new Manifest();
    }
  });

  void it('validity, overlay and add-building on any two parsed manifests: a verdict, never an exception', () => {
    fc.assert(
      fc.property(manifestArb, manifestArb, fc.boolean(), (stored, partial, appending) => {
        for (const m of [stored, partial]) {
          const problems = manifestProblems(m);
          assert.equal(validateManifest(m), problems.invalid ?? problems.malformed);
        }
        outcomeOf(() => overlayManifest(stored, partial, { appending }), ['RHIZOME_MANIFEST_INVALID']);
        for (const s of [stored, undefined]) {
          const built = outcomeOf(() => buildManifestForAdd(partial, s, { appending }), ['RHIZOME_MANIFEST_INVALID']);
          if (typeof built === 'object' && 'manifest' in built) assert.equal(built.manifest.isJournal, appending);
        }
      }),
      { numRuns: 2000 },
    );
  });

  void it('a signed serialisation verifies, and its one signature block parses back', () => {
    fc.assert(
      fc.property(manifestArb, bytes(32, 32), (m, seed) => {
        const keys = bundleKeyPairFromSecret(seed);
        m.id = keys.bid;
        const text = serializeManifestText(m);
        fc.pre(manifestTooBig(text) === undefined);
        const signed = signManifest(text, keys.secretKey);
        assert.ok(verifyManifestSignature(signed, keys.bid));
        assert.deepEqual(manifestSigner(signed), keys.bid);
        const again = parseManifest(signed);
        assert.deepEqual(again.entries(), m.entries());
        assert.equal(again.signatureBlocks.length, 1);
      }),
      { numRuns: 400 },
    );
  });

  void it('signature checks on arbitrary bytes answer true or false, never throw', () => {
    fc.assert(
      fc.property(bytes(0, 400), fc.option(bytes(0, 40), { nil: undefined }), (data, id) => {
        assert.equal(typeof verifyManifestSignature(data, id), 'boolean');
        const signer = manifestSigner(data);
        assert.ok(signer === undefined || signer.length === 32);
      }),
      { numRuns: 1200 },
    );
  });
});

void describe('ply records: what test/formats/ply.test.ts does not cover', () => {
  const record = fc.record({ type: fc.integer({ min: 0, max: 15 }), content: fc.oneof({ weight: 9, arbitrary: bytes(0, 40) }, { weight: 1, arbitrary: bytes(MAX_RECORD_CONTENT - 2, MAX_RECORD_CONTENT) }) });

  void it('a sequence of records reads back newest first with its offsets', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), (records) => {
        const encoded = records.map((r) => encodeRecord(r.type, r.content));
        const ply = Buffer.concat(encoded);
        const read = [...recordsBackward(ply)].reverse();
        assert.equal(read.length, records.length);
        let offset = 0;
        read.forEach((r, i) => {
          assert.equal(r.type, records[i]!.type);
          assert.deepEqual(r.content, records[i]!.content);
          assert.equal(r.start, offset);
          offset += encoded[i]!.length;
          assert.equal(r.end, offset);
        });
      }),
    );
  });

  void it('reading back from any offset — past the end, odd, negative — never throws', () => {
    fc.assert(
      fc.property(bytes(0, 60), fc.integer({ min: -4, max: 70 }), (ply, from) => {
        for (const r of recordsBackward(ply, from)) {
          assert.ok(r.start >= 0 && r.end <= ply.length && r.end <= from);
        }
      }),
    );
  });

  void it('messages and times round-trip; too long is a RangeError for the encoder only', () => {
    fc.assert(
      fc.property(bytes(0, 200).filter((t) => !t.includes(0)), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (text, seconds) => {
        const [m] = [...recordsBackward(encodeMessage(text))];
        assert.deepEqual(decodeMessage(m!.content), text);
        const [t] = [...recordsBackward(encodeTime(seconds))];
        assert.equal(decodeTime(t!.content), seconds);
      }),
    );
    assert.throws(() => encodeMessage(Buffer.alloc(MAX_MESSAGE_BYTES + 1)), RangeError);
  });
});

void describe('uleb128, base64url and hex', () => {
  void it('uleb128 round-trips up to 2^64-1; any bytes at any offset decode or say truncated', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), bytes(0, 3), (v, prefix) => {
        const encoded = Buffer.concat([prefix, encodeUleb(v)]);
        assert.deepEqual(decodeUleb(encoded, prefix.length), { value: v, next: encoded.length });
      }),
    );
    fc.assert(
      fc.property(bytes(0, 24), fc.integer({ min: -2, max: 30 }), (data, offset) => {
        const r = decodeUleb(data, offset);
        if (r) assert.ok(r.value >= 0n && r.next > offset && r.next <= data.length);
      }),
    );
  });

  void it('base64url: decode(encode(b)) = b, padded or not; any text decodes or is undefined', () => {
    fc.assert(
      fc.property(bytes(0, 64), (b) => {
        const text = encodeBase64Url(b);
        assert.match(text, /^[A-Za-z0-9_-]*={0,2}$/);
        assert.deepEqual(decodeBase64Url(text), b);
        assert.deepEqual(decodeBase64Url(text.replace(/=+$/, '')), b);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const r = decodeBase64Url(text);
        assert.ok(r === undefined || Buffer.isBuffer(r));
      }),
    );
  });

  void it('hex: parse(toHex(b)) = b in either case; anything else is undefined', () => {
    fc.assert(
      fc.property(bytes(0, 40), fc.boolean(), (b, lower) => {
        const text = lower ? toHex(b).toLowerCase() : toHex(b);
        assert.deepEqual(parseHex(text, b.length), b);
        assert.deepEqual(parseHexAny(text), b);
        assert.ok(isHex(text, b.length));
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.nat(10), (text, n) => {
        const r = parseHex(text, n);
        assert.ok(r === undefined || (r.length === n && toHex(r) === text.toUpperCase()));
        const any = parseHexAny(text);
        assert.ok(any === undefined || toHex(any) === text.toUpperCase());
      }),
    );
  });
});

void describe('tokens', () => {
  const uuid = bytes(16, 16);
  const tokenText = fc.oneof(
    fc.string({ maxLength: 40 }),
    bytes(0, 30).map(encodeBase64Url),
    fc.string({ unit: fc.constantFrom(...'AB_-=/+'), maxLength: 32 }),
    // Well-formed ulebs of any size, as a client might forge them.
    fc
      .tuple(fc.option(fc.nat(255), { nil: undefined }), fc.array(fc.bigInt({ min: 0n, max: 2n ** 72n }), { maxLength: 3 }))
      .map(([first, vs]) => encodeBase64Url(Buffer.concat([first === undefined ? Buffer.alloc(0) : Buffer.of(first), ...vs.map((v) => encodeUleb(v))]))),
  );

  void it('Rhizome newsince: encode → decode gives the row id, for this store only', () => {
    fc.assert(
      fc.property(uuid, uuid, fc.integer({ min: 0, max: SAFE }), (mine, other, rowid) => {
        const token = encodeBundleToken(mine, rowid);
        assert.equal(decodeBundleToken(token, mine), rowid);
        if (!mine.equals(other)) assert.equal(decodeBundleToken(token, other), undefined);
      }),
    );
    fc.assert(
      fc.property(tokenText, uuid, (text, mine) => {
        const r = decodeBundleToken(text, mine);
        assert.ok(r === undefined || (Number.isSafeInteger(r) && r >= 0));
      }),
    );
  });

  const offset = fc.oneof(fc.nat(5000), fc.integer({ min: 0, max: SAFE }));

  void it('MeshMS: encode → decode gives the position; any text decodes to safe integers or undefined', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), offset, offset, (which, at, theirAck) => {
        assert.deepEqual(decodeMeshmsToken(encodeMeshmsToken({ which, offset: at, theirAck })), { which, offset: at, theirAck });
      }),
    );
    fc.assert(
      fc.property(tokenText, (text) => {
        const p = decodeMeshmsToken(text);
        if (p) for (const v of [p.which, p.offset, p.theirAck]) assert.ok(Number.isSafeInteger(v) && v >= 0);
      }),
      { numRuns: 4000 },
    );
  });

  // The reference decodes MeshMB tokens into 12 bytes, so two offsets of up to 2^42 fit: more than
  // any feed or journal holds.
  const feedOffset = fc.oneof(fc.nat(5000), fc.integer({ min: 0, max: 2 ** 42 - 1 }));

  void it('MeshMB: encode → decode gives the offsets; any text decodes to safe integers or undefined', () => {
    fc.assert(
      fc.property(feedOffset, feedOffset, (ack, msg) => {
        assert.equal(decodePositionToken(encodePositionToken(msg)), msg);
        assert.deepEqual(decodeActivityToken(encodeActivityToken({ ack, msg })), { ack, msg });
      }),
    );
    fc.assert(
      fc.property(tokenText, (text) => {
        const p = decodePositionToken(text);
        assert.ok(p === undefined || (Number.isSafeInteger(p) && p >= 0), String(p));
        const a = decodeActivityToken(text);
        if (a) for (const v of [a.ack, a.msg]) assert.ok(Number.isSafeInteger(v) && v >= 0, String(v));
      }),
      { numRuns: 4000 },
    );
  });
});

void describe('configuration values', () => {
  const keys = KEYS.map((k) => k.key.replace('*', 'harry'));
  const anyValue = fc.oneof(
    fc.string({ maxLength: 20 }),
    latin1(20),
    fc.constantFrom(...PROTOTYPE_NAMES, '', ' ', '1', 'on', 'OFF', '65536', '1e3', '0x10', '1.5m', '.5', '5.', '2G', '-1', 'Infinity', 'NaN'),
    fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
  );

  void it('every key, any value: accepted, or CONFIG_INVALID_VALUE; unknown keys CONFIG_UNKNOWN_KEY', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 30 })), anyValue, (key, value) => {
        outcomeOf(() => validateEntry(key, value), ['CONFIG_INVALID_VALUE', 'CONFIG_UNKNOWN_KEY']);
      }),
      { numRuns: 8000 },
    );
  });

  void it('a whole config of such entries builds, frozen, or says which entry is wrong', () => {
    const userKey = fc.stringMatching(/^[A-Za-z0-9_.-]{1,24}$/).map((u) => `api.restful.users.${u}.password`);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(fc.constantFrom(...keys), userKey), anyValue), { maxLength: 16 }), (pairs) => {
        const config = outcomeOf(() => buildConfig(new Map(pairs)), ['CONFIG_INVALID_VALUE', 'CONFIG_UNKNOWN_KEY']);
        if (typeof config === 'object') {
          assert.ok(Object.isFrozen(config) && Object.isFrozen(config.rhizome));
          assert.equal(typeof config.rhizome.enable, 'boolean');
          assert.ok(Number.isSafeInteger(config.api.restful.newsinceTimeoutMs));
        }
      }),
      { numRuns: 2000 },
    );
  });

  void it('names found on Object.prototype are not values', () => {
    for (const name of PROTOTYPE_NAMES) {
      for (const key of ['rhizome.enable', 'rhizome.reliable_clock', 'api.restful.authorization', 'log.level']) {
        assert.equal(outcomeOf(() => validateEntry(key, name)), 'CONFIG_INVALID_VALUE', `${key}=${name}`);
      }
      assert.throws(() => parseBoolean(name));
    }
  });

  // Each syntax's canonical text, as a value of that syntax is written back.
  const space = fc.constantFrom('', ' ', '\t');
  const padded = (arb: fc.Arbitrary<string>) => fc.tuple(space, arb, space).map(([a, v, b]) => `${a}${v}${b}`);

  void it('booleans, ports, choices: valid text → value → canonical text → the same value', () => {
    const bool = padded(fc.constantFrom('1', '0', 'true', 'FALSE', 'Yes', 'no', 'on', 'oFF'));
    fc.assert(fc.property(bool, (t) => assert.equal(parseBoolean(parseBoolean(t) ? '1' : '0'), parseBoolean(t))));
    fc.assert(fc.property(padded(fc.nat(65535).chain((n) => fc.constantFrom(String(n), String(n).padStart(5, '0')))), (t) => assert.equal(parsePort(String(parsePort(t))), parsePort(t))));
    fc.assert(fc.property(padded(fc.nat(10 ** 6).map(String)), (t) => assert.equal(parseUint(String(parseUint(t, 10 ** 6)), 10 ** 6), parseUint(t, 10 ** 6))));
    const choose = parseChoice(['basic', 'noauth']);
    fc.assert(fc.property(padded(fc.constantFrom('basic', 'NoAuth', 'BASIC')), (t) => assert.equal(choose(choose(t)), choose(t))));
  });

  void it('time intervals: valid text → milliseconds → decimal seconds → the same milliseconds', () => {
    const interval = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.option(fc.stringMatching(/^[0-9]{0,6}$/), { nil: undefined }), fc.constantFrom('', 's', 'm', 'h', 'd', 'w'))
      .map(([whole, fraction, unit]) => `${whole}${fraction === undefined ? '' : `.${fraction}`}${unit}`);
    fc.assert(
      fc.property(padded(interval), (text) => {
        const ms = outcomeOf(() => {
          try {
            return parseInterval(text);
          } catch (err) {
            // Only "too large": the text matched the syntax.
            assert.match((err as Error).message, /too large/);
            return undefined;
          }
        });
        if (typeof ms !== 'number') return;
        assert.ok(Number.isSafeInteger(ms) && ms >= 0);
        const canonical = `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`;
        assert.equal(parseInterval(canonical), ms, canonical);
      }),
      { numRuns: 4000 },
    );
  });

  void it('scaled byte counts: valid text → count → decimal → the same count, within the maximum', () => {
    fc.assert(
      fc.property(padded(fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 60n }), fc.constantFrom('', ...'kKmMgGtTpP')).map(([n, s]) => `${n}${s}`)), fc.constantFrom(2n ** 32n - 1n, 2n ** 64n - 1n), (text, max) => {
        let value: bigint;
        try {
          value = parseScaled(text, max);
        } catch (err) {
          assert.match((err as Error).message, /larger than/);
          return;
        }
        assert.ok(value <= max);
        assert.equal(parseScaled(value.toString(), max), value);
      }),
    );
  });

  void it('config files: any text parses or is CONFIG_FILE_MALFORMED; parse → format → parse is the same', () => {
    const line = fc.oneof(
      fc.tuple(fc.constantFrom('a', 'b.c', ' d ', 'e'), fc.constantFrom('=', ' = '), fc.string({ maxLength: 8 }).filter((v) => !/[\r\n]/.test(v))).map(([k, eq, v]) => `${k}${eq}${v}`),
      fc.constantFrom('# comment', '', '   ', '=x', 'novalue', 'a=1', 'a==2'),
      fc.string({ maxLength: 10 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), (ls, eol) => {
        const entries = outcomeOf(() => parseConfigText(ls.join(eol)), ['CONFIG_FILE_MALFORMED']);
        if (typeof entries === 'string') return;
        // A value cannot hold a line break (updateConfigFile refuses one); a stray CR could not be
        // told from a line ending.
        fc.pre([...entries.values()].every((v) => !/[\r\n]/.test(v)));
        assert.deepEqual(parseConfigText(formatConfigText(entries)), entries);
      }),
      { numRuns: 4000 },
    );
  });
});

void describe('keyring dumps', () => {
  const seed = bytes(32, 32);
  const cString = (max: number) => bytes(0, max).filter((b) => !b.includes(0));
  // One name per type number, as the reference names a type (two names for one unknown type
  // could only come from an edited dump, and the reference's duplicate rule ignores names).
  const typeName = (type: number) => `T${type.toString(16)}(${'x'.repeat(type % 3)}`;
  const keypair: fc.Arbitrary<DumpKeypair> = fc.oneof(
    seed.map((s) => combinedToDump(deriveIdentityKeys(s))),
    bytes(16, 80).map((sec) => ({ type: KEY_TYPE.RHIZOME, typeName: 'RHIZOME', sec })),
    fc.record({ did: cString(31), name: cString(63) }).map(({ did, name }) => ({ type: KEY_TYPE.DID, typeName: 'DID', did, name })),
    seed.map((sec) => {
      const pub = Buffer.alloc(32);
      sodium.crypto_scalarmult_base(pub, sec);
      return { type: KEY_TYPE.CRYPTOBOX, typeName: 'CRYPTOBOX', pub, sec };
    }),
    fc.record({ pub: bytes(32, 32), sec: bytes(64, 64) }).map(({ pub, sec }) => ({ type: KEY_TYPE.CRYPTOSIGN, typeName: 'CRYPTOSIGN', pub, sec })),
    fc.record({ pub: bytes(1, 20), sec: bytes(1, 20) }).map(({ pub, sec }) => ({ type: KEY_TYPE.PUBLIC_TAG, typeName: 'PUBLIC_TAG', pub, sec })),
    fc
      .record({ type: fc.integer({ min: 7, max: 255 }), pub: fc.option(bytes(1, 20), { nil: undefined }), sec: fc.option(bytes(1, 20), { nil: undefined }) })
      .map((kp) => ({ type: kp.type, typeName: typeName(kp.type), ...(kp.pub ? { pub: kp.pub } : {}), ...(kp.sec ? { sec: kp.sec } : {}) })),
  );
  const identities = fc.array(fc.array(keypair, { minLength: 1, maxLength: 5 }).map((keypairs): DumpIdentity => ({ keypairs })), { maxLength: 4 });

  void it('with secrets: format → parse → format gives the same text, and parse gives the same keypairs', () => {
    fc.assert(
      fc.property(identities, (ids) => {
        const text = formatKeyringDump(ids, true);
        const parsed = parseKeyringDump(text);
        assert.equal(formatKeyringDump(parsed, true), text);
        assert.equal(parsed.length, ids.length);
        // Each identity comes back with its keypairs (duplicates dropped), whatever the order.
        const key = (kp: DumpKeypair) => JSON.stringify([kp.type, kp.typeName, kp.pub, kp.sec, kp.did, kp.name].map((v) => (Buffer.isBuffer(v) ? toHex(v) : v)));
        const sig = (id: DumpIdentity) => [...new Set(id.keypairs.map(key))].sort().join('|');
        assert.deepEqual(parsed.map(sig).sort(), ids.map(sig).sort());
      }),
      { numRuns: 800 },
    );
  });

  void it('without secrets: the public dump parses, and formats again to the same identities', () => {
    fc.assert(
      fc.property(identities, (ids) => {
        const text = formatKeyringDump(ids, false);
        const lines = (t: string) => {
          const byId = new Map<string, Set<string>>();
          for (const l of t.split('\n').filter(Boolean)) {
            const n = l.slice(0, l.indexOf(':'));
            byId.set(n, (byId.get(n) ?? new Set()).add(l.slice(n.length)));
          }
          return [...byId.values()].map((s) => [...s].sort().join('\n')).sort();
        };
        assert.deepEqual(lines(formatKeyringDump(parseKeyringDump(text), false)), lines(text));
      }),
      { numRuns: 800 },
    );
  });

  void it('combined entries: dump → keys gives the same SID; identities load or say why', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const keys = deriveIdentityKeys(s);
        assert.deepEqual(combinedFromDump(combinedToDump(keys)).sid, keys.sid);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(identities, (ids) => {
        for (const id of parseKeyringDump(formatKeyringDump(ids, true))) {
          outcomeOf(() => fromDumpIdentity(id), ['KEYRING_DUMP_MALFORMED', 'KEYRING_UNSUPPORTED_KEY']);
        }
      }),
      { numRuns: 400 },
    );
  });

  void it('any text, or a dump with random damage, parses or throws KEYRING_DUMP_MALFORMED', () => {
    const pieces = fc.constantFrom(
      '0: ', '1: ', '4294967296: ', 'type=0x06(CRYPTOCOMBINED) ', 'type=0x04(DID) ', 'type=0x00(X) ', 'type=0x03(RHIZOME) ', 'type=0x2a(FUTURE',
      ' pub=', ' sec=', ' DID="', ' Name="', '"', '\\', '\\x4', '\\x41', '\\"', 'AB', 'ABC', ' ', '\t', '\r', '\n', '=', 'x=',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, latin1(6), bytes(0, 40).map(toHex)), { maxLength: 30 }), (parts) => {
        const text = parts.join('');
        const parsed = outcomeOf(() => parseKeyringDump(Buffer.from(text, 'latin1')), ['KEYRING_DUMP_MALFORMED']);
        if (typeof parsed === 'string') return;
        // What parses also formats and parses again, and every entry loads or says why.
        assert.equal(formatKeyringDump(parseKeyringDump(formatKeyringDump(parsed, true)), true), formatKeyringDump(parsed, true));
        for (const id of parsed) outcomeOf(() => fromDumpIdentity(id), ['KEYRING_DUMP_MALFORMED', 'KEYRING_UNSUPPORTED_KEY']);
      }),
      { numRuns: 12000 },
    );
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => void outcomeOf(() => parseKeyringDump(text), ['KEYRING_DUMP_MALFORMED'])));
  });

  void it('DID and Name bytes survive, whatever they are', () => {
    fc.assert(
      fc.property(cString(31), cString(63), (did, name) => {
        const [id] = parseKeyringDump(formatKeyringDump([{ keypairs: [{ type: KEY_TYPE.DID, typeName: 'DID', did, name }] }], false));
        assert.deepEqual(id!.keypairs[0]!.did, did);
        assert.deepEqual(id!.keypairs[0]!.name, name);
        assert.ok(isWellFormed(formatKeyringDump([id!], false)));
      }),
    );
  });
});
