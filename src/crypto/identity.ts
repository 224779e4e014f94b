/**
 * Serval combined identities (spec §7.1): one 32-byte Ed25519 seed yields both the Signing ID
 * ("identity", an Ed25519 public key) and the SID (a Curve25519 public key), so that a SID can be
 * checked against a signature key without any other data.
 */
import { parseHex } from '../formats/hex.js';
import { randomBytes, sodium } from './sodium.js';

export const SEED_BYTES = 32;
export const SID_BYTES = 32;

/** Every key of a combined identity, all derived from `seed`. */
export interface IdentityKeys {
  /** The 32-byte Ed25519 seed: the only secret the keyring stores. */
  readonly seed: Buffer;
  /** Ed25519 public key (32), the Signing ID. */
  readonly signingPublic: Buffer;
  /** Ed25519 secret key in libsodium form (64): seed ‖ signingPublic. */
  readonly signingSecret: Buffer;
  /** Clamped Curve25519 secret (32): the first half of SHA-512(seed). */
  readonly boxSecret: Buffer;
  /** Curve25519 public key (32) = X25519(boxSecret, 9), the SID. */
  readonly sid: Buffer;
}

/**
 * Special SIDs (spec §7.1). Typed read-only because they are shared: never fill or write into them;
 * parseSid hands out copies.
 */
export const SID_ANY: Readonly<Buffer> = Buffer.alloc(SID_BYTES, 0x00);
export const SID_INTERNAL: Readonly<Buffer> = Buffer.concat([Buffer.alloc(SID_BYTES - 1), Buffer.of(1)]);
export const SID_BROADCAST: Readonly<Buffer> = Buffer.alloc(SID_BYTES, 0xff);

/** Derives all keys of a combined identity from its seed (the reference's unpack of type 0x06). */
export function deriveIdentityKeys(seed: Uint8Array): IdentityKeys {
  if (seed.byteLength !== SEED_BYTES) throw new RangeError(`identity seed must be ${SEED_BYTES} bytes`);
  const seedCopy = Buffer.from(seed);
  const signingPublic = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
  const signingSecret = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(signingPublic, signingSecret, seedCopy);
  // libsodium clamps SHA-512(seed)[0..32) here, exactly as the reference does.
  const boxSecret = Buffer.alloc(sodium.crypto_scalarmult_SCALARBYTES);
  sodium.crypto_sign_ed25519_sk_to_curve25519(boxSecret, signingSecret);
  const sid = Buffer.alloc(sodium.crypto_scalarmult_BYTES);
  sodium.crypto_scalarmult_base(sid, boxSecret);
  return { seed: seedCopy, signingPublic, signingSecret, boxSecret, sid };
}

/** A fresh random seed for a new identity. */
export function newIdentitySeed(): Buffer {
  return randomBytes(SEED_BYTES);
}

/**
 * The SID that belongs to an Ed25519 public key (the Edwards→Montgomery map), or undefined when the
 * bytes are not a usable point (wrong length, not on the curve, small order, outside the prime-order
 * subgroup). Rhizome uses this to recognise self-signed bundles whose `sender` is the image of the
 * BID, so a hostile BID must give "no" rather than an exception.
 */
export function signingKeyToSid(signingPublic: Uint8Array): Buffer | undefined {
  if (signingPublic.byteLength !== sodium.crypto_sign_PUBLICKEYBYTES) return undefined;
  const sid = Buffer.alloc(SID_BYTES);
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(sid, signingPublic);
  } catch {
    // sodium-native throws on libsodium's -1 status: the point was rejected.
    return undefined;
  }
  return sid;
}

/**
 * Parses a SID as it appears in paths and manifests: 64 hex digits in either case, or the literal
 * `broadcast` (lowercase only, as the reference's parser). Undefined when it is neither, so each
 * caller can answer with its own error.
 */
export function parseSid(text: string): Buffer | undefined {
  if (text === 'broadcast') return Buffer.from(SID_BROADCAST);
  return parseHex(text, SID_BYTES);
}
