/**
 * base64url with `=` padding, the alphabet of every Serval token (spec §7.14).
 */

export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Decodes padded (or unpadded) base64url; undefined for anything else. */
export function decodeBase64Url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
