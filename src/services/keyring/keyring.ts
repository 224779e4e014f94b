/**
 * The keyring: identities sealed in slots of the keyring file (src/store/keyring-file.ts), of which
 * the unlocked ones are held in memory (spec §2.1).
 *
 * Unlocking works per PIN: the PIN's key is derived once with the memory-hard KDF and then tried
 * on every locked slot. Keys of PINs that opened something are cached (under an HMAC of the PIN,
 * never the PIN itself) so clients that send `pin` on every request pay for the KDF once; locking
 * an identity forgets its PIN's key, so unlocking again costs a derivation as it should.
 *
 * Every change is written to the file atomically before memory changes, one change at a time, so
 * a failed or interrupted write leaves both the file and the running node as they were.
 */
import { createHmac } from 'node:crypto';
import { fail, isTendrilError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import { deriveIdentityKeys, newIdentitySeed } from '../../crypto/identity.js';
import { derivePinKey } from '../../crypto/pin-key.js';
import { randomBytes } from '../../crypto/sodium.js';
import { toHex } from '../../formats/hex.js';
import { KEY_TYPE, type DumpIdentity } from '../../formats/keyring-dump.js';
import { removeStaleTemporaries } from '../../store/atomic-file.js';
import {
  decodeSlotPlaintext,
  encodeSlotPlaintext,
  newKeyringFile,
  openSlot,
  readKeyringFile,
  sealSlot,
  writeKeyringFile,
  type KdfParams,
  type KeyringFile,
  type StoredKeypair,
} from '../../store/keyring-file.js';
import { fromDumpIdentity, identityFromKeypairs, toDumpIdentity } from './keypairs.js';
import type { Identity, IdentityChanges, KeyringService, NewIdentity } from './types.js';
import { checkDid, checkName } from './validate.js';

/** No keyring needs more; the cap keeps a runaway client from growing the file without bound. */
export const MAX_IDENTITIES = 4096;

interface Unlocked {
  readonly identity: Identity;
  readonly keypairs: readonly StoredKeypair[];
  readonly key: Buffer;
  readonly pinId: string;
}

interface Slot {
  readonly sealed: Buffer;
  unlocked?: Unlocked;
}

export interface KeyringOptions {
  readonly path: string;
  readonly kdf: KdfParams;
  readonly log: Logger;
  /** True when this process owns the file and may clean up after writers that were killed. */
  readonly owner?: boolean;
}

function sidKey(sid: Buffer | string): string {
  return typeof sid === 'string' ? sid.toUpperCase() : toHex(sid);
}

class FileKeyring implements KeyringService {
  private slots: Slot[];
  private readonly pinKeys = new Map<string, Buffer>();
  private readonly hmacKey = randomBytes(32);
  private queue: Promise<unknown> = Promise.resolve();
  private listed: readonly Identity[] | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly path: string,
    private readonly file: KeyringFile,
    private readonly log: Logger,
  ) {
    this.slots = file.slots.map((sealed) => ({ sealed }));
  }

  private setSlots(slots: Slot[]): void {
    this.slots = slots;
    this.changed();
  }

  /** The unlocked identities, or a DID or name of one, changed: the list is made again, and listeners hear of it. */
  private changed(): void {
    this.listed = undefined;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        // A listener's fault is its own: the keyring's change stands.
        this.log.error({ err }, 'keyring listener failed');
      }
    }
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private pinId(pin: string): string {
    return createHmac('sha256', this.hmacKey).update(pin, 'utf8').digest('hex');
  }

  private async keyFor(pin: string): Promise<Buffer> {
    return this.pinKeys.get(this.pinId(pin)) ?? derivePinKey(pin, this.file.salt, this.file.kdf);
  }

  /** Runs mutations one at a time, in arrival order. */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private persist(slots: readonly Slot[], code: ErrorCode): void {
    try {
      writeKeyringFile(this.path, { ...this.file, slots: slots.map((s) => s.sealed) });
    } catch (err) {
      this.log.error({ err }, 'keyring write failed');
      fail(code, { cause: err });
    }
  }

  private slotOf(sid: Buffer | string): Slot {
    const hex = sidKey(sid);
    const slot = this.slots.find((s) => s.unlocked?.identity.sidHex === hex);
    if (!slot) fail('KEYRING_IDENTITY_NOT_FOUND');
    return slot;
  }

  private seal(keypairs: readonly StoredKeypair[], key: Buffer, pinId: string): Slot {
    const identity = identityFromKeypairs(keypairs);
    return { sealed: sealSlot(encodeSlotPlaintext(keypairs), key), unlocked: { identity, keypairs, key, pinId } };
  }

  /** Opens every locked slot that `key` opens; returns how many it opened. */
  scan(key: Buffer, pinId: string): number {
    let opened = 0;
    for (const slot of this.slots) {
      if (slot.unlocked) continue;
      const plain = openSlot(slot.sealed, key);
      if (!plain) continue;
      try {
        const keypairs = decodeSlotPlaintext(plain);
        slot.unlocked = { identity: identityFromKeypairs(keypairs), keypairs, key, pinId };
        opened++;
      } catch (err) {
        // A slot that opens but does not decode is damaged; the rest of the keyring still loads.
        this.log.error({ code: isTendrilError(err) ? err.code : undefined }, 'keyring slot unreadable');
      }
    }
    if (opened > 0) this.changed();
    return opened;
  }

  list(): readonly Identity[] {
    // Recomputed only after a change: listing is the hottest path of the API.
    if (!this.listed) {
      const out: Identity[] = [];
      for (const slot of this.slots) if (slot.unlocked) out.push(slot.unlocked.identity);
      this.listed = Object.freeze(out);
    }
    return this.listed;
  }

  async enterPin(pin: string): Promise<boolean> {
    const pinId = this.pinId(pin);
    const known = this.pinKeys.has(pinId) || this.slots.some((s) => s.unlocked?.pinId === pinId);
    const key = await this.keyFor(pin);
    const opened = this.scan(key, pinId) > 0;
    // The empty PIN's key is kept even when it opened nothing: every new PIN-less identity needs it.
    if (opened || pin === '') this.pinKeys.set(pinId, key);
    return known || opened || pin === '';
  }

  find(sid: Buffer | string): Identity | undefined {
    const hex = sidKey(sid);
    return this.slots.find((s) => s.unlocked?.identity.sidHex === hex)?.unlocked?.identity;
  }

  findBySigningId(signingId: Buffer | string): Identity | undefined {
    const hex = sidKey(signingId);
    return this.slots.find((s) => s.unlocked?.identity.signingIdHex === hex)?.unlocked?.identity;
  }

  add(options: NewIdentity): Promise<Identity> {
    checkDid(options.did ?? '');
    checkName(options.name ?? '');
    return this.exclusive(async () => {
      if (this.slots.length >= MAX_IDENTITIES) fail('KEYRING_CREATE_FAILED');
      const pin = options.pin ?? '';
      const key = await this.keyFor(pin);
      const keypairs: StoredKeypair[] = [
        { type: KEY_TYPE.RHIZOME, pub: Buffer.alloc(0), sec: randomBytes(32) },
        { type: KEY_TYPE.CRYPTOCOMBINED, pub: Buffer.alloc(0), sec: deriveIdentityKeys(newIdentitySeed()).seed },
      ];
      if (options.did !== undefined || options.name !== undefined) {
        keypairs.push({
          type: KEY_TYPE.DID,
          pub: Buffer.from(options.name ?? '', 'utf8'),
          sec: Buffer.from(options.did ?? '', 'utf8'),
        });
      }
      const slot = this.seal(keypairs, key, this.pinId(pin));
      const slots = [...this.slots, slot];
      this.persist(slots, 'KEYRING_STORE_FAILED');
      this.setSlots(slots);
      this.pinKeys.set(slot.unlocked!.pinId, key);
      return slot.unlocked!.identity;
    });
  }

  update(sid: Buffer | string, changes: IdentityChanges): Promise<Identity> {
    if (changes.did !== undefined) checkDid(changes.did);
    if (changes.name !== undefined) checkName(changes.name);
    return this.exclusive(() => {
      const slot = this.slotOf(sid);
      const { keypairs, key, pinId } = slot.unlocked!;
      const record = keypairs.find((kp) => kp.type === KEY_TYPE.DID);
      const next: StoredKeypair[] = keypairs.filter((kp) => kp.type !== KEY_TYPE.DID);
      next.push({
        type: KEY_TYPE.DID,
        pub: changes.name !== undefined ? Buffer.from(changes.name, 'utf8') : (record?.pub ?? Buffer.alloc(0)),
        sec: changes.did !== undefined ? Buffer.from(changes.did, 'utf8') : (record?.sec ?? Buffer.alloc(0)),
      });
      const replacement = this.seal(next, key, pinId);
      const slots = this.slots.map((s) => (s === slot ? replacement : s));
      this.persist(slots, 'KEYRING_STORE_FAILED');
      this.setSlots(slots);
      return replacement.unlocked!.identity;
    });
  }

  remove(sid: Buffer | string): Promise<Identity> {
    return this.exclusive(() => {
      const slot = this.slotOf(sid);
      const slots = this.slots.filter((s) => s !== slot);
      this.persist(slots, 'KEYRING_ERASE_FAILED');
      this.setSlots(slots);
      return slot.unlocked!.identity;
    });
  }

  lock(sid: Buffer | string): Identity {
    const slot = this.slotOf(sid);
    const { identity, pinId } = slot.unlocked!;
    delete slot.unlocked;
    this.changed();
    if (pinId !== this.pinId('')) this.pinKeys.delete(pinId);
    return identity;
  }

  load(identities: readonly DumpIdentity[], pins: readonly string[]): Promise<Identity[]> {
    // Validate everything before anything is written: a bad entry loads nothing.
    const entries = identities.map((id) => fromDumpIdentity(id));
    return this.exclusive(async () => {
      const known = new Set(this.list().map((i) => i.signingIdHex));
      const added: Slot[] = [];
      let pinIndex = 0;
      for (const keypairs of entries) {
        const identity = identityFromKeypairs(keypairs);
        if (known.has(identity.signingIdHex)) continue;
        known.add(identity.signingIdHex);
        const pin = pins[pinIndex++] ?? '';
        const key = await this.keyFor(pin);
        this.pinKeys.set(this.pinId(pin), key);
        added.push(this.seal(keypairs, key, this.pinId(pin)));
      }
      if (this.slots.length + added.length > MAX_IDENTITIES) fail('KEYRING_CREATE_FAILED');
      const slots = [...this.slots, ...added];
      this.persist(slots, 'KEYRING_STORE_FAILED');
      this.setSlots(slots);
      return added.map((s) => s.unlocked!.identity);
    });
  }

  dump(): DumpIdentity[] {
    return this.slots.flatMap((s) => (s.unlocked ? [toDumpIdentity(s.unlocked.keypairs)] : []));
  }
}

/**
 * Opens (creating if absent) the keyring file at `options.path` and unlocks every identity that
 * has no PIN.
 */
export async function openKeyring(options: KeyringOptions): Promise<KeyringService> {
  if (options.owner) {
    const removed = removeStaleTemporaries(options.path);
    if (removed > 0) options.log.warn({ removed }, 'removed keyring files left by an interrupted write');
  }
  let file = readKeyringFile(options.path);
  if (!file) {
    file = newKeyringFile(options.kdf);
    writeKeyringFile(options.path, file);
  }
  const keyring = new FileKeyring(options.path, file, options.log);
  await keyring.enterPin('');
  // A slot that nothing opens is PIN-protected — or damaged, which looks the same by design.
  options.log.info({ unlocked: keyring.list().length, locked: file.slots.length - keyring.list().length }, 'keyring opened');
  return keyring;
}
