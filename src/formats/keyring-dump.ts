/**
 * The text format of the reference's `servald keyring dump [--secret]`, read and written byte for
 * byte, so identities move between Serval DNA and Tendril (spec §2.1, §7.1, §7.2).
 *
 * One line per keypair: `N: type=0xTT(NAME) CONTENT`, where N numbers identities from 0 and TT is
 * the key type in lowercase hex. The reference writes `type=0xTT(NAME) ` and then each field with
 * its own leading space, hence two spaces before the first field and a lone trailing space when a
 * keypair prints nothing (RHIZOME without --secret).
 *
 * Secrets pass through this parser, so no error message ever quotes the content of a line: only
 * line numbers, field names and lengths.
 */
import { fail } from '../errors.js';
import { deriveIdentityKeys, type IdentityKeys } from '../crypto/identity.js';
import { constantTimeEqual, sodium } from '../crypto/sodium.js';
import { parseHexAny, toHex } from './hex.js';

export const KEY_TYPE = {
  CRYPTOBOX: 0x01,
  CRYPTOSIGN: 0x02,
  RHIZOME: 0x03,
  DID: 0x04,
  PUBLIC_TAG: 0x05,
  CRYPTOCOMBINED: 0x06,
} as const;

const KEY_TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(KEY_TYPE).map(([name, code]) => [code, name]),
);

/** The reference's name of a keyring entry type (`CRYPTOCOMBINED`…), or undefined if unknown. */
export function keyTypeName(type: number): string | undefined {
  return KEY_TYPE_NAMES.get(type);
}

/** One keypair line. DID/Name are raw bytes: the reference stores them without an encoding check. */
export interface DumpKeypair {
  type: number;
  /** As written in the parentheses; for types the reference does not know, kept so it round-trips. */
  typeName: string;
  pub?: Buffer;
  sec?: Buffer;
  did?: Buffer;
  name?: Buffer;
}

export interface DumpIdentity {
  keypairs: DumpKeypair[];
}

// In the keyring slot DID and Name are NUL-terminated in fixed 32- and 64-byte fields (spec §7.2).
const DID_FIELD_BYTES = 32;
const NAME_FIELD_BYTES = 64;

type Range = readonly [min: number, max: number];
interface HexRule {
  /** undefined: the field is not allowed for this type. */
  readonly pub: Range | undefined;
  readonly sec: Range;
  readonly pubRequired: boolean;
}

const ANY: Range = [1, Number.MAX_SAFE_INTEGER];
// Sizes are the reference's key_types table; RHIZOME takes the 16..1024 its Rhizome code accepts.
// A CRYPTOBOX line may leave out pub= when it has sec=: the reference rebuilds pub from sec.
const HEX_RULES: ReadonlyMap<number, HexRule> = new Map([
  [KEY_TYPE.CRYPTOBOX, { pub: [32, 32], sec: [32, 32], pubRequired: true }],
  [KEY_TYPE.CRYPTOSIGN, { pub: [32, 32], sec: [64, 64], pubRequired: true }],
  [KEY_TYPE.RHIZOME, { pub: undefined, sec: [16, 1024], pubRequired: false }],
  [KEY_TYPE.PUBLIC_TAG, { pub: ANY, sec: ANY, pubRequired: false }],
  [KEY_TYPE.CRYPTOCOMBINED, { pub: [64, 64], sec: [96, 96], pubRequired: true }],
]);
const UNKNOWN_RULE: HexRule = { pub: ANY, sec: ANY, pubRequired: false };

