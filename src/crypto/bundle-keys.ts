/**
 * Bundle key material (spec §7.4–§7.6, §7.12, §7.13): the Ed25519 key pair behind a Bundle ID, the
 * ways its secret is obtained (random, supplied, passphrase, deterministic seed string, recovered
 * from BK), and the manifest self-signature.
 *
 * Vocabulary: the *bundle secret* is the 32-byte Ed25519 seed (what `Serval-Rhizome-Bundle-Secret`
 * and the `bundle-secret` part carry); the *secret key* is libsodium's 64-byte seed ‖ public key;
 * the *BID* is the public key.
 */
import { createHash } from 'node:crypto';
import sodium from 'sodium-native';
import { parseHex, toHex } from '../formats/hex.js';
import { SIGNATURE_BLOCK_BYTES, parseManifest, splitSignatureBlocks } from '../formats/manifest.js';

export const BUNDLE_SECRET_BYTES = 32;
export const BID_BYTES = 32;
export const SECRET_KEY_BYTES = 64;
/** The `bundle-secret` part, `#` included, is at most this long (RHIZOME_BUNDLE_SECRET_MAX_STRLEN). */
export const MAX_BUNDLE_SECRET_TEXT = 80;
const SIGNATURE_TYPE_ED25519 = 0x17;

export interface BundleKeyPair {
  /** The 32-byte Ed25519 seed. */
  readonly secret: Buffer;
  /** The Ed25519 public key = Bundle ID. */
  readonly bid: Buffer;
  /** libsodium's 64-byte secret key (secret ‖ bid): signs the manifest, keys `crypt=1` payloads. */
  readonly secretKey: Buffer;
}

