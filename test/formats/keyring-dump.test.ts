// The `servald keyring dump` text format, against the reference's own output (vectors/identities).
// node:test schedules suites and tests itself; `void` marks their promises as deliberately not awaited.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deriveIdentityKeys, newIdentitySeed } from '../../src/crypto/identity.js';
import { isTendrilError } from '../../src/errors.js';
import { toHex } from '../../src/formats/hex.js';
import {
  KEY_TYPE,
  combinedFromDump,
  combinedToDump,
  formatKeyringDump,
  parseKeyringDump,
  type DumpIdentity,
  type DumpKeypair,
} from '../../src/formats/keyring-dump.js';
import { VECTORS } from '../helpers/vectors.js';

const DIR = VECTORS.file('identities');
const secretDump = readFileSync(`${DIR}/keyring_dump_secret.txt`);
const publicDump = readFileSync(`${DIR}/keyring_dump_public.txt`);

interface VectorIdentity {
  label: string;
  sid: string;
  identity: string;
  signing_seed: string;
  rhizome_secret: string;
  did: string | null;
  name: string | null;
  keyring_dump_index: number;
}
const vectors = (
  JSON.parse(readFileSync(VECTORS.file('identities.json'), 'utf8')) as { identities: VectorIdentity[] }
).identities;

const secretLines = secretDump.toString('utf8').trimEnd().split('\n');
const combinedLine = secretLines.find((l) => l.startsWith('0: type=0x06'))!;
const rhizomeLine = secretLines.find((l) => l.startsWith('0: type=0x03'))!;

/** Deterministic shuffle (a small LCG), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Asserts a KEYRING_DUMP_MALFORMED whose message quotes no key material. */
function assertMalformed(text: string, why: RegExp): void {
  assert.throws(
    () => parseKeyringDump(text),
    (err: unknown) => {
      assert.ok(isTendrilError(err), 'a TendrilError');
      assert.equal(err.code, 'KEYRING_DUMP_MALFORMED');
      assert.match(err.message, why);
      assert.doesNotMatch(err.message, /[0-9A-Fa-f]{16}/, 'no hex run that could be key material');
      return true;
    },
  );
}

void describe('parseKeyringDump + formatKeyringDump', () => {
  void it('reproduces the reference dump with --secret byte for byte', () => {
    const ids = parseKeyringDump(secretDump);
    assert.equal(ids.length, 4);
    assert.deepEqual(Buffer.from(formatKeyringDump(ids, true), 'utf8'), secretDump);
  });

  void it('reproduces the reference dump without --secret byte for byte', () => {
    const ids = parseKeyringDump(secretDump.toString('utf8'));
    assert.deepEqual(Buffer.from(formatKeyringDump(ids, false), 'utf8'), publicDump);
  });

  void it('restores the reference order from shuffled lines and renumbered identities', () => {
    const blocks = [0, 1, 2, 3].map((n) => secretLines.filter((l) => l.startsWith(`${n}:`)).map((l) => l.slice(3)));
    for (let seed = 1; seed <= 20; seed++) {
      const numbers = shuffled([7, 42, 3, 1000], seed);
      const renumbered = blocks.map((lines, n) => shuffled(lines, seed + n).map((l) => `${numbers[n]}: ${l}`));
      // Whole identities in a new order, lines shuffled within each...
      const byBlock = shuffled(renumbered, seed * 7).flat();
      assert.deepEqual(Buffer.from(formatKeyringDump(parseKeyringDump(byBlock.join('\n')), true)), secretDump);
      // ...and every line anywhere: lines sharing a number are still one identity.
      const anywhere = shuffled(renumbered.flat(), seed * 13);
      const crlf = `${anywhere.join('\r\n')}\r\n`;
      assert.deepEqual(Buffer.from(formatKeyringDump(parseKeyringDump(crlf), true)), secretDump);
    }
  });

  void it('drops an exact duplicate keypair, as the reference does', () => {
    const ids = parseKeyringDump(`${rhizomeLine}\n${rhizomeLine}\n${combinedLine}\n`);
    assert.equal(ids[0]!.keypairs.length, 2);
  });

  void it('accepts a last line without a newline, and an empty dump', () => {
    assert.equal(parseKeyringDump(secretDump.toString('utf8').trimEnd()).length, 4);
    assert.deepEqual(parseKeyringDump(''), []);
    assert.equal(formatKeyringDump([], true), '');
  });

  void it('keeps unknown key types opaque so they round-trip', () => {
    const text = '0: type=0x05(PUBLIC_TAG)  pub=6E616D653D76616C7565\n0: type=0x2a(FUTURE)  pub=0102 sec=AABBCCDD\n';
    const ids = parseKeyringDump(text);
    assert.deepEqual(ids[0]!.keypairs.map((kp) => kp.typeName), ['PUBLIC_TAG', 'FUTURE']);
    assert.equal(formatKeyringDump(ids, true), text);
  });
});

