/**
 * The store's queries for Rhizome Direct (types.ts: barsInRange, findByBidPrefix).
 *
 * A window of the walk asks for one size bin in BID order. Two plans answer it, and the cheaper
 * one depends on how many bundles the bin holds: through the (filesize, bid) index, reading the
 * bin's rows and sorting them, which suits a sparse bin (the large sizes, mostly empty); or
 * through the BID index in order, skipping rows of other sizes, which suits a bin holding most of
 * the store (the first, ≤ 1 KiB). A bounded count through the first index decides, so a query
 * never reads more than about SPARSE_ROWS rows to learn which.
 */
import type { Database, Statement } from 'better-sqlite3';
import { BUNDLE_COLUMNS, decodeUint64, rowToBundle, type ManifestRow } from './bundle-row.js';
import { sqlite } from './sqlite-errors.js';
import type { BarEntry, BarQuery, StoredBundle } from '../types.js';

/** Bins with at most this many rows in the BID range are read through the size index and sorted. */
const SPARSE_ROWS = 8192;
const INT64_MAX = (1n << 63n) - 1n;

interface BarRow {
  readonly bid: Buffer;
  readonly version: Buffer;
  readonly filesize: bigint;
}

interface Bounds {
  readonly low: bigint;
  readonly high: bigint;
  readonly bidLow: Buffer;
  readonly bidHigh: Buffer;
  readonly limit: number;
}

export class DirectQueries {
  readonly #count: Statement<[Bounds], { n: bigint }>;
  readonly #sparse: Statement<[Bounds], BarRow>;
  readonly #dense: Statement<[Bounds], BarRow>;
  readonly #byPrefix: Statement<[Buffer, Buffer], ManifestRow>;

  constructor(db: Database) {
    const where = 'filesize BETWEEN @low AND @high AND bid BETWEEN @bidLow AND @bidHigh';
    this.#count = db.prepare(
      `SELECT count(*) AS n FROM (SELECT 1 FROM manifests INDEXED BY manifests_filesize_bid WHERE ${where} LIMIT ${SPARSE_ROWS + 1})`,
    );
    this.#sparse = db.prepare(
      `SELECT bid, version, filesize FROM manifests INDEXED BY manifests_filesize_bid WHERE ${where} ORDER BY bid LIMIT @limit`,
    );
    // `+filesize` keeps the size index out of it: the plan walks the BID index in order.
    this.#dense = db.prepare(
      `SELECT bid, version, filesize FROM manifests WHERE +filesize BETWEEN @low AND @high AND bid BETWEEN @bidLow AND @bidHigh ORDER BY bid LIMIT @limit`,
    );
    this.#byPrefix = db.prepare(`SELECT ${BUNDLE_COLUMNS} FROM manifests WHERE bid BETWEEN ? AND ? ORDER BY id LIMIT 1`);
  }

  bars(query: BarQuery): BarEntry[] {
    // Sizes beyond int64 (a hostile range) cannot match a stored filesize (at most 2^53).
    const low = query.sizeLow < 0n ? 0n : query.sizeLow;
    const high = query.sizeHigh > INT64_MAX ? INT64_MAX : query.sizeHigh;
    if (low > high || query.limit <= 0 || Buffer.compare(query.bidLow, query.bidHigh) > 0) return [];
    const bounds: Bounds = { low, high, bidLow: query.bidLow, bidHigh: query.bidHigh, limit: query.limit };
    return sqlite(() => {
      const rows = this.#count.get(bounds)!.n > BigInt(SPARSE_ROWS) ? this.#dense.all(bounds) : this.#sparse.all(bounds);
      return rows.map((r) => ({ bid: r.bid, version: decodeUint64(r.version), filesize: r.filesize }));
    });
  }

  byPrefix(prefix: Buffer): StoredBundle | undefined {
    const low = Buffer.alloc(32);
    const high = Buffer.alloc(32, 0xff);
    prefix.copy(low, 0, 0, 32);
    prefix.copy(high, 0, 0, 32);
    const row = sqlite(() => this.#byPrefix.get(low, high));
    return row === undefined ? undefined : rowToBundle(row);
  }
}