function sha512(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function expectLength(name: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${bytes.length}`);
}

/** The key pair whose seed is `secret` (crypto_sign_seed_keypair). */
export function bundleKeyPairFromSecret(secret: Uint8Array): BundleKeyPair {
  expectLength('bundle secret', secret, BUNDLE_SECRET_BYTES);
  const bid = Buffer.alloc(BID_BYTES);
  const secretKey = Buffer.alloc(SECRET_KEY_BYTES);
  sodium.crypto_sign_seed_keypair(bid, secretKey, secret);
  return { secret: Buffer.from(secretKey.subarray(0, BUNDLE_SECRET_BYTES)), bid, secretKey };
}

/** A fresh random key pair, for a new bundle with no supplied secret (§7.5). */
export function randomBundleKeyPair(): BundleKeyPair {
  const secret = Buffer.alloc(BUNDLE_SECRET_BYTES);
  sodium.randombytes_buf(secret);
  return bundleKeyPairFromSecret(secret);
}

/** True when `secret` is the seed of `bid` (how a supplied or recovered secret is checked). */
export function isBundleSecretOf(secret: Uint8Array, bid: Uint8Array): boolean {
  return secret.length === BUNDLE_SECRET_BYTES && bundleKeyPairFromSecret(secret).bid.equals(bid);
}

/**
 * SHA512("Sago pudding" ‖ text ‖ "Rhubarb pie")[0..32) where `text` is the whole part value,
 * leading `#` included (§7.5; a common mistake is to hash the passphrase without it).
 */
export function passphraseBundleSecret(text: string | Uint8Array): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return sha512(Buffer.from('Sago pudding'), bytes, Buffer.from('Rhubarb pie')).subarray(0, BUNDLE_SECRET_BYTES);
}

/**
 * The bundle secret of a `bundle-secret` part (strn_to_rhizome_bsk_t): 64 hex digits, or `#` and a
 * non-empty passphrase, 80 bytes at most in all. Undefined if neither.
 */
export function parseBundleSecret(text: string | Uint8Array): Buffer | undefined {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
  if (bytes[0] === 0x23 /* # */) {
    return bytes.length >= 2 && bytes.length <= MAX_BUNDLE_SECRET_TEXT ? passphraseBundleSecret(bytes) : undefined;
  }
  return parseHex(bytes.toString('latin1'), BUNDLE_SECRET_BYTES);
}

/** crypto_seed_keypair(): the seed is SHA512(string)[0..32), no NUL (§7.5). */
export function seededBundleKeyPair(seedString: string): BundleKeyPair {
  return bundleKeyPairFromSecret(sha512(Buffer.from(seedString, 'utf8')).subarray(0, BUNDLE_SECRET_BYTES));
}

/** Seed string of an identity's MeshMS conversation index, from its Curve25519 box secret (§7.12). */
export function meshmsIndexSeedString(boxSecret: Uint8Array): string {
  expectLength('box secret', boxSecret, 32);
  return `incorrection${toHex(boxSecret)}concentrativeness`;
}

/** Seed string of an identity's MeshMB subscription bundle, from its signing seed (§7.13). */
export function meshmbSubscriptionsSeedString(signingSeed: Uint8Array): string {
  expectLength('signing seed', signingSeed, 32);
  return `91656c3d62e9fe2678a1a81fabe3f413${toHex(signingSeed)}5a37120ca55d911634560e4d4dc1283f`;
}

/** Seed string of an identity's MeshMB activity journal, from its signing seed (§7.13). */
export function meshmbActivitySeedString(signingSeed: Uint8Array): string {
  expectLength('signing seed', signingSeed, 32);
  return `de3f2e21d9735d41b1fd7ddf03a58f2b${toHex(signingSeed)}937a440c12f9478d026bbf579ab115c0`;
}

/** The Ed25519 message of a manifest signature: SHA-512 of the text *and* its NUL (§7.4). */
export function manifestDigest(text: Uint8Array): Buffer {
  return sha512(text, Buffer.of(0));
}

/** The 97-byte self-signature block 0x17 ‖ sig ‖ pk for `text` (without its NUL). */
export function signatureBlock(text: Uint8Array, secretKey: Uint8Array): Buffer {
  expectLength('secret key', secretKey, SECRET_KEY_BYTES);
  const block = Buffer.alloc(SIGNATURE_BLOCK_BYTES);
  block[0] = SIGNATURE_TYPE_ED25519;
  sodium.crypto_sign_detached(block.subarray(1, 65), manifestDigest(text), secretKey);
  block.set(secretKey.subarray(32, 64), 65);
  return block;
}

/**
 * The complete signed manifest: text ‖ NUL ‖ signature block. `text` comes from
 * serializeManifestText(); check manifestTooBig(text) first for the 8192-byte limit.
 */
export function signManifest(text: Uint8Array, secretKey: Uint8Array): Buffer {
  if (text.includes(0)) throw new RangeError('manifest text contains NUL');
  return Buffer.concat([text, Buffer.of(0), signatureBlock(text, secretKey)]);
}

/**
 * The public key of the first 0x17 block that verifies, or undefined (rhizome_manifest_verify):
 * blocks of other types are skipped by their 4*TYPE+5 length, failing blocks are ignored.
 */
export function manifestSigner(bytes: Uint8Array): Buffer | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nul = buf.indexOf(0);
  if (nul < 0) return undefined;
  const digest = manifestDigest(buf.subarray(0, nul));
  for (const block of splitSignatureBlocks(buf.subarray(nul + 1))) {
    if (block[0] !== SIGNATURE_TYPE_ED25519) continue;
    const publicKey = block.subarray(65, 97);
    if (sodium.crypto_sign_verify_detached(block.subarray(1, 65), digest, publicKey)) return Buffer.from(publicKey);
  }
  return undefined;
}

/**
 * True iff the manifest is self-signed: the first verified 0x17 block's key equals `id` (§7.4).
 * Without `id`, the manifest's own `id` field is used (false if it does not parse).
 */
