/**
 * The Rhizome store contract: signed manifests and their payloads, durable and crash-safe.
 *
 * The store knows nothing of HTTP, keyrings or signatures: it keeps what the Rhizome service
 * (src/services/rhizome) hands it, enforces the size limits of spec §7.10, and tells subscribers
 * when a bundle is added. Invariants:
 *
 *   - a manifest is visible only once its payload is durable (fsync'd file or committed row);
 *   - a crash at any moment leaves no half bundle and loses no bundle whose commit resolved;
 *   - row ids only grow and are never reused, so newsince tokens stay ordered;
 *   - for one bundle id only the highest version is kept, decided inside the commit transaction,
 *     so concurrent commits of several versions always end with the highest stored.
 */
import type { Readable } from 'node:stream';

/** A stored bundle: its signed manifest bytes and the columns the store indexes. */
export interface StoredBundle {
  /** `_id` in lists: strictly increasing, never reused. */
  readonly rowid: number;
  /** Local clock at insertion, in milliseconds. */
  readonly inserttime: number;
  readonly bid: Buffer;
  readonly version: bigint;
  readonly filesize: bigint;
  /** SHA-512 of the stored payload; undefined when filesize is 0. */
  readonly filehash: Buffer | undefined;
  /** Present for journals. */
  readonly tail: bigint | undefined;
  readonly service: string | undefined;
  readonly name: string | undefined;
  readonly sender: Buffer | undefined;
  readonly recipient: Buffer | undefined;
  readonly date: bigint | undefined;
  /** A verified author SID, once one has been recorded (spec §7.7). */
  readonly author: Buffer | undefined;
  /** The signed manifest exactly as stored: text ‖ NUL ‖ signature blocks. */
  readonly manifest: Buffer;
}

/** A bundle's id and version: what set reconciliation between nodes compares (src/services/sync). */
export interface BundleKey {
  readonly bid: Buffer;
  readonly version: bigint;
}

/** A bundle as listings return it: everything but the signed manifest bytes. */
export type ListedBundle = Omit<StoredBundle, 'manifest'>;

/**
 * A batch of a listing's row ids, in its order, and the one column of a row that can change in
 * place (a verified author is recorded once proven: setAuthor): what a cache of rendered rows must
 * check on every listing.
 */
export interface ListedKeys {
  readonly rowids: readonly number[];
  /** The recorded authors of those rows that have one, by row id. */
  readonly authors: ReadonlyMap<number, Buffer>;
}

/** What the service asks the store to keep: the signed bytes plus their parsed columns. */
export type NewBundle = Omit<StoredBundle, 'rowid' | 'inserttime'>;

export interface BundleFilter {
  /** service = value (exact). */
  readonly service?: string;
  /** name LIKE value (SQL LIKE: case-insensitive ASCII, `%` and `_` wildcards). */
  readonly name?: string;
  readonly sender?: Buffer;
  readonly recipient?: Buffer;
  /** filehash = value (indexed): finds the bundles that share a payload. */
  readonly filehash?: Buffer;
}

/** A bundle as Rhizome Direct's walk sees it (src/services/direct/cursor.ts): enough for its BAR. */
export interface BarEntry {
  readonly bid: Buffer;
  readonly version: bigint;
  readonly filesize: bigint;
}

/** One window of Rhizome Direct's walk: a size bin (bounds included) and a BID range (included). */
export interface BarQuery {
  readonly sizeLow: bigint;
  readonly sizeHigh: bigint;
  readonly bidLow: Buffer;
  readonly bidHigh: Buffer;
  /** At most this many bundles (a window holds at most 4,095). */
  readonly limit: number;
}

export interface ListOptions {
  readonly order: 'asc' | 'desc';
  /** Only rows with rowid greater than this. */
  readonly afterRowid?: number;
}

/**
 * A payload that has been written and made durable, not yet referenced by any manifest. Only the
 * object returned by finish() of this store's writer carries the bytes: the store links it back
 * to its writer (a look-alike object is accepted only if the store already holds that hash).
 */
export interface FinishedPayload {
  readonly hash: Buffer;
  readonly length: number;
}

/**
 * Payload bytes on their way into the store. They are hashed (SHA-512) as they arrive and kept in
 * memory only up to `rhizome.max_blob_size`; beyond that they go to a temporary file. Nothing is
 * visible until a commit references the finished payload.
 */
