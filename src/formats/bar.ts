/**
 * The Bundle Advertisement Record (BAR), the reference's 32-byte summary of a manifest
 * (rhizome_packetformats.c, rhizome_manifest_to_bar), as Rhizome Direct compares them:
 *
 *   [0, 15)   the first 15 bytes of the Bundle ID
 *   15        log2(filesize), rounded down; 0xFF for an empty payload (log2 of 0 is -1)
 *   [16, 23)  the low 56 bits of the version, big-endian
 *   [23, 31)  a geographic bounding box, always the whole world: four big-endian uint16 of the
 *             reference's integer arithmetic, (lat+90)*(65535/180) and (long+180)*(65535/360)
 *             for -90,-180 and 90,180: 0000 0000 FFF0 FFF0
 *   31        time to live in hops, always 0
 *
 * Two BARs are compared over their first 31 bytes (memcmp), so two versions of one bundle differ.
 */

export const BAR_BYTES = 32;
export const BAR_PREFIX_BYTES = 15;
/** Bytes compared when two BARs are matched (all but the TTL). */
export const BAR_COMPARE_BYTES = 31;

const FILESIZE_OFFSET = 15;
const VERSION_OFFSET = 16;
const VERSION_BYTES = 7;
const GEOBOX = Buffer.from([0x00, 0x00, 0x00, 0x00, 0xff, 0xf0, 0xff, 0xf0]);
const GEOBOX_OFFSET = 23;

/** floor(log2(x)) for x ≥ 1, and -1 for 0, as the reference's log2ll. */
export function log2Floor(x: bigint): number {
  let v = -1;
  for (let rest = x; rest > 0n; rest >>= 1n) v++;
  return v;
}

/** The BAR of a bundle. */
export function encodeBar(bid: Uint8Array, filesize: bigint, version: bigint): Buffer {
  const bar = Buffer.alloc(BAR_BYTES);
  bar.set(bid.subarray(0, BAR_PREFIX_BYTES), 0);
  bar[FILESIZE_OFFSET] = log2Floor(filesize) & 0xff;
  for (let i = 0; i < VERSION_BYTES; i++) bar[VERSION_OFFSET + VERSION_BYTES - 1 - i] = Number((version >> BigInt(8 * i)) & 0xffn);
  GEOBOX.copy(bar, GEOBOX_OFFSET);
  return bar;
}

/** The 56-bit version a BAR carries. */
export function barVersion(bar: Uint8Array): bigint {
  let version = 0n;
  for (let i = 0; i < VERSION_BYTES; i++) version = (version << 8n) | BigInt(bar[VERSION_OFFSET + i]!);
  return version;
}

/** The 15-byte Bundle ID prefix a BAR starts with. */
export function barPrefix(bar: Uint8Array): Buffer {
  return Buffer.from(bar.subarray(0, BAR_PREFIX_BYTES));
}
