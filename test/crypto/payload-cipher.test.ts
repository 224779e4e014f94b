// Payload encryption (spec §7.8, §7.9): crypto_box_beforenm, key and nonce derivation against the
// reference's bundles, and the paged XSalsa20 stream under any chunking and start offset.
// node:test schedules suites and tests itself; `void` marks their promises as deliberately not awaited.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import sodium from 'sodium-native';
import { boxBeforeNm, hsalsa20ZeroInput } from '../../src/crypto/box.js';
import { bundleKeyPairFromSecret, seededBundleKeyPair } from '../../src/crypto/bundle-keys.js';
import {
  PAYLOAD_PAGE_BYTES,
  createPayloadCipher,
  createPayloadCipherStream,
  pageNonce,
  payloadKeyFromPair,
  payloadKeyFromSecret,
  payloadNonce,
} from '../../src/crypto/payload-cipher.js';
import { toHex } from '../../src/formats/hex.js';
import { parseManifest } from '../../src/formats/manifest.js';
import { VECTORS as VECTOR_PATHS } from '../helpers/vectors.js';

// The reference daemon's vectors, kept in test/vectors.
const VECTORS = VECTOR_PATHS.root;

interface CryptVector {
  readonly bid: string;
  readonly bundle_secret: string;
  readonly version: number;
  readonly payload_key: string;
  readonly payload_nonce: string;
  readonly crypto_box_beforenm?: string;
  readonly page_nonces: Readonly<Record<string, string>>;
  readonly filehash: string;
}
interface Identity {
  readonly label: string;
  readonly sid: string;
  readonly sid_secret_curve25519: string;
  readonly signing_seed: string;
  readonly derived: { readonly meshms_conversation_index: { readonly seed_string: string; readonly bid: string } };
}

const hex = (s: string) => Buffer.from(s, 'hex');
const file = (...path: string[]) => readFileSync(join(VECTORS, ...path));
const json = <T>(...path: string[]) => JSON.parse(file(...path).toString('utf8')) as T;
const identities = json<{ identities: Identity[] }>('identities.json').identities;
const who = (label: string) => identities.find((i) => i.label === label)!;
const sha512Hex = (b: Buffer) => createHash('sha512').update(b).digest('hex').toUpperCase();
const crypt = (key: Uint8Array, nonce: Uint8Array, data: Uint8Array, offset: number | bigint = 0) =>
  createPayloadCipher({ key, nonce, offset }).update(data);

/** The obvious, slow model: every page on its own with crypto_stream_xor and nonce + P. */
function model(key: Uint8Array, nonce: Uint8Array, data: Uint8Array, offset: number): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; ) {
    const logical = offset + i;
    const page = logical - (logical % PAYLOAD_PAGE_BYTES);
    const n = Math.min(page + PAYLOAD_PAGE_BYTES - logical, data.length - i);
    const ks = Buffer.alloc(logical - page + n);
    sodium.crypto_stream(ks, pageNonce(nonce, page), key);
    for (let j = 0; j < n; j++) out[i + j] = data[i + j]! ^ ks[logical - page + j]!;
    i += n;
  }
  return out;
}

