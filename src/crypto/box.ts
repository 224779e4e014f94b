/**
 * crypto_box_beforenm() — X25519 followed by HSalsa20 — which the payload key of sender/recipient
 * bundles and MeshMS plys is built on (spec §7.8). sodium-native exposes neither beforenm nor
 * HSalsa20, so HSalsa20 is recovered from one native Salsa20 block.
 *
 * Why that works: with a 32-byte key k, an all-zero 8-byte nonce and block counter 0, Salsa20's
 * input matrix is exactly HSalsa20's input matrix for key k and a 16-byte zero input — the four
 * "expand 32-byte k" words on the diagonal (0, 5, 10, 15), the key in words 1–4 and 11–14, zeros
 * in words 6–9. Salsa20 outputs rounds(x) + x; HSalsa20 outputs rounds(x) at words 0, 5, 10, 15,
 * 6, 7, 8, 9. Subtracting the known input words from those eight output words gives HSalsa20.
 */
import sodium from 'sodium-native';

const SIGMA = Buffer.from('expand 32-byte k', 'ascii');
// HSalsa20 output = words 0, 5, 10, 15 (input: sigma) then words 6–9 (input: zero), without feed-forward.
const DIAGONAL = [0, 5, 10, 15] as const;
const MIDDLE = [6, 7, 8, 9] as const;

/** HSalsa20(key, 16 zero bytes), the only HSalsa20 input crypto_box_beforenm uses. */
export function hsalsa20ZeroInput(key: Uint8Array): Buffer {
  if (key.length !== 32) throw new RangeError(`HSalsa20 key must be 32 bytes, got ${key.length}`);
  const block = Buffer.alloc(64);
  sodium.crypto_stream_salsa20(block, Buffer.alloc(8), key);
  const out = Buffer.alloc(32);
  DIAGONAL.forEach((word, i) => {
    out.writeUInt32LE((block.readUInt32LE(word * 4) - SIGMA.readUInt32LE(i * 4)) >>> 0, i * 4);
  });
  MIDDLE.forEach((word, i) => {
    out.writeUInt32LE(block.readUInt32LE(word * 4), 16 + i * 4);
  });
  return out;
}

/**
 * crypto_box_beforenm(theirPublic, mySecret) = HSalsa20(X25519(mySecret, theirPublic), 0¹⁶).
 * Symmetric: beforenm(B.pk, A.sk) == beforenm(A.pk, B.sk). Undefined when the shared point is
 * degenerate (a low-order public key), where libsodium fails too.
 */
export function boxBeforeNm(theirPublic: Uint8Array, mySecret: Uint8Array): Buffer | undefined {
  if (theirPublic.length !== 32 || mySecret.length !== 32) throw new RangeError('X25519 keys must be 32 bytes');
  const shared = Buffer.alloc(32);
  try {
    sodium.crypto_scalarmult(shared, mySecret, theirPublic);
  } catch {
    return undefined; // libsodium rejects an all-zero shared secret
  }
  const key = hsalsa20ZeroInput(shared);
  sodium.sodium_memzero(shared);
  return key;
}
