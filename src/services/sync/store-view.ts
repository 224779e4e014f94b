/**
 * What sync needs of the Rhizome store, asynchronous whatever the store is: the store interface is
 * becoming asynchronous, and sync is written for that from the start. Writes never go through
 * here: every bundle a peer sends is imported through the Rhizome service's verifying import.
 */
import type { Readable } from 'node:stream';
import type { RhizomeStore, StoredBundle } from '../../store/rhizome/types.js';
import type { KeyReader } from './reconcile/fingerprint-index.js';

export interface SyncStore {
  readonly uuid: Buffer;
  readonly keys: KeyReader;
  get(bid: Buffer): Promise<StoredBundle | undefined>;
  /** True when the bundle's payload is held (or it has none): it can be served. */
  servable(bundle: StoredBundle): Promise<boolean>;
  /** Payload bytes [start, end), or undefined if not held. */
  readPayload(hash: Buffer, start: number, end: number): Promise<Readable | undefined>;
  subscribe(listener: (bundle: StoredBundle) => void): () => void;
}

export function syncStoreOf(store: RhizomeStore): SyncStore {
  const attempt = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return {
    uuid: store.uuid,
    keys: (from, before, limit) => store.keys(from, before, limit),
    get: (bid) => attempt(() => store.get(bid)),
    servable: (bundle) => attempt(() => bundle.filesize === 0n || (bundle.filehash !== undefined && store.payloadLength(bundle.filehash) !== undefined)),
    readPayload: (hash, start, end) => attempt(() => store.readPayload(hash, start, end)),
    subscribe: (listener) => store.subscribe(listener),
  };
}
