/**
 * Rhizome newsince tokens (spec §7.14.1): base64url, with `=` padding, of the store UUID (16
 * bytes) followed by the row id as 8 little-endian bytes. A token from another store is refused.
 */
import { decodeBase64Url, encodeBase64Url } from '../../formats/base64url.js';

export function encodeBundleToken(uuid: Buffer, rowid: number): string {
  const bytes = Buffer.alloc(24);
  uuid.copy(bytes, 0, 0, 16);
  bytes.writeBigUInt64LE(BigInt(rowid), 16);
  return encodeBase64Url(bytes);
}

/** The row id in a token made by this store, or undefined. */
export function decodeBundleToken(token: string, uuid: Buffer): number | undefined {
  const bytes = decodeBase64Url(token);
  if (bytes?.length !== 24 || !bytes.subarray(0, 16).equals(uuid.subarray(0, 16))) return undefined;
  const rowid = bytes.readBigUInt64LE(16);
  return rowid > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(rowid);
}
