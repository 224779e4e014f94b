/**
 * The keyring: identities sealed in slots (src/store/keyring-file.ts), kept in the keyring file or
 * in a cluster's shared database (src/store/keyring-storage.ts), of which the unlocked ones are
 * held in memory (spec §2.1).
 *
 * Unlocking works per PIN: the PIN's key is derived once with the memory-hard KDF and then tried
 * on every locked slot. Keys of PINs that opened something are cached (under an HMAC of the PIN,
 * never the PIN itself) so clients that send `pin` on every request pay for the KDF once; locking
 * an identity forgets its PIN's key, so unlocking again costs a derivation as it should.
 *
 * Every change is written to storage before memory changes, one change at a time, so a failed or
 * interrupted write leaves both the storage and the running node as they were. When another node
 * of a cluster changes the shared slots, the list is read again: slots still there keep their
 * state, new ones are tried with the PIN keys this node knows (so a PIN-less identity made on
 * another node is unlocked here at once), and removed ones go.
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
  fileKeyringStorage,
  openSlot,
  sealSlot,
  type KdfParams,
  type KeyringFile,
  type StoredKeypair,
} from '../../store/keyring-file.js';
import type { KeyringStorage, SlotChange } from '../../store/keyring-storage.js';
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
  /** The keyring file, unless `storage` says where the keyring lives. */
  readonly path?: string;
  readonly storage?: KeyringStorage;
  readonly kdf: KdfParams;
  readonly log: Logger;
  /** True when this process owns the file and may clean up after writers that were killed. */
  readonly owner?: boolean;
}

function sidKey(sid: Buffer | string): string {
  return typeof sid === 'string' ? sid.toUpperCase() : toHex(sid);
}

class Keyring implements KeyringService {
  private slots: Slot[];
  private readonly pinKeys = new Map<string, Buffer>();
  private readonly hmacKey = randomBytes(32);
  private queue: Promise<unknown> = Promise.resolve();
  private listed: readonly Identity[] | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly storage: KeyringStorage,
    private readonly file: KeyringFile,
    private readonly log: Logger,
  ) {
    this.slots = file.slots.map((sealed) => ({ sealed }));
  }

  /**
   * The stored slots changed elsewhere: keep what is still there, try known PINs on the rest.
   * Read in turn with this node's own changes, so an older reading never undoes a newer one.
   */
  reload(): Promise<void> {
    return this.exclusive(async () => {
      const sealed = await this.storage.slots();
      const known = new Map(this.slots.map((slot) => [slot.sealed.toString('base64'), slot]));
      const fresh: Slot[] = [];
      this.setSlots(
        sealed.map((bytes) => {
          const slot = known.get(bytes.toString('base64'));
          if (slot) return slot;
          fresh.push({ sealed: bytes });
          return fresh.at(-1)!;
        }),
      );
      // Only new slots: one this node locked on purpose stays locked.
      for (const [pinId, key] of this.pinKeys) this.scan(key, pinId, fresh);
    });
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

  private async persist(slots: readonly Slot[], code: ErrorCode, change: Omit<SlotChange, 'slots'>): Promise<void> {
    try {
      await this.storage.save({ slots: slots.map((s) => s.sealed), ...change });
    } catch (err) {
      // A database that cannot be reached is 503 as such: the keyring will work again.
      if (isTendrilError(err) && err.code === 'DATABASE_UNAVAILABLE') throw err;
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
  scan(key: Buffer, pinId: string, slots: readonly Slot[] = this.slots): number {
    let opened = 0;
    for (const slot of slots) {
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
      await this.persist(slots, 'KEYRING_STORE_FAILED', { added: [slot.sealed], removed: [], replaced: [] });
      this.setSlots(slots);
      this.pinKeys.set(slot.unlocked!.pinId, key);
      return slot.unlocked!.identity;
    });
  }

  update(sid: Buffer | string, changes: IdentityChanges): Promise<Identity> {
    if (changes.did !== undefined) checkDid(changes.did);
    if (changes.name !== undefined) checkName(changes.name);
    return this.exclusive(async () => {
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
      await this.persist(slots, 'KEYRING_STORE_FAILED', { added: [], removed: [], replaced: [[slot.sealed, replacement.sealed]] });
      this.setSlots(slots);
      return replacement.unlocked!.identity;
    });
  }

  remove(sid: Buffer | string): Promise<Identity> {
    return this.exclusive(async () => {
      const slot = this.slotOf(sid);
      const slots = this.slots.filter((s) => s !== slot);
      await this.persist(slots, 'KEYRING_ERASE_FAILED', { added: [], removed: [slot.sealed], replaced: [] });
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
      await this.persist(slots, 'KEYRING_STORE_FAILED', { added: added.map((s) => s.sealed), removed: [], replaced: [] });
      this.setSlots(slots);
      return added.map((s) => s.unlocked!.identity);
    });
  }

  dump(): DumpIdentity[] {
    return this.slots.flatMap((s) => (s.unlocked ? [toDumpIdentity(s.unlocked.keypairs)] : []));
  }
}

/** A keyring that follows changes other nodes make to its storage until stop() is called. */
export interface OpenKeyring extends KeyringService {
  stop(): Promise<void>;
}

/**
 * Opens (creating if absent) the keyring — the file at `options.path`, or `options.storage` — and
 * unlocks every identity that has no PIN.
 */
export async function openKeyring(options: KeyringOptions): Promise<OpenKeyring> {
  let storage = options.storage;
  if (storage === undefined) {
    if (options.path === undefined) throw new Error('openKeyring: a path or a storage is needed');
    if (options.owner) {
      const removed = removeStaleTemporaries(options.path);
      if (removed > 0) options.log.warn({ removed }, 'removed keyring files left by an interrupted write');
    }
    storage = fileKeyringStorage(options.path);
  }
  const file = await storage.load(options.kdf);
  const keyring = new Keyring(storage, file, options.log);
  await keyring.enterPin('');
  const unwatch = await storage.watch(() => {
    keyring.reload().catch((err: unknown) => options.log.warn({ err }, 'keyring not reloaded'));
  });
  // A slot that nothing opens is PIN-protected — or damaged, which looks the same by design.
  options.log.info({ unlocked: keyring.list().length, locked: file.slots.length - keyring.list().length }, 'keyring opened');
  return Object.assign(keyring, { stop: unwatch });
}