void describe('identities from the dump', () => {
  const ids = parseKeyringDump(secretDump);

  for (const v of vectors) {
    void it(`${v.label}: the CRYPTOCOMBINED entry validates and yields the SID`, () => {
      const keypairs = ids[v.keyring_dump_index]!.keypairs;
      const combined = keypairs.find((kp) => kp.type === KEY_TYPE.CRYPTOCOMBINED)!;
      const keys = combinedFromDump(combined);
      assert.equal(toHex(keys.sid), v.sid);
      assert.equal(toHex(keys.signingPublic), v.identity);
      assert.equal(toHex(keys.seed), v.signing_seed);
      assert.deepEqual(combinedToDump(keys), combined);

      const rhizome = keypairs.find((kp) => kp.type === KEY_TYPE.RHIZOME)!;
      assert.equal(toHex(rhizome.sec!), v.rhizome_secret);
      const didName = keypairs.find((kp) => kp.type === KEY_TYPE.DID);
      assert.equal(didName?.did?.toString('utf8') ?? null, v.did);
      assert.equal(didName?.name?.toString('utf8') ?? null, v.name);
    });
  }

  void it('rejects a pub that does not match the seed, without quoting secrets', () => {
    const good = ids[0]!.keypairs.find((kp) => kp.type === KEY_TYPE.CRYPTOCOMBINED)!;
    const otherSid = deriveIdentityKeys(newIdentitySeed()).sid;
    const tamperedPub: DumpKeypair = { ...good, pub: Buffer.concat([good.pub!.subarray(0, 32), otherSid]) };
    const tamperedSec: DumpKeypair = { ...good, sec: Buffer.concat([good.sec!.subarray(0, 64), otherSid]) };
    for (const kp of [tamperedPub, tamperedSec]) {
      assert.throws(
        () => combinedFromDump(kp, 'identity 0'),
        (err: unknown) =>
          isTendrilError(err) &&
          err.code === 'KEYRING_DUMP_MALFORMED' &&
          err.message.includes('identity 0') &&
          !/[0-9A-Fa-f]{16}/.test(err.message),
      );
    }
  });

  void it('needs the secret, and reports legacy key types as unsupported', () => {
    const publicOnly = parseKeyringDump(publicDump)[0]!.keypairs.find((kp) => kp.type === KEY_TYPE.CRYPTOCOMBINED)!;
    assert.throws(() => combinedFromDump(publicOnly), { code: 'KEYRING_DUMP_MALFORMED' });
    const legacy = parseKeyringDump(`0: type=0x01(CRYPTOBOX)  sec=${'11'.repeat(32)}\n`)[0]!.keypairs[0]!;
    assert.equal(legacy.pub?.length, 32, 'the CRYPTOBOX public key is derived from its secret');
    assert.throws(() => combinedFromDump(legacy), { code: 'KEYRING_UNSUPPORTED_KEY' });
  });
});

