/**
 * The keyring file: a header and a list of sealed slots, one identity per slot.
 *
 *   header  = "TENDRIL KEYRING\n" (16) ‖ version u8 (1) ‖ kdf u8 (1 = argon2id13)
 *             ‖ opslimit u32le ‖ memlimit u32le ‖ salt (16) ‖ slot count u32le
 *   slot    = length u32le ‖ nonce (24) ‖ XSalsa20-Poly1305 box of the padded slot plaintext
 *
 * Every slot, PIN or not, is sealed under a key derived from its PIN and the file's salt with the
 * memory-hard KDF (the empty PIN included), so slots are indistinguishable and opening one with
 * the wrong key fails its MAC and reveals nothing. One derivation per distinct PIN opens every
 * slot of that PIN. Plaintexts are padded to a multiple of 2 KiB so sizes say little.
 *
 *   plaintext = "TDK1" ‖ count u8 ‖ count × (type u8 ‖ publen u16le ‖ pub ‖ seclen u16le ‖ sec) ‖ zero padding
 *
 * The keypair list mirrors the reference's keyring entries (spec §7.1): CRYPTOCOMBINED keeps only
 * its 32-byte seed, RHIZOME its secret, DID the DID in `sec` and the Name in `pub`; other types
 * are kept as they came so a dump taken here carries them back out.
 */
import { existsSync, readFileSync } from 'node:fs';
import sodium from 'sodium-native';
import { fail } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import type { KeyringStorage } from './keyring-storage.js';

export interface StoredKeypair {
  readonly type: number;
  readonly pub: Buffer;
  readonly sec: Buffer;
}

export interface KdfParams {
  readonly opsLimit: number;
  readonly memLimit: number;
}

export interface KeyringFile {
  readonly salt: Buffer;
  readonly kdf: KdfParams;
  /** Sealed slots in keyring order. */
  readonly slots: readonly Buffer[];
}

const MAGIC = Buffer.from('TENDRIL KEYRING\n', 'latin1');
const VERSION = 1;
const KDF_ARGON2ID13 = 1;
const HEADER_BYTES = MAGIC.length + 2 + 8 + 16 + 4;
const PLAIN_MAGIC = Buffer.from('TDK1', 'latin1');
const PAD_UNIT = 2048;
/** Larger slots are not something Tendril writes; a length beyond this is corruption. */
const MAX_SLOT_BYTES = 1 << 20;

const corrupt = (why: string): never => fail('KEYRING_FILE_CORRUPT', { reason: `Keyring file is corrupt: ${why}` });

export function newKeyringFile(kdf: KdfParams): KeyringFile {
  const salt = Buffer.alloc(16);
  sodium.randombytes_buf(salt);
  return { salt, kdf, slots: [] };
}

export function encodeKeyringFile(file: KeyringFile): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  let o = MAGIC.length;
  header[o++] = VERSION;
  header[o++] = KDF_ARGON2ID13;
  o = header.writeUInt32LE(file.kdf.opsLimit, o);
  o = header.writeUInt32LE(file.kdf.memLimit, o);
  file.salt.copy(header, o);
  o += 16;
  header.writeUInt32LE(file.slots.length, o);
  const parts: Buffer[] = [header];
  for (const slot of file.slots) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(slot.length);
    parts.push(len, slot);
  }
  return Buffer.concat(parts);
}

export function decodeKeyringFile(bytes: Buffer): KeyringFile {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) corrupt('not a keyring file');
  let o = MAGIC.length;
  if (bytes[o++] !== VERSION) corrupt('unknown version');
  if (bytes[o++] !== KDF_ARGON2ID13) corrupt('unknown key derivation');
  const opsLimit = bytes.readUInt32LE(o);
  const memLimit = bytes.readUInt32LE(o + 4);
  o += 8;
  const salt = Buffer.from(bytes.subarray(o, o + 16));
  o += 16;
  const count = bytes.readUInt32LE(o);
  o += 4;
  const slots: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 4 > bytes.length) corrupt('truncated');
    const len = bytes.readUInt32LE(o);
    o += 4;
    if (len > MAX_SLOT_BYTES || o + len > bytes.length) corrupt('truncated slot');
    slots.push(Buffer.from(bytes.subarray(o, o + len)));
    o += len;
  }
  if (o !== bytes.length) corrupt('trailing bytes');
  return { salt, kdf: { opsLimit, memLimit }, slots };
}

