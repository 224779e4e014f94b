/**
 * Hexadecimal as the Serval protocols use it: accepted in either case, always written in uppercase
 * (spec conventions: HEX64, HEX128).
 */

const HEX_RE = /^[0-9A-Fa-f]*$/;

/** Uppercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

/** True when `text` is exactly `byteLength` bytes of hex (2 digits a byte), either case. */
export function isHex(text: string, byteLength: number): boolean {
  return text.length === byteLength * 2 && HEX_RE.test(text);
}

/**
 * Decodes hex of exactly `byteLength` bytes, or returns undefined. Node's Buffer.from(…, 'hex')
 * silently stops at the first bad digit, so the digits are checked first.
 */
export function parseHex(text: string, byteLength: number): Buffer | undefined {
  return isHex(text, byteLength) ? Buffer.from(text, 'hex') : undefined;
}

/** Decodes hex of any even length, or returns undefined. */
export function parseHexAny(text: string): Buffer | undefined {
  return text.length % 2 === 0 && HEX_RE.test(text) ? Buffer.from(text, 'hex') : undefined;
}
