/**
 * Rhizome newsince tokens (spec §7.14.1): base64url, with `=` padding, of the store UUID (16
 * bytes) followed by the row id as 8 little-endian bytes. A token from another store is refused.
 */

export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Decodes padded (or unpadded) base64url; undefined for anything else. */
export function decodeBase64Url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

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
