/**
 * The memory-hard key derivation for keyring PINs: Argon2id 1.3 via libsodium's crypto_pwhash.
 * The async binding runs the hash on libuv's thread pool, so a slow PIN never stalls the event loop
 * (a request handler may unlock many slots while other requests are being served).
 */
import { sodium } from './sodium.js';

export const PIN_KEY_BYTES = 32;
/** crypto_pwhash_SALTBYTES (16). */
export const PIN_SALT_BYTES: number = sodium.crypto_pwhash_SALTBYTES;

export interface PinKeyParams {
  readonly opsLimit: number;
  readonly memLimit: number;
}

/** Production cost: libsodium's "interactive" level (2 passes, 64 MiB). */
export const DEFAULT_PIN_KEY_PARAMS: PinKeyParams = Object.freeze({
  opsLimit: sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE,
  memLimit: sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE,
});

/** The cheapest cost libsodium allows, for tests only: it offers no protection. */
export const TEST_PIN_KEY_PARAMS: PinKeyParams = Object.freeze({
  opsLimit: sodium.crypto_pwhash_OPSLIMIT_MIN,
  memLimit: sodium.crypto_pwhash_MEMLIMIT_MIN,
});

/**
 * Derivations running at once, process-wide. libuv's pool has four threads, shared with every file
 * read (payload downloads, the store's files): a flood of PIN guesses must leave it room, and each
 * derivation holds `memLimit` bytes besides. The pool is the process's, so this bound is too.
 */
const MAX_PARALLEL = 1;
let running = 0;
// First come, first served: the PIN guard lets each client have one attempt here at a time, so
// this order is also a fair turn between clients.
const waiting: Array<() => void> = [];

/** Derivations waiting for their turn (for the node's status). */
export function derivationsWaiting(): number {
  return waiting.length;
}

async function turn(): Promise<void> {
  if (running < MAX_PARALLEL) {
    running++;
    return;
  }
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function leave(): void {
  const next = waiting.shift();
  if (next) next();
  else running--;
}

/**
 * A 32-byte key from `pin` (its UTF-8 bytes) and a PIN_SALT_BYTES `salt`. Deterministic for the
 * same inputs and parameters. Throws RangeError for a salt of the wrong size.
 */
export async function derivePinKey(pin: string, salt: Uint8Array, params: PinKeyParams): Promise<Buffer> {
  if (salt.byteLength !== PIN_SALT_BYTES) throw new RangeError(`PIN salt must be ${PIN_SALT_BYTES} bytes`);
  await turn();
  const password = Buffer.from(pin, 'utf8');
  const key = Buffer.alloc(PIN_KEY_BYTES);
  try {
    await new Promise<void>((resolve, reject) => {
      sodium.crypto_pwhash_async(
        key,
        password,
        salt,
        params.opsLimit,
        params.memLimit,
        sodium.crypto_pwhash_ALG_ARGON2ID13,
        (err) => (err ? reject(err) : resolve()),
      );
    });
  } finally {
    // The PIN is a secret: do not leave its bytes in a buffer the GC may keep around.
    sodium.sodium_memzero(password);
    leave();
  }
  return key;
}