export function verifyManifestSignature(bytes: Uint8Array, id?: Uint8Array): boolean {
  let bid = id;
  if (bid === undefined) {
    try {
      bid = parseManifest(bytes).id;
    } catch {
      return false;
    }
  }
  const signer = manifestSigner(bytes);
  return bid !== undefined && signer !== undefined && signer.equals(bid);
}

/** SHA512(RS ‖ BID)[0..32): what XORs a bundle secret into BK and back (§7.6). */
export function bundleKeyMask(rhizomeSecret: Uint8Array, bid: Uint8Array): Buffer {
  expectLength('BID', bid, BID_BYTES);
  if (rhizomeSecret.length < 1) throw new RangeError('empty Rhizome Secret');
  return sha512(rhizomeSecret, bid).subarray(0, BUNDLE_SECRET_BYTES);
}

function xor32(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** BK = secret XOR SHA512(RS ‖ BID)[0..32), RS = the author's whole Rhizome Secret (§7.6). */
export function computeBundleKey(secret: Uint8Array, rhizomeSecret: Uint8Array, bid: Uint8Array): Buffer {
  expectLength('bundle secret', secret, BUNDLE_SECRET_BYTES);
  return xor32(secret, bundleKeyMask(rhizomeSecret, bid));
}

/**
 * The bundle secret hidden in `bk` for the holder of `rhizomeSecret`, or undefined when it is not
 * theirs (the recovered seed's public key is not the BID: an impostor in §7.7 terms).
 */
export function recoverBundleSecret(bk: Uint8Array, rhizomeSecret: Uint8Array, bid: Uint8Array): Buffer | undefined {
  expectLength('BK', bk, BUNDLE_SECRET_BYTES);
  const secret = xor32(bk, bundleKeyMask(rhizomeSecret, bid));
  return isBundleSecretOf(secret, bid) ? secret : undefined;
}

/** The field of both curves: integers modulo 2^255 − 19. */
const P = (1n << 255n) - 19n;
const LOW_255 = (1n << 255n) - 1n;

/** 32 little-endian bytes as an integer below 2^255 (an Ed25519 key's top bit, x's sign, dropped). */
function fieldElement(bytes: Uint8Array): bigint {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, 32);
  const n = b.readBigUInt64LE(0) | (b.readBigUInt64LE(8) << 64n) | (b.readBigUInt64LE(16) << 128n) | (b.readBigUInt64LE(24) << 192n);
  return (n & LOW_255) % P;
}

/**
 * Whether `sid` is the Curve25519 image of `bid` (bundleIdToSid(bid) equals it): a self-signed
 * bundle's sender (§7.7). Listings ask this of every row with a sender, and the conversion (a
 * field inversion and point checks) costs tens of microseconds; so the image's defining equation,
 * u = (1 + y) / (1 − y), is checked first as u·(1 − y) = 1 + y, one multiplication. Most rows
 * fail it, which proves they are not self-signed; a row that passes is confirmed by the conversion.
 */
export function isSidOfBundle(bid: Uint8Array, sid: Uint8Array): boolean {
  expectLength('BID', bid, BID_BYTES);
  if (sid.length !== 32) return false;
  const y = fieldElement(bid);
  const u = fieldElement(sid);
  if ((u * (1n + P - y)) % P !== (1n + y) % P) return false;
  return bundleIdToSid(bid)?.equals(sid) ?? false;
}

/**
 * Curve25519 image of a BID (crypto_sign_ed25519_pk_to_curve25519): the SID a self-signed bundle's
 * `sender` equals (§7.7), and the other side's key for a recipient-only payload (§7.8). Undefined
 * for a BID that is not a valid curve point.
 */
export function bundleIdToSid(bid: Uint8Array): Buffer | undefined {
  expectLength('BID', bid, BID_BYTES);
  const sid = Buffer.alloc(32);
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(sid, bid);
  } catch {
    return undefined;
  }
  return sid;
}
