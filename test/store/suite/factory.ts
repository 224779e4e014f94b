/**
 * What the shared Rhizome store suite needs from a backend: fresh, empty store locations, and a
 * few ways to look at (or damage) what the backend holds behind the store's back. Each backend's
 * test file passes its factory to rhizomeStoreSuite() (index.ts); everything the suite asserts
 * goes through the RhizomeStore contract, so every backend is held to the same behaviour.
 */
import type { RhizomeStore, StoreOptions } from '../../../src/store/rhizome/types.js';

export interface StoreLocation {
  /** Opens the store at this location (again, after a close, to test what persists). */
  open(overrides?: Partial<StoreOptions>): Promise<RhizomeStore>;
  /**
   * The payloads the backend physically holds, as lowercase hex hashes, one entry per copy: a
   * payload held twice, or bytes nobody names any more, show up here.
   */
  heldPayloads(): Promise<string[]>;
  /** Flips the bits of one byte of a stored payload, behind the store's back. */
  damagePayload(hash: Buffer, offset: number): Promise<void>;
  /** Deletes a stored payload behind the store's back. */
  dropPayload(hash: Buffer): Promise<void>;
  /** Removes the location and everything in it. */
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  /** Names the suite's describe blocks: `Rhizome store (sqlite): …`. */
  readonly backend: string;
  /**
   * True when min_free_space applies: the store measures the free space of a local disk (the
   * SQLite store's directory). A database on a server has no such disk.
   */
  readonly localDisk: boolean;
  /** A new, empty location; `options` are the defaults every open() there starts from. */
  location(options?: Partial<StoreOptions>): Promise<StoreLocation>;
}

/** Opens a fresh location and its store in one step; close() closes the store and cleans up. */
export async function freshStore(
  factory: StoreFactory,
  options: Partial<StoreOptions> = {},
): Promise<{ store: RhizomeStore; location: StoreLocation; close: () => Promise<void> }> {
  const location = await factory.location(options);
  const store = await location.open();
  return {
    store,
    location,
    close: async () => {
      await store.close();
      await location.cleanup();
    },
  };
}
