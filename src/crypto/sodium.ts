/**
 * The one doorway to libsodium (sodium-native) plus the three byte helpers every crypto module
 * needs. Other modules import sodium from here rather than from 'sodium-native', so the binding
 * and its hand-written types (src/types/sodium-native.d.ts) are referenced in a single place.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import sodium from 'sodium-native';

// Exported both ways: `import sodium from` and `import { sodium } from` read the same binding.
export { sodium };
export default sodium;

/** `n` bytes from libsodium's CSPRNG. */
export function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  sodium.randombytes_buf(out);
  return out;
}

/**
 * SHA-512 of the concatenation of `parts`. node:crypto rather than crypto_hash_sha512: it hashes
 * the parts incrementally without concatenating them and is faster on large inputs.
 */
export function sha512(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/**
 * Byte equality that takes the same time wherever the first difference is, for comparing secrets
 * and MACs. A length mismatch returns false at once: lengths are public (timingSafeEqual throws).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}