const LINE_RE = /^(\d{1,10}): type=0x([0-9A-Fa-f]{2})\(([ -(*-~]+)\)(.*)$/s;
const SPACE_RE = /[ \t\v\f\r]/;
const FIELD_KEY_RE = /^[A-Za-z]+=/;

/**
 * Parses a dump, with or without secrets. Lines with the same number form one identity, whatever
 * their order; identities come back in order of first appearance, keypairs in the reference's order
 * with exact duplicates dropped (as the reference's loader does). Throws KEYRING_DUMP_MALFORMED.
 */
export function parseKeyringDump(text: string | Buffer): DumpIdentity[] {
  // latin1 maps each byte to one char, so quoted DID/Name bytes survive whatever their encoding.
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const lines = bytes.toString('latin1').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const byNumber = new Map<number, DumpKeypair[]>();
  lines.forEach((raw, index) => {
    const where = `line ${index + 1}`;
    const match = LINE_RE.exec(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    if (!match) malformed(where, 'not of the form "N: type=0xTT(NAME) ..."');
    const [, number = '', typeHex = '', typeName = '', content = ''] = match;
    const idn = Number(number);
    if (idn > 0xffffffff) malformed(where, 'identity number out of range');
    const keypairs = byNumber.get(idn) ?? [];
    keypairs.push(parseKeypair(parseInt(typeHex, 16), typeName, content, where));
    byNumber.set(idn, keypairs);
  });
  return [...byNumber.values()].map((keypairs) => ({ keypairs: canonicalKeypairs(keypairs) }));
}

function parseKeypair(type: number, typeName: string, content: string, where: string): DumpKeypair {
  if (type === 0) malformed(where, 'key type 0x00 is invalid');
  const knownName = KEY_TYPE_NAMES.get(type);
  if (knownName !== undefined && typeName !== knownName) {
    malformed(where, `key type ${typeLabel(type)} must be named ${knownName}`);
  }
  const fields = readFields(content, where);
  if (type === KEY_TYPE.DID) {
    const did = quotedField(fields, 'DID', DID_FIELD_BYTES, where);
    const name = quotedField(fields, 'Name', NAME_FIELD_BYTES, where);
    return onlyFields(fields, ['DID', 'Name'], where, { type, typeName, did, name });
  }
  const rule = HEX_RULES.get(type) ?? UNKNOWN_RULE;
  const keypair: DumpKeypair = { type, typeName };
  const pub = rule.pub && hexField(fields, 'pub', rule.pub, where);
  const sec = hexField(fields, 'sec', rule.sec, where);
  if (pub) keypair.pub = pub;
  if (sec) keypair.sec = sec;
  if (type === KEY_TYPE.CRYPTOBOX && sec) keypair.pub = cryptoboxPublic(sec, pub, where);
  if (rule.pubRequired && !keypair.pub) malformed(where, 'missing pub=');
  return onlyFields(fields, rule.pub ? ['pub', 'sec'] : ['sec'], where, keypair);
}

/** The reference ignores a CRYPTOBOX pub= and recomputes it; a pub= that disagrees is rejected here. */
function cryptoboxPublic(sec: Buffer, given: Buffer | undefined, where: string): Buffer {
  const derived = Buffer.alloc(sodium.crypto_scalarmult_BYTES);
  sodium.crypto_scalarmult_base(derived, sec);
  if (given && !given.equals(derived)) malformed(where, 'CRYPTOBOX pub= does not match its sec=');
  return derived;
}

type FieldValue =
  | { readonly quoted: true; readonly bytes: Buffer }
  | { readonly quoted: false; readonly text: string };

/** Splits `KEY=HEX` and `KEY="quoted"` fields separated by white space; rejects repeats. */
function readFields(content: string, where: string): Map<string, FieldValue> {
  const fields = new Map<string, FieldValue>();
  let at = 0;
  for (;;) {
    while (at < content.length && SPACE_RE.test(content.charAt(at))) at++;
    if (at >= content.length) return fields;
    const key = FIELD_KEY_RE.exec(content.slice(at))?.[0].slice(0, -1);
    if (key === undefined) malformed(where, 'unexpected text where a field was expected');
    if (fields.has(key)) malformed(where, `duplicate ${key}= field`);
    at += key.length + 1;
    let value: FieldValue;
    if (content.charAt(at) === '"') {
      const unquoted = unquote(content, at + 1);
      if (!unquoted) malformed(where, `unterminated quoted string in ${key}=`);
      value = { quoted: true, bytes: unquoted.bytes };
      at = unquoted.end;
    } else {
      const start = at;
      while (at < content.length && !SPACE_RE.test(content.charAt(at))) at++;
      value = { quoted: false, text: content.slice(start, at) };
    }
    if (at < content.length && !SPACE_RE.test(content.charAt(at))) malformed(where, `no space after ${key}=`);
    fields.set(key, value);
  }
}

const NAMED_ESCAPES: ReadonlyMap<string, number> = new Map([
  ['n', 0x0a],
  ['r', 0x0d],
  ['t', 0x09],
  ['0', 0x00],
]);

/**
 * Undoes the reference's C-style quoting (its strn_fromprint): \n \r \t \0 \xHH, and a backslash
 * before any other character stands for that character (so \" and \\). Returns the bytes and the
 * index after the closing quote, or undefined when the string is not closed.
 */
function unquote(text: string, start: number): { bytes: Buffer; end: number } | undefined {
  const out: number[] = [];
  for (let at = start; at < text.length; ) {
    const c = text.charCodeAt(at);
    if (c === 0x22) return { bytes: Buffer.from(out), end: at + 1 };
    if (c !== 0x5c) {
      out.push(c);
      at += 1;
      continue;
    }
    const next = text.charAt(at + 1);
    if (next === '') return undefined; // a backslash cannot escape the end of the line
    const hex = next === 'x' ? /^[0-9A-Fa-f]{2}/.exec(text.slice(at + 2, at + 4)) : null;
    if (hex) {
      out.push(parseInt(hex[0], 16));
      at += 4;
      continue;
    }
    out.push(NAMED_ESCAPES.get(next) ?? next.charCodeAt(0));
    at += 2;
  }
  return undefined;
}

function quotedField(fields: Map<string, FieldValue>, key: string, fieldBytes: number, where: string): Buffer {
  const value = fields.get(key);
  if (!value) malformed(where, `missing ${key}=`);
  if (!value.quoted) malformed(where, `${key}= must be a quoted string`);
  // The keyring keeps C strings: a NUL would cut the value, and one byte is kept for the terminator.
  if (value.bytes.includes(0)) malformed(where, `${key} contains a NUL byte`);
  if (value.bytes.length >= fieldBytes) malformed(where, `${key} is longer than ${fieldBytes - 1} bytes`);
  return value.bytes;
}

function hexField(
  fields: Map<string, FieldValue>,
  key: string,
  [min, max]: Range,
  where: string,
): Buffer | undefined {
  const value = fields.get(key);
  if (!value) return undefined;
  const bytes = value.quoted ? undefined : parseHexAny(value.text);
  if (!bytes || bytes.length === 0) malformed(where, `${key}= is not hex`);
  if (bytes.length < min || bytes.length > max) {
    const expected = min === max ? `${min}` : `${min}..${max}`;
    malformed(where, `${key}= must be ${expected} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Returns `keypair` once every field on the line is one of `allowed`. */
function onlyFields<T>(fields: Map<string, FieldValue>, allowed: string[], where: string, keypair: T): T {
  for (const key of fields.keys()) {
    if (!allowed.includes(key)) malformed(where, `unexpected ${key}= field`);
  }
  return keypair;
}

/**
 * Writes a dump exactly as `servald keyring dump [--secret]` would: identities numbered from 0 in
 * the reference's order, each identity's keypairs in the reference's order. The order uses the
 * secrets even when they are not printed, as the reference's does, so a dump parsed without secrets
 * cannot always be put back into the reference's order (identities usually sort by Rhizome Secret).
 */
export function formatKeyringDump(ids: DumpIdentity[], includeSecret: boolean): string {
  const sorted = ids.map((id) => canonicalKeypairs(id.keypairs)).sort(compareIdentities);
  let out = '';
  sorted.forEach((keypairs, n) => {
    for (const kp of keypairs) out += `${n}: ${formatKeypair(kp, includeSecret)}\n`;
  });
  return out;
}

function formatKeypair(kp: DumpKeypair, includeSecret: boolean): string {
  // Lowercase type digits: the reference prints the type with %02x, keys with uppercase hex.
  const head = `type=${typeLabel(kp.type)}(${KEY_TYPE_NAMES.get(kp.type) ?? kp.typeName}) `;
  if (kp.type === KEY_TYPE.DID) return `${head} DID=${quote(kp.did)} Name=${quote(kp.name)}`;
  let out = head;
  if (kp.pub?.length) out += ` pub=${toHex(kp.pub)}`;
  if (includeSecret && kp.sec?.length) out += ` sec=${toHex(kp.sec)}`;
  return out;
}

/**
 * The reference's quoting of a C string (its toprint with "" quotes): printable ASCII as is, `"`
 * and `\` escaped, \n \r \t by name, anything else as lowercase \xHH. The value ends at a NUL,
 * as a C string does.
 */
function quote(bytes: Buffer | undefined): string {
  let out = '"';
  for (const b of bytes ?? []) {
    if (b === 0) break;
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/** Sorted in the reference's keypair order, exact duplicates dropped. */
function canonicalKeypairs(keypairs: readonly DumpKeypair[]): DumpKeypair[] {
  const sorted = [...keypairs].sort(compareKeypairs);
  return sorted.filter((kp, i) => i === 0 || compareKeypairs(sorted[i - 1] as DumpKeypair, kp) !== 0);
}

/**
 * The reference's keypair order: key type, then public key, then private key, each compared as
 * stored in memory. A keypair that has a key sorts before one that has none. DID/Name are stored
 * as NUL-padded fixed fields, Name in the public slot and DID in the private one.
 */
function compareKeypairs(a: DumpKeypair, b: DumpKeypair): number {
  return (
    a.type - b.type ||
    compareKeys(storedPublic(a), storedPublic(b)) ||
    compareKeys(storedSecret(a), storedSecret(b))
  );
}

function storedPublic(kp: DumpKeypair): Buffer | undefined {
  return kp.type === KEY_TYPE.DID ? padded(kp.name, NAME_FIELD_BYTES) : kp.pub;
}

function storedSecret(kp: DumpKeypair): Buffer | undefined {
  return kp.type === KEY_TYPE.DID ? padded(kp.did, DID_FIELD_BYTES) : kp.sec;
}

function padded(bytes: Buffer | undefined, size: number): Buffer {
  const value = bytes ?? Buffer.alloc(0);
  return value.length >= size ? value : Buffer.concat([value, Buffer.alloc(size - value.length)]);
}

function compareKeys(a: Buffer | undefined, b: Buffer | undefined): number {
  const hasA = a !== undefined && a.length > 0;
  const hasB = b !== undefined && b.length > 0;
  if (!hasA || !hasB) return hasA === hasB ? 0 : hasA ? -1 : 1;
  // Buffer.compare is memcmp over the common length, then shorter first: the reference's rule.
  return Buffer.compare(a, b);
}

/** The reference's identity order: keypair lists compared element by element, a prefix first. */
function compareIdentities(a: readonly DumpKeypair[], b: readonly DumpKeypair[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const c = compareKeypairs(a[i] as DumpKeypair, b[i] as DumpKeypair);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/**
 * The keys of a CRYPTOCOMBINED entry, re-derived from its seed and checked against every byte the
 * dump carries (the reference trusts the dumped pub and would silently change SID on reload).
 * `where` names the entry in errors, e.g. "identity 2". Legacy CRYPTOBOX/CRYPTOSIGN pairs are
 * reported as KEYRING_UNSUPPORTED_KEY.
 */
export function combinedFromDump(kp: DumpKeypair, where = 'CRYPTOCOMBINED entry'): IdentityKeys {
  if (kp.type !== KEY_TYPE.CRYPTOCOMBINED) {
    const legacy = kp.type === KEY_TYPE.CRYPTOBOX || kp.type === KEY_TYPE.CRYPTOSIGN;
    const why = legacy ? 'is a legacy key type' : 'is not an identity key';
    fail('KEYRING_UNSUPPORTED_KEY', { arg: `${where}: ${typeLabel(kp.type)}(${kp.typeName}) ${why}` });
  }
  if (kp.pub?.length !== 64) malformed(where, 'pub= must be 64 bytes');
  if (!kp.sec) malformed(where, 'no sec= (was the dump made with --secret?)');
  if (kp.sec.length !== 96) malformed(where, 'sec= must be 96 bytes');
  const keys = deriveIdentityKeys(kp.sec.subarray(0, 32));
  if (!keys.signingPublic.equals(kp.pub.subarray(0, 32)) || !keys.sid.equals(kp.pub.subarray(32, 64))) {
    malformed(where, 'pub= does not match the keys derived from the seed in sec=');
  }
  const secretMatches =
    constantTimeEqual(keys.signingSecret.subarray(32), kp.sec.subarray(32, 64)) &&
    constantTimeEqual(keys.boxSecret, kp.sec.subarray(64));
  if (!secretMatches) malformed(where, 'sec= does not match the keys derived from its seed');
  return keys;
}

/** The CRYPTOCOMBINED entry of an identity: pub = identity ‖ SID, sec = seed ‖ identity ‖ box secret. */
export function combinedToDump(keys: IdentityKeys): DumpKeypair {
  return {
    type: KEY_TYPE.CRYPTOCOMBINED,
    typeName: 'CRYPTOCOMBINED',
    pub: Buffer.concat([keys.signingPublic, keys.sid]),
    sec: Buffer.concat([keys.seed, keys.signingPublic, keys.boxSecret]),
  };
}

function typeLabel(type: number): string {
  return `0x${type.toString(16).padStart(2, '0')}`;
}

function malformed(where: string, why: string): never {
  fail('KEYRING_DUMP_MALFORMED', { arg: `${where}: ${why}` });
}