void describe('boxBeforeNm (crypto_box_beforenm)', () => {
  void it('matches crypto_box_easy ≡ crypto_secretbox_easy under the derived key', () => {
    for (let round = 0; round < 20; round++) {
      const [apk, ask, bpk, bsk] = [Buffer.alloc(32), Buffer.alloc(32), Buffer.alloc(32), Buffer.alloc(32)];
      sodium.crypto_box_keypair(apk, ask);
      sodium.crypto_box_keypair(bpk, bsk);
      const message = randomBytes(round * 7);
      const nonce = randomBytes(24);
      const boxed = Buffer.alloc(message.length + 16);
      sodium.crypto_box_easy(boxed, message, nonce, bpk, ask);
      const sealed = Buffer.alloc(message.length + 16);
      sodium.crypto_secretbox_easy(sealed, message, nonce, boxBeforeNm(bpk, ask)!);
      assert.deepEqual(sealed, boxed);
      assert.deepEqual(boxBeforeNm(apk, bsk), boxBeforeNm(bpk, ask), 'symmetric');
    }
  });

  void it("reproduces NaCl's beforenm test value (firstkey)", () => {
    // crypto_box's beforenm of the NaCl test keys (alicesk, bobpk) is the well-known firstkey.
    const alicesk = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobpk = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const firstkey = '1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389';
    assert.equal(boxBeforeNm(bobpk, alicesk)!.toString('hex'), firstkey);
    assert.throws(() => hsalsa20ZeroInput(Buffer.alloc(31)), RangeError);
  });

  void it('is undefined for a low-order public key', () => {
    assert.equal(boxBeforeNm(Buffer.alloc(32), randomBytes(32)), undefined);
  });
});

void describe('06: sender/recipient encryption (Bob → Carol)', () => {
  const v = json<CryptVector>('manifests', '06_crypt_sender_recipient', 'vector.json');
  const bob = who('bob');
  const carol = who('carol');

  void it('beforenm and the pair key are the same from either side', () => {
    assert.equal(toHex(boxBeforeNm(hex(carol.sid), hex(bob.sid_secret_curve25519))!), v.crypto_box_beforenm);
    assert.equal(toHex(boxBeforeNm(hex(bob.sid), hex(carol.sid_secret_curve25519))!), v.crypto_box_beforenm);
    assert.equal(toHex(payloadKeyFromPair(hex(bob.sid_secret_curve25519), hex(carol.sid))!), v.payload_key);
    assert.equal(toHex(payloadKeyFromPair(hex(carol.sid_secret_curve25519), hex(bob.sid))!), v.payload_key);
  });

  void it('nonce = SHA512(LE64(version) ‖ BID ‖ LE64(version))[0..24), and the per-page nonces', () => {
    const nonce = payloadNonce(hex(v.bid), BigInt(v.version), false);
    assert.equal(toHex(nonce), v.payload_nonce);
    for (const [page, expected] of Object.entries(v.page_nonces)) {
      assert.equal(toHex(pageNonce(nonce, Number(page))), expected);
    }
  });

  void it('decrypting raw.bin (3 pages) gives decrypted.bin, whichever side derives the key', () => {
    const raw = file('manifests', '06_crypt_sender_recipient', 'raw.bin');
    const plain = file('manifests', '06_crypt_sender_recipient', 'decrypted.bin');
    assert.equal(raw.length, 10000);
    assert.equal(sha512Hex(raw), v.filehash, 'filehash covers the ciphertext');
    const nonce = payloadNonce(hex(v.bid), BigInt(v.version), false);
    for (const [mine, theirs] of [
      [bob.sid_secret_curve25519, carol.sid],
      [carol.sid_secret_curve25519, bob.sid],
    ] as const) {
      assert.deepEqual(crypt(payloadKeyFromPair(hex(mine), hex(theirs))!, nonce, raw), plain);
    }
    assert.deepEqual(crypt(hex(v.payload_key), nonce, plain), raw, 'encryption is the same XOR');
  });
});

