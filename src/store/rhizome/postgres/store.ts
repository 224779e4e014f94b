/**
 * The RhizomeStore (../types.ts) in a PostgreSQL database that any number of nodes may share:
 * reads are plain queries on the pool, writes go through the group commit (commit-queue.ts),
 * payloads stream in and out in chunks (payload-writer.ts, payload-reader.ts), eviction follows
 * the SQLite store's rule (room.ts), blobs nobody needs are swept (sweeper.ts), and bundles other
 * nodes store reach this node's subscribers (remote-bundles.ts).
 *
 * Every failure to reach the database is DATABASE_UNAVAILABLE (503); the pool reconnects by
 * itself, so the node recovers when the database returns.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from '../../../log.js';
import type { Database } from '../../postgres/database.js';
import { pg, pgRetrying } from '../../postgres/errors.js';
import { BUNDLE_COLUMNS, checkBundle, encodeUint64, rowToBundle, type ManifestRow } from '../bundle-row.js';
import { resolveCommitPayload } from '../commit-payload.js';
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
import { CommitQueue } from './commit-queue.js';
import { barsInRange, findByBidPrefix } from './direct-queries.js';
import { listBundles, listColumns, listedByRowid, listKeys } from './listing.js';
import { openPayloadStream } from './payload-reader.js';
import { PostgresPayloadWriter } from './payload-writer.js';
import { RemoteBundles } from './remote-bundles.js';
import { makeRoom, usedBytes } from './room.js';
import { Sweeper } from './sweeper.js';

/** As the SQLite store's: how long a write waits for another writer's lock before 423. */
const DEFAULT_BUSY_TIMEOUT_MS = 1000;

export interface PostgresStoreOptions extends StoreOptions {
  readonly database: Database;
  readonly log: Logger;
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<RhizomeStore> {
  const db = options.database;
  const [row] = await pg(() => db.sql<Array<{ value: Buffer }>>`SELECT value FROM tendril_meta WHERE key = 'uuid'`);
  const store = new PostgresRhizomeStore(db, row!.value, options);
  await store.start();
  return store;
}

class PostgresRhizomeStore implements RhizomeStore {
  readonly uuid: Buffer;
  readonly #db: Database;
  readonly #options: PostgresStoreOptions;
  readonly #now: () => number;
  readonly #busyTimeoutMs: number;
  readonly #queue: CommitQueue;
  /** Undefined for a store opened read-only: it deletes nothing, not even others' leftovers. */
  readonly #sweeper: Sweeper | undefined;
  readonly #remote: RemoteBundles;
  readonly #listeners = new Set<(bundle: ListedBundle) => void>();
  readonly #writers = new WeakMap<FinishedPayload, PostgresPayloadWriter>();
  #closed = false;

