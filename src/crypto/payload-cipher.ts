/**
 * Rhizome payload encryption (spec §7.8): key and nonce derivation, and the paged XSalsa20 stream
 * cipher as a streaming transform.
 *
 * The logical payload is cut into 4096-byte pages; the page at logical offset P (a multiple of
 * 4096) is XORed with the XSalsa20 keystream of `nonce + P` (the 24-byte nonce read as a big-endian
 * integer) from keystream position 0. Since every page stands alone, any byte range can be
 * processed from its own offset: a journal continues at `tail + filesize`, a Range request starts
 * anywhere. Encryption and decryption are the same XOR.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import sodium from 'sodium-native';
import { boxBeforeNm } from './box.js';

export const PAYLOAD_PAGE_BYTES = 4096;
export const PAYLOAD_KEY_BYTES = 32;
export const PAYLOAD_NONCE_BYTES = 24;

function sha512(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/**
 * SHA512(LE64(v) ‖ BID ‖ LE64(v))[0..24) with v = 0 for a journal (so appends continue one stream)
 * and v = version otherwise (so every version of a bundle gets fresh keystream).
 */
export function payloadNonce(bid: Uint8Array, version: bigint, isJournal: boolean): Buffer {
  if (bid.length !== 32) throw new RangeError('BID must be 32 bytes');
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(isJournal ? 0n : version);
  return sha512(v, bid, v).subarray(0, PAYLOAD_NONCE_BYTES);
}

/**
 * Key of a bundle without `recipient`: SHA512("sasquatch" ‖ secret key)[0..32), where the secret key
 * is libsodium's 64 bytes, seed ‖ BID. Accepts that secret key, or the 32-byte bundle secret (the
 * seed) with which `bid` completes it. (73 bytes are hashed: the BID is not appended a second time.)
 */
export function payloadKeyFromSecret(secret: Uint8Array, bid: Uint8Array): Buffer {
  if (bid.length !== 32) throw new RangeError('BID must be 32 bytes');
  let secretKey: Uint8Array;
  if (secret.length === 32) secretKey = Buffer.concat([secret, bid]);
  else if (secret.length === 64 && Buffer.from(secret.subarray(32)).equals(bid)) secretKey = secret;
  else throw new RangeError('secret must be the 32-byte bundle secret or the 64-byte secret key of this BID');
  return sha512(Buffer.from('sasquatch', 'ascii'), secretKey).subarray(0, PAYLOAD_KEY_BYTES);
}

/**
 * Key of a sender/recipient bundle: SHA512(crypto_box_beforenm(otherPublic, mySecret))[0..32) with
 * Curve25519 keys (a box secret and a SID). The same for both ends: Bob's secret with Carol's SID
 * equals Carol's secret with Bob's SID. Undefined for a degenerate public key (→ CRYPTO_FAIL).
 */
export function payloadKeyFromPair(mySecret: Uint8Array, otherPublic: Uint8Array): Buffer | undefined {
  const shared = boxBeforeNm(otherPublic, mySecret);
  return shared && sha512(shared).subarray(0, PAYLOAD_KEY_BYTES);
}

/** `nonce + pageOffset`, big-endian with carry across all 24 bytes (add_nonce in servald). */
export function pageNonce(nonce: Uint8Array, pageOffset: number | bigint): Buffer {
  const out = Buffer.alloc(PAYLOAD_NONCE_BYTES);
  writePageNonce(out, nonce, toSafeOffset(pageOffset));
  return out;
}

