// Types for the parts of sodium-native (libsodium bindings) that Tendril uses. The package ships
// none; every function writes into caller-supplied buffers, as libsodium does.
declare module 'sodium-native' {
  type Buf = Uint8Array;
  const sodium: {
    randombytes_buf(out: Buf): void;

    crypto_sign_PUBLICKEYBYTES: number;
    crypto_sign_SECRETKEYBYTES: number;
    crypto_sign_SEEDBYTES: number;
    crypto_sign_BYTES: number;
    crypto_sign_keypair(pk: Buf, sk: Buf): void;
    crypto_sign_seed_keypair(pk: Buf, sk: Buf, seed: Buf): void;
    crypto_sign_detached(sig: Buf, message: Buf, sk: Buf): void;
    crypto_sign_verify_detached(sig: Buf, message: Buf, pk: Buf): boolean;
    crypto_sign_ed25519_pk_to_curve25519(curvePk: Buf, edPk: Buf): void;
    crypto_sign_ed25519_sk_to_curve25519(curveSk: Buf, edSk: Buf): void;

    crypto_scalarmult_BYTES: number;
    crypto_scalarmult_SCALARBYTES: number;
    crypto_scalarmult(q: Buf, n: Buf, p: Buf): void;
    crypto_scalarmult_base(q: Buf, n: Buf): void;

    crypto_box_PUBLICKEYBYTES: number;
    crypto_box_SECRETKEYBYTES: number;
    crypto_box_NONCEBYTES: number;
    crypto_box_MACBYTES: number;
    crypto_box_keypair(pk: Buf, sk: Buf): void;
    crypto_box_easy(c: Buf, m: Buf, n: Buf, pk: Buf, sk: Buf): void;
    crypto_box_open_easy(m: Buf, c: Buf, n: Buf, pk: Buf, sk: Buf): boolean;

    crypto_secretbox_KEYBYTES: number;
    crypto_secretbox_NONCEBYTES: number;
    crypto_secretbox_MACBYTES: number;
    crypto_secretbox_easy(c: Buf, m: Buf, n: Buf, k: Buf): void;
    crypto_secretbox_open_easy(m: Buf, c: Buf, n: Buf, k: Buf): boolean;

    // crypto_stream is XSalsa20.
    crypto_stream_KEYBYTES: number;
    crypto_stream_NONCEBYTES: number;
    crypto_stream(c: Buf, n: Buf, k: Buf): void;
    crypto_stream_xor(c: Buf, m: Buf, n: Buf, k: Buf): void;
    crypto_stream_salsa20(c: Buf, n: Buf, k: Buf): void;
    crypto_stream_salsa20_xor_ic(c: Buf, m: Buf, n: Buf, ic: number, k: Buf): void;

    crypto_hash_sha512_BYTES: number;
    crypto_hash_sha512(out: Buf, input: Buf): void;

    crypto_pwhash_SALTBYTES: number;
    crypto_pwhash_ALG_ARGON2ID13: number;
    crypto_pwhash_OPSLIMIT_INTERACTIVE: number;
    crypto_pwhash_MEMLIMIT_INTERACTIVE: number;
    crypto_pwhash_OPSLIMIT_MIN: number;
    crypto_pwhash_MEMLIMIT_MIN: number;
    crypto_pwhash(out: Buf, passwd: Buf, salt: Buf, opslimit: number, memlimit: number, alg: number): void;
    crypto_pwhash_async(
      out: Buf,
      passwd: Buf,
      salt: Buf,
      opslimit: number,
      memlimit: number,
      alg: number,
      callback: (err: Error | null) => void,
    ): void;

    sodium_memzero(buf: Buf): void;
    sodium_memcmp(a: Buf, b: Buf): boolean;
  };
  export default sodium;
}