void describe('malformed dumps', () => {
  const seedHex = combinedLine.slice(combinedLine.indexOf(' sec=') + 5, combinedLine.indexOf(' sec=') + 69);
  const cases: Array<[string, string, RegExp]> = [
    ['bad hex digit', combinedLine.replace(/sec=(.)/, 'sec=Z'), /line 1: sec= is not hex/],
    ['odd number of hex digits', combinedLine.slice(0, -1), /line 1: sec= is not hex/],
    ['sec one byte short', combinedLine.slice(0, -2), /sec= must be 96 bytes, got 95/],
    ['pub one byte long', combinedLine.replace(' sec=', '00 sec='), /pub= must be 64 bytes, got 65/],
    [
      'Rhizome secret too short',
      `0: type=0x03(RHIZOME)  sec=${seedHex.slice(0, 30)}`,
      /sec= must be 16\.\.1024 bytes, got 15/,
    ],
    ['missing pub', combinedLine.replace(/ pub=[0-9A-F]+/, ''), /line 1: missing pub=/],
    ['empty pub= and sec=', '0: type=0x06(CRYPTOCOMBINED)  pub= sec=', /pub= is not hex/],
    ['garbage line', `hello ${seedHex}`, /line 1: not of the form/],
    ['secret without a field name', `0: type=0x06(CRYPTOCOMBINED)  ${seedHex}`, /unexpected text/],
    ['unknown field', `${combinedLine} key=${seedHex}`, /unexpected key= field/],
    ['duplicate field', `${combinedLine} sec=${seedHex}`, /duplicate sec= field/],
    ['pub on a Rhizome secret', `0: type=0x03(RHIZOME)  pub=${seedHex} sec=${seedHex}`, /unexpected pub= field/],
    ['unterminated quoted string', '0: type=0x04(DID)  DID="5551111" Name="Alice', /unterminated .* in Name=/],
    ['unterminated by a final backslash', '0: type=0x04(DID)  DID="5551111" Name="Alice\\', /unterminated/],
    ['missing Name', '0: type=0x04(DID)  DID="5551111"', /missing Name=/],
    ['unquoted DID', '0: type=0x04(DID)  DID=5551111 Name="x"', /DID= must be a quoted string/],
    ['Name too long', `0: type=0x04(DID)  DID="" Name="${'n'.repeat(64)}"`, /Name is longer than 63 bytes/],
    ['NUL in a Name', '0: type=0x04(DID)  DID="" Name="a\\0b"', /Name contains a NUL byte/],
    ['text glued to a quoted string', '0: type=0x04(DID)  DID="1"Name="x"', /no space after DID=/],
    ['key type 0', '0: type=0x00(INVALID) ', /key type 0x00 is invalid/],
    ['known type under another name', combinedLine.replace('CRYPTOCOMBINED', 'unknown'), /must be named CRYPTO/],
    ['blank line in the middle', `${rhizomeLine}\n\n${combinedLine}`, /line 2: not of the form/],
    ['identity number out of range', `4294967296: ${combinedLine.slice(3)}`, /identity number out of range/],
  ];

  for (const [what, text, why] of cases) {
    void it(`rejects ${what}`, () => assertMalformed(text, why));
  }

  void it('counts lines from 1, CRLF included', () => {
    assertMalformed(`${rhizomeLine}\r\n${combinedLine}\r\nnonsense\r\n`, /^Malformed keyring dump: line 3: /);
  });
});

void describe('DID and Name quoting', () => {
  void it('writes non-printable bytes as the reference does', () => {
    const id: DumpIdentity = {
      keypairs: [
        {
          type: KEY_TYPE.DID,
          typeName: 'DID',
          did: Buffer.from('+61*400#'),
          name: Buffer.from([0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x01, 0x7f, 0xc3, 0x9c, 0x20, 0x7e]),
        },
      ],
    };
    const expected = String.raw`0: type=0x04(DID)  DID="+61*400#" Name="\"\\\n\r\t\x01\x7f\xc3\x9c ~"`;
    assert.equal(formatKeyringDump([id], false), `${expected}\n`);
  });

  void it('round-trips every byte value 1..255 in a Name', () => {
    const all = Array.from({ length: 255 }, (_, i) => i + 1);
    for (let start = 0; start < all.length; start += 63) {
      const name = Buffer.from(all.slice(start, start + 63));
      const didName: DumpKeypair = { type: KEY_TYPE.DID, typeName: 'DID', did: Buffer.alloc(0), name };
      const text = formatKeyringDump([{ keypairs: [didName] }], true);
      assert.match(text, /^[\x20-\x7e]*\n$/, 'the dump itself is printable ASCII');
      const [parsed] = parseKeyringDump(text);
      assert.deepEqual(parsed!.keypairs[0]!.name, name);
      assert.deepEqual(parsed!.keypairs[0]!.did, Buffer.alloc(0));
    }
  });

  void it('reads raw UTF-8 and backslash before any other character, as the reference does', () => {
    const [parsed] = parseKeyringDump('0: type=0x04(DID)  DID="123\\45" Name="Ünï \\q\\xZ\\x4a"\n');
    assert.deepEqual(parsed!.keypairs[0]!.did, Buffer.from('12345'));
    assert.deepEqual(parsed!.keypairs[0]!.name, Buffer.from('Ünï qxZJ'));
  });
});