void describe('07: encryption keyed by the bundle secret', () => {
  const v = json<CryptVector>('manifests', '07_crypt_bundle_secret', 'vector.json');

  void it('key = SHA512("sasquatch" ‖ 64-byte secret key)[0..32), from the seed or the secret key', () => {
    const pair = bundleKeyPairFromSecret(hex(v.bundle_secret));
    assert.equal(toHex(payloadKeyFromSecret(pair.secret, pair.bid)), v.payload_key);
    assert.equal(toHex(payloadKeyFromSecret(pair.secretKey, pair.bid)), v.payload_key);
    const independent = createHash('sha512').update('sasquatch').update(pair.secret).update(pair.bid).digest();
    assert.equal(toHex(independent.subarray(0, 32)), v.payload_key);
    assert.throws(() => payloadKeyFromSecret(pair.secretKey, Buffer.alloc(32)), RangeError);
  });

  void it('per-page nonces and decryption of raw.bin to decrypted.computed.bin', () => {
    const nonce = payloadNonce(hex(v.bid), BigInt(v.version), false);
    assert.equal(toHex(nonce), v.payload_nonce);
    for (const [page, expected] of Object.entries(v.page_nonces)) {
      assert.equal(toHex(pageNonce(nonce, Number(page))), expected);
    }
    const raw = file('manifests', '07_crypt_bundle_secret', 'raw.bin');
    assert.equal(raw.length, 9000);
    const plain = file('manifests', '07_crypt_bundle_secret', 'decrypted.computed.bin');
    assert.deepEqual(crypt(hex(v.payload_key), nonce, raw), plain);
  });
});

void describe('journals (§7.9)', () => {
  void it('08: the plain journal grows by appending (no crypt field there)', () => {
    const raws = ['08_journal_v1_create', '08_journal_v2_append', '08_journal_v3_append'].map((d) => {
      assert.equal(parseManifest(file('manifests', d, 'manifest.rhm')).crypt, undefined);
      return file('manifests', d, 'raw.bin');
    });
    assert.deepEqual(raws.map((r) => r.length), [24, 45, 71]);
    assert.deepEqual(raws[2]!.subarray(0, 45), raws[1]);
    assert.deepEqual(raws[1]!.subarray(0, 24), raws[0]);
  });

  void it('the nonce of a journal ignores the version', () => {
    const bid = randomBytes(32);
    const zero = payloadNonce(bid, 0n, false);
    assert.deepEqual(payloadNonce(bid, 24n, true), zero);
    assert.deepEqual(payloadNonce(bid, 71n, true), zero);
    assert.notDeepEqual(payloadNonce(bid, 71n, false), zero);
  });

  void it('synthetic: appends encrypted from tail + old size continue the one stream', () => {
    const key = randomBytes(32);
    const nonce = payloadNonce(randomBytes(32), 999n, true);
    const tail = 5000;
    const parts = [randomBytes(24), randomBytes(4100), randomBytes(9000)];
    let offset = tail;
    const appended = parts.map((p) => {
      const c = crypt(key, nonce, p, offset);
      offset += p.length;
      return c;
    });
    assert.deepEqual(Buffer.concat(appended), crypt(key, nonce, Buffer.concat(parts), tail));
    assert.deepEqual(Buffer.concat(appended), model(key, nonce, Buffer.concat(parts), tail));
  });

  void it("MeshMS: Carol's encrypted ply journal (4181 bytes across a page) decrypts with the pair key", () => {
    const meshms = json<{ pair_key: string }>('meshms', 'meshms.json');
    const bob = who('bob');
    const carol = who('carol');
    assert.equal(toHex(payloadKeyFromPair(hex(carol.sid_secret_curve25519), hex(bob.sid))!), meshms.pair_key);
    for (const ply of ['x1_ply_bob', 'x2_ply_bob', 'x1_ply_carol', 'x2_ply_carol']) {
      const m = parseManifest(file('meshms', ply, 'manifest.rhm'));
      assert.equal(m.crypt, true);
      assert.equal(m.tail, 0n);
      const nonce = payloadNonce(m.id!, m.version!, m.isJournal);
      const raw = file('meshms', ply, 'raw.bin');
      const plain = file('meshms', ply, 'decrypted.bin');
      assert.deepEqual(crypt(hex(meshms.pair_key), nonce, raw, m.tail ?? 0n), plain, ply);
    }
  });

  void it('MeshMS: the conversation indexes decrypt with the key of their seeded secret', () => {
    const byBid = new Map(identities.map((i) => [i.derived.meshms_conversation_index.bid, i]));
    for (const d of ['x1_private_0', 'x1_private_1', 'x2_private_0', 'x2_private_1']) {
      const m = parseManifest(file('meshms', d, 'manifest.rhm'));
      const owner = byBid.get(toHex(m.id!))!;
      const pair = seededBundleKeyPair(owner.derived.meshms_conversation_index.seed_string);
      const key = payloadKeyFromSecret(pair.secretKey, pair.bid);
      const plain = crypt(key, payloadNonce(m.id!, m.version!, false), file('meshms', d, 'raw.bin'));
      assert.deepEqual(plain, file('meshms', d, 'decrypted.computed.bin'), d);
      assert.equal(plain[0], 2, 'format version 2');
    }
  });
});

