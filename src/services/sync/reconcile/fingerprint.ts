/**
 * Fingerprints of sets of bundles (docs/sync.md §5.2), after Negentropy's: each item (bundle id,
 * version) hashes to 32 bytes, read as a little-endian 256-bit number; a set's accumulator is the
 * sum of its items mod 2^256, and its fingerprint the first 16 bytes of
 * SHA-256(accumulator ‖ uleb(count)). Sums can be added and subtracted, so the fingerprint of a
 * range is cheap to keep current as bundles come and go.
 */
import { createHash } from 'node:crypto';
import { encodeUleb } from '../../../formats/leb128.js';

export const FINGERPRINT_BYTES = 16;
/** Words of an accumulator: 8 × 32 bits, least significant first. */
export const ACC_WORDS = 8;

/** A bundle as reconciliation sees it. */
export interface SyncItem {
  readonly bid: Buffer;
  readonly version: bigint;
}

/** SHA-256(bid ‖ version as 8 bytes big-endian). */
export function itemHash(bid: Buffer, version: bigint): Buffer {
  const v = Buffer.allocUnsafe(8);
  v.writeBigUInt64BE(version);
  return createHash('sha256').update(bid).update(v).digest();
}

/** Adds a 32-byte little-endian number into `acc` at word offset `at`, mod 2^256. */
export function addInto(acc: Uint32Array, at: number, hash: Buffer): void {
  let carry = 0;
  for (let i = 0; i < ACC_WORDS; i++) {
    const sum = acc[at + i]! + hash.readUInt32LE(i * 4) + carry;
    acc[at + i] = sum >>> 0;
    carry = sum > 0xffffffff ? 1 : 0;
  }
}

/** Adds accumulator `src` (at `from`) into `acc` (at `at`), mod 2^256. */
export function addAcc(acc: Uint32Array, at: number, src: Uint32Array, from: number): void {
  let carry = 0;
  for (let i = 0; i < ACC_WORDS; i++) {
    const sum = acc[at + i]! + src[from + i]! + carry;
    acc[at + i] = sum >>> 0;
    carry = sum > 0xffffffff ? 1 : 0;
  }
}

/** The fingerprint of an accumulator (at word offset `at`) over `count` items. */
export function fingerprintOf(acc: Uint32Array, at: number, count: number): Buffer {
  const bytes = Buffer.allocUnsafe(ACC_WORDS * 4);
  for (let i = 0; i < ACC_WORDS; i++) bytes.writeUInt32LE(acc[at + i]!, i * 4);
  return createHash('sha256').update(bytes).update(encodeUleb(count)).digest().subarray(0, FINGERPRINT_BYTES);
}

/** Count and fingerprint of a set of items. */
export interface Summary {
  readonly count: number;
  readonly fingerprint: Buffer;
}

/** Summarises items one by one. */
export class Accumulator {
  readonly acc = new Uint32Array(ACC_WORDS);
  count = 0;

  add(item: SyncItem): void {
    addInto(this.acc, 0, itemHash(item.bid, item.version));
    this.count++;
  }

  summary(): Summary {
    return { count: this.count, fingerprint: fingerprintOf(this.acc, 0, this.count) };
  }
}
