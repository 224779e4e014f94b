/**
 * Where a keyring's sealed slots are kept: the keyring file (one node), or the shared database of
 * a cluster (src/store/postgres/keyring.ts). Either way the slots are stored exactly as sealed
 * (src/store/keyring-file.ts): whoever reads the storage sees no secret in the clear.
 */
import type { KdfParams, KeyringFile } from './keyring-file.js';

/** One change of the slot list, described both ways: the whole list after it, and the delta. */
export interface SlotChange {
  /** Every slot after the change, in keyring order. */
  readonly slots: readonly Buffer[];
  readonly added: readonly Buffer[];
  readonly removed: readonly Buffer[];
  /** [old, new]: a slot sealed again (its identity changed), keeping its place. */
  readonly replaced: ReadonlyArray<readonly [Buffer, Buffer]>;
}

export interface KeyringStorage {
  /** The keyring as stored now; a new one (random salt, `kdf`) is made if there is none. */
  load(kdf: KdfParams): Promise<KeyringFile>;
  /** The slots as stored now. */
  slots(): Promise<Buffer[]>;
  /** Makes a change durable; throws (and stores nothing of it) when it cannot. */
  save(change: SlotChange): Promise<void>;
  /**
   * Takes over another keyring (`tendril store migrate`): its salt, key-derivation parameters and
   * slots, which replace any already here (slots a copy made earlier still holds but the keyring
   * has since removed must not come back). Only for a storage that holds no slots yet, or holds
   * slots sealed under that same salt (an earlier copy of the same keyring).
   */
  adopt(keyring: KeyringFile): Promise<void>;
  /**
   * Calls `changed` whenever another node may have changed the slots (never for a keyring only
   * this process writes); the keyring then reads slots() again. Returns the stop.
   */
  watch(changed: () => void): Promise<() => Promise<void>>;
}
