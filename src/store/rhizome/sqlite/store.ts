/**
 * The RhizomeStore (types.ts) over one better-sqlite3 connection: reads answer directly, writes
 * of bundles go through the group-commit queue, and everything that is not a plain lookup lives
 * in a file named for its job (commit-queue, room, listing, payload-writer, payload-reader).
 *
 * The connection runs with safe integers (every INTEGER is a bigint) so no 64-bit value is ever
 * rounded; numbers the contract types as `number` are converted here, where they are known to be
 * small. What the service hands to commit() is checked synchronously, before it can join a group.
 */
/* eslint-disable @typescript-eslint/require-await -- reads answer synchronously from this thread's
   connection: `async` wraps the answer, and turns a thrown error into a rejection, as the contract asks */
import type { Readable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import { checkBundle, encodeUint64, rowToBundle } from '../bundle-row.js';
import { resolveCommitPayload } from '../commit-payload.js';
import { DirectQueries } from './direct-queries.js';
import { CommitQueue } from './commit-queue.js';
import type { StoreLayout } from './layout.js';
import { Lister } from './listing.js';
import { openPayloadStream } from './payload-reader.js';
import { StorePayloadWriter } from './payload-writer.js';
import { incrementalVacuum, limited, makeRoom, RoomState, usedBytes, type RoomContext } from './room.js';
import { sqlite } from './sqlite-errors.js';
import { prepareStatements, type Statements } from './statements.js';
import type {
  BarEntry,
  BarQuery,
  BundleFilter,
  BundleKey,
  CommitOutcome,
  CommitPayload,
  FinishedPayload,
  ListedBundle,
  ListedKeys,
  ListOptions,
  NewBundle,
  PayloadWriter,
  RhizomeStore,
  RoomOutcome,
  StoredBundle,
  StoreFacts,
  StoreOptions,
} from '../types.js';

/** Sorts after every 32-byte id (BLOBs compare by bytes, then by length). */
const AFTER_EVERY_BID = Buffer.alloc(33, 0xff);

/** `afterClose`: runs once the database is closed (a read-only store tidies up after itself). */
export function createStore(db: Database, layout: StoreLayout, uuid: Buffer, options: StoreOptions, afterClose?: () => void): RhizomeStore {
  return new SqliteRhizomeStore(db, layout, uuid, options, afterClose);
}

class SqliteRhizomeStore implements RhizomeStore {
  readonly uuid: Buffer;
  readonly #db: Database;
  readonly #layout: StoreLayout;
  readonly #options: StoreOptions;
  readonly #statements: Statements;
  readonly #lister: Lister;
  readonly #direct: DirectQueries;
  /** Undefined for a store opened read-only (no writer thread at all). */
  readonly #queue: CommitQueue | undefined;
  readonly #room: RoomContext;
  readonly #roomState = new RoomState();
  readonly #listeners = new Set<(bundle: ListedBundle) => void>();
  /** Finished payloads, linked back to the writer that holds their bytes. */
  readonly #writers = new WeakMap<FinishedPayload, StorePayloadWriter>();
  #tempBytes = 0;
  #vacuum: NodeJS.Immediate | undefined;
  #closed = false;

  readonly #afterClose: (() => void) | undefined;

  constructor(db: Database, layout: StoreLayout, uuid: Buffer, options: StoreOptions, afterClose?: () => void) {
    this.uuid = uuid;
    this.#afterClose = afterClose;
    this.#db = db;
    this.#layout = layout;
    this.#options = options;
    this.#statements = prepareStatements(db);
    this.#lister = new Lister(db);
    this.#direct = new DirectQueries(db);
    const now = options.now ?? Date.now;
    this.#queue = options.readOnly === true ? undefined : new CommitQueue({
      layout,
      busyTimeoutMs: options.busyTimeoutMs,
      now,
      committed: (payloadsDeleted) => {
        this.#roomState.changed();
        this.#lister.changed(); // rows added or replaced: before the commits' promises settle
        if (payloadsDeleted) this.#scheduleVacuum();
      },
      notify: (bundles) => this.#notify(bundles),
    });
    this.#room = {
      db,
      statements: this.#statements,
      layout,
      options,
      now,
      tempBytes: () => this.#tempBytes,
      pinned: () => this.#queue?.pinned() ?? new Set<string>(),
    };
  }

  async get(bid: Buffer): Promise<StoredBundle | undefined> {
    const row = sqlite(() => this.#statements.bundleByBid.get(bid));
    return row === undefined ? undefined : rowToBundle(row);
  }

  list(filter: BundleFilter, options: ListOptions): AsyncIterable<readonly StoredBundle[]> {
    return this.#lister.list(filter, options);
  }

  listColumns(filter: BundleFilter, options: ListOptions): AsyncIterable<readonly ListedBundle[]> {
    return this.#lister.listColumns(filter, options);
  }

  listKeys(filter: BundleFilter, options: ListOptions): AsyncIterable<ListedKeys> {
    return this.#lister.listKeys(filter, options);
  }

  async listedByRowid(rowids: readonly number[]): Promise<readonly ListedBundle[]> {
    return this.#lister.listedByRowid(rowids);
  }

  async keys(from: Buffer, before: Buffer | undefined, limit: number): Promise<BundleKey[]> {
    const rows = sqlite(() => this.#statements.keys.all(from, before ?? AFTER_EVERY_BID, limit));
    return rows.map((r) => ({ bid: r.bid, version: r.version.readBigUInt64BE(0) }));
  }

  async bundleCount(): Promise<number> {
    return Number(sqlite(() => this.#statements.bundleCount.get())?.n ?? 0);
  }

  async lastRowid(): Promise<number> {
    return Number(sqlite(() => this.#statements.lastRowid.get())?.id ?? 0);
  }

  async barsInRange(query: BarQuery): Promise<readonly BarEntry[]> {
    return this.#direct.bars(query);
  }

  async findByBidPrefix(prefix: Buffer): Promise<StoredBundle | undefined> {
    return this.#direct.byPrefix(prefix);
  }

  async payloadLength(hash: Buffer): Promise<number | undefined> {
    return this.#heldLength(hash);
  }

  async readPayload(hash: Buffer, start?: number, end?: number): Promise<Readable | undefined> {
    return openPayloadStream(this.#statements, this.#layout, hash, start, end);
  }

  createPayloadWriter(): PayloadWriter {
    return new StorePayloadWriter(this.#layout.tmpDir, this.#options.maxBlobSize, {
      finished: (payload, writer) => this.#writers.set(payload, writer),
      tempBytes: (delta) => {
        this.#tempBytes += delta;
      },
      hashes: () => {
        if (this.#queue === undefined) throw new Error('Rhizome store opened read-only');
        return this.#queue.hashes();
      },
    });
  }

  async makeRoom(length: number): Promise<RoomOutcome> {
    return makeRoom(this.#room, this.#roomState, length, () => this.#scheduleVacuum());
  }

  limited(): boolean {
    return limited(this.#room, this.#roomState);
  }

  commit(bundle: NewBundle, payload: CommitPayload): Promise<CommitOutcome> {
    try {
      if (this.#closed) throw new Error('Rhizome store closed');
      if (this.#queue === undefined) throw new Error('Rhizome store opened read-only');
      checkBundle(bundle);
      return this.#queue.enqueue(bundle, resolveCommitPayload(bundle, payload, this.#writers, (hash) => this.#heldLength(hash)));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async setAuthor(bid: Buffer, version: bigint, author: Buffer): Promise<void> {
    const v = encodeUint64(version);
    sqlite(() => {
      // Read first: an unchanged author costs no write transaction (and no fsync).
      const row = this.#statements.authorOf.get(bid, v);
      if (row === undefined || row.author?.equals(author) === true) return;
      this.#statements.setAuthor.run(author, bid, v);
      this.#roomState.changed();
      this.#lister.changed();
    });
  }

  subscribe(listener: (bundle: ListedBundle) => void): () => void {
    const entry = (bundle: ListedBundle): void => listener(bundle);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  async usedBytes(): Promise<number> {
    return usedBytes(this.#room, this.#roomState);
  }

  async facts(): Promise<StoreFacts> {
    const pages = sqlite(() => this.#statements.pages.get());
    return {
      backend: 'sqlite',
      location: this.#layout.dir,
      connected: !this.#closed,
      databaseBytes: pages === undefined ? undefined : Number(pages.pageSize * pages.pageCount),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue?.close();
    if (this.#vacuum !== undefined) clearImmediate(this.#vacuum);
    this.#db.close();
    this.#afterClose?.();
  }

  #heldLength(hash: Buffer): number | undefined {
    const row = sqlite(() => this.#statements.payload.get(hash));
    return row === undefined ? undefined : Number(row.length);
  }

  #notify(bundles: readonly StoredBundle[]): void {
    for (const bundle of bundles) {
      for (const listener of [...this.#listeners]) {
        try {
          listener(bundle);
        } catch {
          // A listener's failure is its own; the bundle is stored and the others must still hear.
        }
      }
    }
  }

  /** Incremental vacuum on a later turn: never on the request that freed the pages. */
  #scheduleVacuum(): void {
    if (this.#vacuum !== undefined || this.#closed) return;
    this.#vacuum = setImmediate(() => {
      this.#vacuum = undefined;
      try {
        incrementalVacuum(this.#room);
      } catch {
        // Busy or failing: only space is at stake, and the next eviction tries again.
      }
    });
    this.#vacuum.unref();
  }
}