void describe('pageNonce', () => {
  void it('adds the byte offset as a big-endian 192-bit integer, carrying across bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (nonce, add) => {
          const expected = (BigInt(`0x${Buffer.from(nonce).toString('hex')}`) + BigInt(add)) % 2n ** 192n;
          assert.equal(pageNonce(nonce, add).toString('hex'), expected.toString(16).padStart(48, '0'));
        },
      ),
    );
    assert.equal(toHex(pageNonce(Buffer.alloc(24, 0xff), 4096)), `${'00'.repeat(22)}0FFF`);
    assert.throws(() => pageNonce(Buffer.alloc(24), -1), RangeError);
  });
});

void describe('createPayloadCipher', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const data = randomBytes(3 * PAYLOAD_PAGE_BYTES + 1234);
  const whole = crypt(key, nonce, data);

  void it('agrees with the page-by-page model', () => {
    assert.deepEqual(whole, model(key, nonce, data, 0));
    assert.deepEqual(crypt(key, nonce, data, 4095), model(key, nonce, data, 4095));
  });

  void it('gives the same output whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 12 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), data.length];
        const cipher = createPayloadCipher({ key, nonce });
        const parts = points.slice(1).map((end, i) => cipher.update(data.subarray(points[i], end)));
        assert.deepEqual(Buffer.concat(parts), whole);
        assert.equal(cipher.offset, data.length);
      }),
    );
  });

  void it('decrypting [a, b) from offset a equals that slice of the whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: data.length }),
        fc.integer({ min: 0, max: data.length }),
        fc.integer({ min: 1, max: 5000 }),
        (x, y, chunk) => {
          const [a, b] = x <= y ? [x, y] : [y, x];
          const cipher = createPayloadCipher({ key, nonce, offset: a });
          const parts: Buffer[] = [];
          for (let i = a; i < b; i += chunk) parts.push(cipher.update(data.subarray(i, Math.min(b, i + chunk))));
          assert.deepEqual(Buffer.concat(parts), whole.subarray(a, b));
        },
      ),
    );
  });

  void it('handles large logical offsets (journal tails) with nonce carries', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 52n }), fc.integer({ min: 1, max: 9000 }), (offset, length) => {
        const slice = data.subarray(0, length);
        assert.deepEqual(crypt(key, nonce, slice, offset), model(key, nonce, slice, Number(offset)));
      }),
      { numRuns: 50 },
    );
  });

  void it('accepts empty chunks and rejects bad parameters', () => {
    const cipher = createPayloadCipher({ key, nonce, offset: 10 });
    assert.equal(cipher.update(Buffer.alloc(0)).length, 0);
    assert.equal(cipher.offset, 10);
    assert.throws(() => createPayloadCipher({ key: key.subarray(1), nonce }), RangeError);
    assert.throws(() => createPayloadCipher({ key, nonce: nonce.subarray(1) }), RangeError);
    assert.throws(() => createPayloadCipher({ key, nonce, offset: 2n ** 64n }), RangeError);
  });

  void it('works as a Transform stream', async () => {
    const chunks = [data.subarray(0, 1), data.subarray(1, 5000), data.subarray(5000)];
    const out: Buffer[] = [];
    const stream = Readable.from(chunks).pipe(createPayloadCipherStream({ key, nonce }));
    for await (const chunk of stream) out.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(out), whole);
  });
});