function writePageNonce(out: Buffer, nonce: Uint8Array, pageOffset: number): void {
  out.set(nonce);
  let carry = pageOffset;
  for (let i = PAYLOAD_NONCE_BYTES - 1; i >= 0 && carry > 0; i--) {
    const sum = (out[i] ?? 0) + (carry % 256);
    out[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
}

function toSafeOffset(offset: number | bigint): number {
  const n = Number(offset);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`payload offset out of range: ${offset}`);
  return n;
}

export interface PayloadCipherOptions {
  readonly key: Uint8Array;
  /** The bundle's base nonce (payloadNonce). */
  readonly nonce: Uint8Array;
  /**
   * Logical offset of the first byte processed, default 0: the journal tail plus the stored
   * offset (for an append, tail + old filesize; for a Range, tail + range start). May fall
   * mid-page.
   */
  readonly offset?: number | bigint;
}

export interface PayloadCipher {
  /** XORs the next bytes of the stream into a new buffer of the same length. */
  update(chunk: Uint8Array): Buffer;
  /** Logical offset of the next byte. */
  readonly offset: number;
}

/** A cipher that processes consecutive chunks of the logical stream, in constant memory. */
export function createPayloadCipher(opts: PayloadCipherOptions): PayloadCipher {
  return new PagedXSalsa20(opts);
}

/** The same as a Node Transform: encrypts or decrypts whatever flows through it. */
export function createPayloadCipherStream(opts: PayloadCipherOptions): Transform {
  const cipher = createPayloadCipher(opts);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, cipher.update(chunk));
    },
  });
}

// sodium-native 5 has libsodium-style streaming XSalsa20 (state carried across calls, any chunk
// size, all native) but src/types/sodium-native.d.ts does not declare it yet; typed here.
interface StreamXor {
  readonly crypto_stream_xor_STATEBYTES: number;
  crypto_stream_xor_init(state: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  crypto_stream_xor_update(state: Uint8Array, out: Uint8Array, input: Uint8Array): void;
}
const streamXor = sodium as unknown as StreamXor;

// Keystream to discard when a cipher starts mid-page (synchronous use only, so shared).
const ZEROS = Buffer.alloc(PAYLOAD_PAGE_BYTES);
const DISCARD = Buffer.alloc(PAYLOAD_PAGE_BYTES);

class PagedXSalsa20 implements PayloadCipher {
  #offset: number;
  #positioned = false;
  readonly #key: Buffer;
  readonly #nonce: Buffer;
  readonly #pageNonce = Buffer.alloc(PAYLOAD_NONCE_BYTES);
  readonly #state = Buffer.alloc(streamXor.crypto_stream_xor_STATEBYTES);

  constructor(opts: PayloadCipherOptions) {
    if (opts.key.length !== PAYLOAD_KEY_BYTES) throw new RangeError('payload key must be 32 bytes');
    if (opts.nonce.length !== PAYLOAD_NONCE_BYTES) throw new RangeError('payload nonce must be 24 bytes');
    this.#key = Buffer.from(opts.key);
    this.#nonce = Buffer.from(opts.nonce);
    this.#offset = toSafeOffset(opts.offset ?? 0);
  }

  get offset(): number {
    return this.#offset;
  }

  update(chunk: Uint8Array): Buffer {
    const input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out = Buffer.allocUnsafe(input.length);
    let done = 0;
    while (done < input.length) {
      const within = this.#offset % PAYLOAD_PAGE_BYTES;
      const n = Math.min(PAYLOAD_PAGE_BYTES - within, input.length - done);
      const target = out.subarray(done, done + n);
      const source = input.subarray(done, done + n);
      if (n === PAYLOAD_PAGE_BYTES) {
        // A whole page in one native call; the next page starts afresh anyway.
        writePageNonce(this.#pageNonce, this.#nonce, this.#offset);
        sodium.crypto_stream_xor(target, source, this.#pageNonce, this.#key);
      } else {
        if (within === 0 || !this.#positioned) this.#startPage(this.#offset - within, within);
        streamXor.crypto_stream_xor_update(this.#state, target, source);
      }
      done += n;
      this.#offset += n;
    }
    return out;
  }

  /** Keystream of page `page` from position `within`: each page restarts at 0 under nonce + page. */
  #startPage(page: number, within: number): void {
    writePageNonce(this.#pageNonce, this.#nonce, page);
    streamXor.crypto_stream_xor_init(this.#state, this.#pageNonce, this.#key);
    if (within > 0) {
      streamXor.crypto_stream_xor_update(this.#state, DISCARD.subarray(0, within), ZEROS.subarray(0, within));
    }
    this.#positioned = true;
  }
}
