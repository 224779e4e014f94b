/**
 * What sync needs of the Rhizome store, and nothing more. Writes never go through here: every
 * bundle a peer sends is imported through the Rhizome service's verifying import.
 */
import type { Readable } from 'node:stream';
import type { BundleKey, ListedBundle, RhizomeStore, StoredBundle } from '../../store/rhizome/types.js';
import type { KeyReader } from './reconcile/fingerprint-index.js';

export interface SyncStore {
  readonly uuid: Buffer;
  readonly keys: KeyReader;
  get(bid: Buffer): Promise<StoredBundle | undefined>;
  /** True when the bundle's payload is held (or it has none): it can be served. */
  servable(bundle: StoredBundle): Promise<boolean>;
  /** Payload bytes [start, end), or undefined if not held. */
  readPayload(hash: Buffer, start: number, end: number): Promise<Readable | undefined>;
  /** Every new bundle stored here (its id and version). */
  subscribe(listener: (bundle: BundleKey) => void): () => void;
}

export function syncStoreOf(store: RhizomeStore): SyncStore {
  return {
    uuid: store.uuid,
    keys: (from, before, limit) => store.keys(from, before, limit),
    get: (bid) => store.get(bid),
    servable: async (bundle) => bundle.filesize === 0n || (bundle.filehash !== undefined && (await store.payloadLength(bundle.filehash)) !== undefined),
    readPayload: (hash, start, end) => store.readPayload(hash, start, end),
    subscribe: (listener) => store.subscribe((bundle: ListedBundle) => listener({ bid: bundle.bid, version: bundle.version })),
  };
}
