/**
 * Unsigned LEB128: 7 bits a byte, least significant group first, high bit on every byte but the
 * last (spec conventions: uleb). Encoded to the standard; the reference's decoder is only right
 * below 2^28 (spec §7.11.1), so values that large should not be written.
 */

export function encodeUleb(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('uleb of a negative number');
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Buffer.from(bytes);
}

/** Decodes one uleb at `offset`: its value and the offset after it, or undefined if truncated. */
export function decodeUleb(bytes: Uint8Array, offset = 0): { value: bigint; next: number } | undefined {
  let value = 0n;
  let shift = 0n;
  for (let i = offset; i < bytes.length && shift <= 63n; i++) {
    const byte = bytes[i]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value, next: i + 1 };
    shift += 7n;
  }
  return undefined;
}