export interface PayloadWriter {
  /**
   * Accepts the next bytes; resolves when they may be reused (backpressure). Rejects with a Node
   * error whose code is 'ENOSPC' when the disk is full (then abort()); nothing stored is affected.
   */
  write(chunk: Buffer): Promise<void>;
  /** Bytes written so far. */
  readonly length: number;
  /** Makes the payload durable (fsync) and returns its hash and length. */
  finish(): Promise<FinishedPayload>;
  /** Discards everything written. Safe to call at any time, also after finish(). */
  abort(): Promise<void>;
}

export type RoomOutcome =
  /** There is room (possibly after evicting other payloads). */
  | 'ok'
  /** Larger than the store can ever hold: payload status TOO_BIG (6). */
  | 'too-big'
  /** Room could not be made without evicting more valuable payloads: status EVICTED (7). */
  | 'evicted';

export type CommitOutcome =
  /**
   * Stored with a new, higher row id (bundle status NEW). `payloadAdded`: this commit added the
   * payload to the store (payload status NEW); false when it was held already (STORED) or empty.
   */
  | { readonly kind: 'new'; readonly bundle: StoredBundle; readonly payloadAdded: boolean }
  /** The same version was already stored; nothing changed (status SAME). */
  | { readonly kind: 'same'; readonly bundle: StoredBundle }
  /** A newer version is stored; nothing changed (status OLD). `bundle` is the stored one. */
  | { readonly kind: 'old'; readonly bundle: StoredBundle };

/**
 * How the payload of a committed bundle is provided: a payload just written, or one the store
 * already holds (same hash), or none (filesize 0).
 */
export type CommitPayload = FinishedPayload | { readonly kind: 'stored'; readonly hash: Buffer } | { readonly kind: 'empty' };

/** What /restful/system reports about the store, whatever its backend. */
export interface StoreFacts {
  readonly backend: 'sqlite' | 'postgres';
  /** Where the store lives: a directory (sqlite) or `host:port/database` (postgres; never a password). */
  readonly location: string;
  /** False while the database cannot be reached (requests then answer 503 until it returns). */
  readonly connected: boolean;
  /** Bytes the database itself occupies (file pages, or pg_database_size), when known. */
  readonly databaseBytes: number | undefined;
}

/**
 * The Rhizome store. Everything that may need a database round trip is asynchronous (a remote
 * database answers over a socket); listings are async iterables of BATCHES of rows, so a backend
 * that reads synchronously pays one await per batch, not per row. Batches are never empty.
 */
export interface RhizomeStore {
  /** 16 random bytes made when the store was created; embedded in newsince tokens. */
  readonly uuid: Buffer;

  /** The stored bundle with this id, or undefined. */
  get(bid: Buffer): Promise<StoredBundle | undefined>;
  /**
   * Bundles matching `filter` in row id order, in batches. Read batch by batch so writes may
   * interleave with a long listing; a bundle replaced meanwhile may appear once or not at all
   * (and, in ascending order, again later with its new version and row id). A consumer that stops
   * early (break, return) releases whatever the listing held.
   */
  list(filter: BundleFilter, options: ListOptions): AsyncIterable<readonly StoredBundle[]>;
  /** As list(), without the signed manifests: what bundle lists show, read more cheaply. */
  listColumns(filter: BundleFilter, options: ListOptions): AsyncIterable<readonly ListedBundle[]>;
  /**
   * As listColumns(), only each row's id and recorded author, read far more cheaply: every other
   * column of a row is fixed for its row id, so a cache of rows by row id needs no more.
   */
  listKeys(filter: BundleFilter, options: ListOptions): AsyncIterable<ListedKeys>;
  /** The listed columns of those of these rows that are still stored, in any order. */
  listedByRowid(rowids: readonly number[]): Promise<readonly ListedBundle[]>;
  /**
   * Ids and versions of the stored bundles with `from` ≤ bid < `before` (no upper bound when
   * undefined), in bid order, at most `limit` of them. Every stored manifest counts, also one
   * whose payload was evicted: that bundle is held, it is only not servable. Sync reads the
   * store's set range by range with this, resuming a long range after the last id it got.
   */
  keys(from: Buffer, before: Buffer | undefined, limit: number): Promise<BundleKey[]>;
  /** The highest row id in use (0 for an empty store). */
  lastRowid(): Promise<number>;
  /**
   * Rhizome Direct's walk (rhizome_direct_get_bars): the bundles whose filesize and BID lie in
   * the query's ranges, in BID order, at most `limit` of them. BID order is the reference's BAR
   * order (a BAR starts with 15 bytes of the BID).
   */
  barsInRange(query: BarQuery): Promise<readonly BarEntry[]>;
  /**
   * The bundle whose BID starts with `prefix` (1 to 32 bytes), for Rhizome Direct's
   * manifestbyprefix; the one stored first (lowest row id) if several do.
   */
  findByBidPrefix(prefix: Buffer): Promise<StoredBundle | undefined>;
  /** How many bundles the store holds. */
  bundleCount(): Promise<number>;

