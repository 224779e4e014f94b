/**
 * Ranges of the bundle-id space, as Tendril sync reconciles them (docs/sync.md §5): a range is
 * every id that starts with a given prefix of `depth` hex digits (nibbles), 0 ≤ depth ≤ 64. The
 * whole space is depth 0; a range splits into the 16 ranges one nibble deeper.
 *
 * Bundle ids are Ed25519 public keys, uniformly spread, so splitting by prefix divides a range's
 * items about as evenly as Negentropy's count-based splits do, while every range a node can be
 * asked about is one of a fixed family: a node can keep their fingerprints up to date as bundles
 * arrive instead of recomputing them per peer (fingerprint-index.ts).
 */

export const BID_BYTES = 32;
export const MAX_DEPTH = 64;

export interface Prefix {
  /** Number of significant hex digits. */
  readonly depth: number;
  /** 32 bytes: the significant digits, then zeros. */
  readonly key: Buffer;
}

export const ROOT: Prefix = { depth: 0, key: Buffer.alloc(BID_BYTES) };

/** The prefix of `depth` digits of `bid`. */
export function prefixOf(bid: Buffer, depth: number): Prefix {
  const key = Buffer.alloc(BID_BYTES);
  const whole = depth >> 1;
  bid.copy(key, 0, 0, whole);
  if (depth & 1) key[whole] = bid[whole]! & 0xf0;
  return { depth, key };
}

/** Digit `i` (0..63) of a 32-byte key. */
export function nibble(key: Buffer, i: number): number {
  const byte = key[i >> 1]!;
  return i & 1 ? byte & 0x0f : byte >> 4;
}

/** The i-th of the 16 ranges one digit deeper. */
export function child(p: Prefix, i: number): Prefix {
  const key = Buffer.from(p.key);
  const at = p.depth >> 1;
  key[at] = p.depth & 1 ? key[at]! | i : key[at]! | (i << 4);
  return { depth: p.depth + 1, key };
}

export function children(p: Prefix): Prefix[] {
  return Array.from({ length: 16 }, (_, i) => child(p, i));
}

/** True when `bid` lies in the range. */
export function contains(p: Prefix, bid: Buffer): boolean {
  const whole = p.depth >> 1;
  if (bid.compare(p.key, 0, whole, 0, whole) !== 0) return false;
  return (p.depth & 1) === 0 || (bid[whole]! & 0xf0) === p.key[whole];
}

/** True when `q` lies inside `p` (or is `p`). */
export function within(q: Prefix, p: Prefix): boolean {
  return q.depth >= p.depth && contains(p, q.key);
}

/** First id of the range (inclusive). */
export function lowerBound(p: Prefix): Buffer {
  return p.key;
}

/** First id after the range (exclusive), or undefined when the range runs to the end. */
export function upperBound(p: Prefix): Buffer | undefined {
  if (p.depth === 0) return undefined;
  const key = Buffer.from(p.key);
  // Add one at the last significant digit, carrying left.
  let i = (p.depth - 1) >> 1;
  let add = p.depth & 1 ? 0x10 : 0x01;
  while (i >= 0) {
    const sum = key[i]! + add;
    key[i] = sum & 0xff;
    if (sum <= 0xff) return key;
    add = 1;
    i--;
  }
  return undefined;
}

/** A valid prefix from the wire: depth ≤ 64 and nothing set past the significant digits. */
export function isCanonical(p: Prefix): boolean {
  if (p.depth < 0 || p.depth > MAX_DEPTH || p.key.length !== BID_BYTES) return false;
  const whole = p.depth >> 1;
  if (p.depth & 1 && (p.key[whole]! & 0x0f) !== 0) return false;
  for (let i = whole + (p.depth & 1); i < BID_BYTES; i++) if (p.key[i] !== 0) return false;
  return true;
}

export function prefixHex(p: Prefix): string {
  return p.key.toString('hex').slice(0, p.depth).toUpperCase() || '*';
}

/** Orders prefixes by their first id, then by depth (a range before its sub-ranges). */
export function comparePrefixes(a: Prefix, b: Prefix): number {
  return a.key.compare(b.key) || a.depth - b.depth;
}