  constructor(db: Database, uuid: Buffer, options: PostgresStoreOptions) {
    this.uuid = uuid;
    this.#db = db;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#busyTimeoutMs = Math.max(1, Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
    const nodeId = randomBytes(8).toString('hex');
    this.#sweeper = options.readOnly === true ? undefined : new Sweeper(db, options.log);
    this.#remote = new RemoteBundles(db, nodeId, options.log, (bundles) => this.#notify(bundles));
    this.#queue = new CommitQueue({
      db,
      nodeId,
      now: this.#now,
      busyTimeoutMs: this.#busyTimeoutMs,
      committed: (bundles, doomed) => {
        this.#remote.own(bundles);
        if (doomed) this.#sweeper?.soon();
      },
    });
  }

  async start(): Promise<void> {
    await pg(() => this.#remote.start());
    this.#sweeper?.soon();
  }

  async get(bid: Buffer): Promise<StoredBundle | undefined> {
    const [row] = await this.#query(() => this.#db.sql.unsafe<ManifestRow[]>(`SELECT ${BUNDLE_COLUMNS} FROM rhizome_manifests WHERE bid = $1`, [bid], { prepare: true }));
    return row === undefined ? undefined : rowToBundle(row);
  }

  list(filter: BundleFilter, options: ListOptions): AsyncIterable<readonly StoredBundle[]> {
    return listBundles(this.#db, filter, options);
  }

  listColumns(filter: BundleFilter, options: ListOptions): AsyncIterable<readonly ListedBundle[]> {
    return listColumns(this.#db, filter, options);
  }

  listKeys(filter: BundleFilter, options: ListOptions): AsyncIterable<ListedKeys> {
    return listKeys(this.#db, filter, options);
  }

  listedByRowid(rowids: readonly number[]): Promise<readonly ListedBundle[]> {
    return this.#query(() => listedByRowid(this.#db, rowids));
  }

  barsInRange(query: BarQuery): Promise<readonly BarEntry[]> {
    return this.#query(() => barsInRange(this.#db, query));
  }

  findByBidPrefix(prefix: Buffer): Promise<StoredBundle | undefined> {
    return this.#query(() => findByBidPrefix(this.#db, prefix));
  }

  async keys(from: Buffer, before: Buffer | undefined, limit: number): Promise<BundleKey[]> {
    // bytea compares as bytes (then by length), as the ids sort for sync; the bid index serves it.
    const rows = await this.#query(() =>
      before === undefined
        ? this.#db.sql<Array<{ bid: Buffer; version: Buffer }>>`SELECT bid, version FROM rhizome_manifests WHERE bid >= ${from} ORDER BY bid LIMIT ${limit}`
        : this.#db.sql<Array<{ bid: Buffer; version: Buffer }>>`SELECT bid, version FROM rhizome_manifests WHERE bid >= ${from} AND bid < ${before} ORDER BY bid LIMIT ${limit}`,
    );
    return rows.map((r) => ({ bid: r.bid, version: r.version.readBigUInt64BE(0) }));
  }

  async lastRowid(): Promise<number> {
    const [row] = await this.#query(() => this.#db.sql<Array<{ id: bigint | null }>>`SELECT max(id) AS id FROM rhizome_manifests`);
    return Number(row?.id ?? 0n);
  }

  async bundleCount(): Promise<number> {
    const [row] = await this.#query(() => this.#db.sql<Array<{ n: bigint }>>`SELECT bundles AS n FROM rhizome_usage`);
    return Number(row?.n ?? 0n);
  }

  async payloadLength(hash: Buffer): Promise<number | undefined> {
    const [row] = await this.#query(() => this.#db.sql<Array<{ length: bigint }>>`SELECT length FROM rhizome_payloads WHERE hash = ${hash}`);
    return row === undefined ? undefined : Number(row.length);
  }

  readPayload(hash: Buffer, start?: number, end?: number): Promise<Readable | undefined> {
    return this.#query(() => openPayloadStream(this.#db, hash, start, end));
  }

  createPayloadWriter(): PayloadWriter {
    return new PostgresPayloadWriter(this.#db, this.#options.maxBlobSize, (payload, writer) => this.#writers.set(payload, writer));
  }

  async makeRoom(length: number): Promise<RoomOutcome> {
    if (!(length >= 0)) throw new RangeError(`makeRoom: invalid length ${length}`);
    const size = this.#options.databaseSize;
    if (size === undefined) return 'ok';
    const { outcome, doomed } = await this.#query(() =>
      makeRoom(this.#db, { n: length, limit: Number(size), now: this.#now(), pinned: this.#queue.pinned(), busyTimeoutMs: this.#busyTimeoutMs }),
    );
    if (doomed) this.#sweeper?.soon();
    return outcome;
  }

  limited(): boolean {
    return this.#options.databaseSize !== undefined;
  }

  async commit(bundle: NewBundle, payload: CommitPayload): Promise<CommitOutcome> {
    if (this.#closed) throw new Error('Rhizome store closed');
    if (this.#options.readOnly === true) throw new Error('Rhizome store opened read-only');
    checkBundle(bundle);
    // Whether a payload named by its hash is held is a query: asked first, checked as SQLite does.
    const lookup = 'kind' in payload ? (payload.kind === 'stored' ? payload.hash : undefined) : this.#writers.get(payload)?.handoff() ? undefined : payload.hash;
    const held = lookup === undefined ? undefined : await this.payloadLength(lookup);
    return this.#queue.enqueue(bundle, resolveCommitPayload(bundle, payload, this.#writers, () => held));
  }

  async setAuthor(bid: Buffer, version: bigint, author: Buffer): Promise<void> {
    await this.#query(
      () => this.#db.sql`
        UPDATE rhizome_manifests SET author = ${author}
        WHERE bid = ${bid} AND version = ${encodeUint64(version)} AND author IS DISTINCT FROM ${author}`,
    );
  }

  subscribe(listener: (bundle: ListedBundle) => void): () => void {
    const entry = (bundle: ListedBundle): void => listener(bundle);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  usedBytes(): Promise<number> {
    return usedBytes(this.#db);
  }

  async facts(): Promise<StoreFacts> {
    let databaseBytes: number | undefined;
    try {
      const [row] = await this.#db.sql<Array<{ size: bigint }>>`SELECT pg_database_size(current_database()) AS size`;
      databaseBytes = Number(row!.size);
      this.#db.observe(undefined);
    } catch (err) {
      this.#db.observe(err);
    }
    return { backend: 'postgres', location: this.#db.target, connected: this.#db.connected(), databaseBytes };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.close();
    await this.#sweeper?.close();
    await this.#remote.stop();
  }

  /** Runs a statement, recording whether the database answered, failures translated. */
  /** A statement that may run again (every one but a commit's): retried if its connection died. */
  async #query<T>(run: () => Promise<T>): Promise<T> {
    try {
      const result = await pgRetrying(run);
      this.#db.observe(undefined);
      return result;
    } catch (err) {
      this.#db.observe((err as Error).cause ?? err);
      throw err;
    }
  }

  #notify(bundles: readonly ListedBundle[]): void {
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
}