  /** Length of a stored payload, or undefined if the store does not hold it (evicted, lost). */
  payloadLength(hash: Buffer): Promise<number | undefined>;
  /**
   * Stored payload bytes [start, end), opened before this resolves: once it has, an eviction or
   * a replacement meanwhile cannot cut the stream short. Reading the whole payload also verifies
   * its hash and fails the stream (destroying it) on a mismatch. Undefined if the payload is not
   * held. A stream nobody reads must be destroyed, to release what it holds.
   */
  readPayload(hash: Buffer, start?: number, end?: number): Promise<Readable | undefined>;

  /** A writer for a new payload. */
  createPayloadWriter(): PayloadWriter;
  /**
   * Makes room for `length` more bytes by the ranking rule of spec §7.10, evicting payloads if it
   * must. Call before writing when the size is known, and again before committing. makeRoom(0)
   * only trims the store back under its limit. Rejects with RHIZOME_BUSY (423).
   */
  makeRoom(length: number): Promise<RoomOutcome>;
  /**
   * False when makeRoom() cannot refuse anything at the moment (no database_size, and free space
   * above min_free_space as last measured): a caller may then skip work done only to call it.
   */
  limited(): boolean;

  /**
   * Stores a bundle atomically, comparing versions inside the transaction: the payload (if new)
   * and the manifest go in together, the replaced version goes, and a payload no longer referenced
   * by any manifest is removed. Resolves once durable. Rejects with RHIZOME_BUSY (423) when the
   * store is locked or unreachable (the finished payload is kept: the commit may be retried), with
   * a Node-style error whose code is 'ENOSPC' when the disk is full, and with a RangeError when
   * `payload` does not match the bundle's filehash and filesize (a caller bug). A `stored` payload
   * must be held when commit() is called; it is then protected from eviction until the commit is
   * done.
   */
  commit(bundle: NewBundle, payload: CommitPayload): Promise<CommitOutcome>;
  /**
   * Records a verified author for a stored bundle (no-op if it has since been replaced, or if that
   * author is already recorded). Rejects with RHIZOME_BUSY (423) when locked.
   */
  setAuthor(bid: Buffer, version: bigint, author: Buffer): Promise<void>;

  /**
   * Calls `listener` after every commit that stored a new bundle: by this store object, or by
   * another process sharing the same database (a backend that allows that). Returns the
   * unsubscribe. Listeners get the listed columns (no manifest); a listener's exception is its own.
   */
  subscribe(listener: (bundle: ListedBundle) => void): () => void;

  /** Bytes in use by the store (database pages in use plus external payload files). */
  usedBytes(): Promise<number>;
  /** Backend, location and health, for /restful/system. */
  facts(): Promise<StoreFacts>;
  /** Waits for pending commits, then closes. */
  close(): Promise<void>;
}

/** Options the node passes when it opens the store (from config, spec §1.1 and §7.10). */
export interface StoreOptions {
  /** Directory holding the database, payload files and temporary files. */
  readonly dir: string;
  /** rhizome.database_size; undefined = unlimited. */
  readonly databaseSize: bigint | undefined;
  /** rhizome.min_free_space. */
  readonly minFreeSpace: bigint;
  /** rhizome.max_blob_size: larger payloads are files, smaller ones database rows. */
  readonly maxBlobSize: number;
  /** Overrides the measured free disk space (bytes), for tests: TENDRIL_FREE_SPACE. */
  readonly freeSpaceOverride?: number;
  /** How long to wait for another process's lock before RHIZOME_BUSY (ms). */
  readonly busyTimeoutMs?: number;
  /** The clock, for tests. */
  readonly now?: () => number;
}