export function readKeyringFile(path: string): KeyringFile | undefined {
  if (!existsSync(path)) return undefined;
  return decodeKeyringFile(readFileSync(path));
}

export function writeKeyringFile(path: string, file: KeyringFile): void {
  writeFileAtomic(path, encodeKeyringFile(file), 0o600);
}

/** The keyring file as a KeyringStorage: one owner, so nothing to watch. */
export function fileKeyringStorage(path: string): KeyringStorage {
  let header: KeyringFile | undefined;
  return {
    // eslint-disable-next-line @typescript-eslint/require-await -- a local file answers at once
    async load(kdf) {
      let file = readKeyringFile(path);
      if (!file) {
        file = newKeyringFile(kdf);
        writeKeyringFile(path, file);
      }
      header = file;
      return file;
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- a local file answers at once
    async slots() {
      return [...(readKeyringFile(path)?.slots ?? [])];
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- a local file answers at once
    async save(change) {
      if (header === undefined) throw new Error('keyring file not loaded');
      writeKeyringFile(path, { ...header, slots: [...change.slots] });
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- a local file answers at once
    async adopt(keyring) {
      header = { salt: keyring.salt, kdf: keyring.kdf, slots: [...keyring.slots] };
      writeKeyringFile(path, header);
    },
    watch: () => Promise.resolve(() => Promise.resolve()), // one owner: nothing to watch
  };
}

export function encodeSlotPlaintext(keypairs: readonly StoredKeypair[]): Buffer {
  if (keypairs.length > 255) throw new Error('too many keypairs in one identity');
  const parts: Buffer[] = [PLAIN_MAGIC, Buffer.from([keypairs.length])];
  for (const kp of keypairs) {
    const head = Buffer.alloc(3);
    head[0] = kp.type;
    head.writeUInt16LE(kp.pub.length, 1);
    const secLen = Buffer.alloc(2);
    secLen.writeUInt16LE(kp.sec.length);
    parts.push(head, kp.pub, secLen, kp.sec);
  }
  const body = Buffer.concat(parts);
  const padded = Buffer.alloc(Math.ceil(body.length / PAD_UNIT) * PAD_UNIT);
  body.copy(padded);
  return padded;
}

export function decodeSlotPlaintext(plain: Buffer): StoredKeypair[] {
  if (plain.length < 5 || !plain.subarray(0, 4).equals(PLAIN_MAGIC)) corrupt('bad slot');
  const count = plain[4]!;
  const keypairs: StoredKeypair[] = [];
  let o = 5;
  for (let i = 0; i < count; i++) {
    if (o + 3 > plain.length) corrupt('bad slot');
    const type = plain[o]!;
    const pubLen = plain.readUInt16LE(o + 1);
    o += 3;
    if (o + pubLen + 2 > plain.length) corrupt('bad slot');
    const pub = Buffer.from(plain.subarray(o, o + pubLen));
    o += pubLen;
    const secLen = plain.readUInt16LE(o);
    o += 2;
    if (o + secLen > plain.length) corrupt('bad slot');
    const sec = Buffer.from(plain.subarray(o, o + secLen));
    o += secLen;
    keypairs.push({ type, pub, sec });
  }
  return keypairs;
}

/** nonce ‖ box(plaintext) under `key`. */
export function sealSlot(plain: Buffer, key: Buffer): Buffer {
  const out = Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES + plain.length + sodium.crypto_secretbox_MACBYTES);
  const nonce = out.subarray(0, sodium.crypto_secretbox_NONCEBYTES);
  sodium.randombytes_buf(nonce);
  sodium.crypto_secretbox_easy(out.subarray(nonce.length), plain, nonce, key);
  return out;
}

/** The plaintext of a slot sealed under `key`, or undefined if it is not (wrong PIN). */
export function openSlot(sealed: Buffer, key: Buffer): Buffer | undefined {
  const n = sodium.crypto_secretbox_NONCEBYTES;
  const m = sodium.crypto_secretbox_MACBYTES;
  if (sealed.length < n + m) return undefined;
  const plain = Buffer.alloc(sealed.length - n - m);
  return sodium.crypto_secretbox_open_easy(plain, sealed.subarray(n), sealed.subarray(0, n), key) ? plain : undefined;
}
