/**
 * The store's queries for Rhizome Direct (../types.ts: barsInRange, findByBidPrefix) in
 * PostgreSQL. A window of the walk asks for one size bin in BID order; the planner chooses between
 * the (filesize, bid) index (a sparse bin, read and sorted) and the BID index in order (a bin
 * holding most of the store) from its statistics, the choice the SQLite store makes by counting.
 */
import type { Database } from '../../postgres/database.js';
import { pg } from '../../postgres/errors.js';
import { BUNDLE_COLUMNS, decodeUint64, rowToBundle, type ManifestRow } from '../bundle-row.js';
import type { BarEntry, BarQuery, StoredBundle } from '../types.js';

const INT64_MAX = (1n << 63n) - 1n;

export async function barsInRange(db: Database, query: BarQuery): Promise<readonly BarEntry[]> {
  // Sizes beyond int64 (a hostile range) cannot match a stored filesize (at most 2^53).
  const low = query.sizeLow < 0n ? 0n : query.sizeLow;
  const high = query.sizeHigh > INT64_MAX ? INT64_MAX : query.sizeHigh;
  if (low > high || query.limit <= 0 || Buffer.compare(query.bidLow, query.bidHigh) > 0) return [];
  const rows = await pg(() =>
    db.sql.unsafe<Array<{ bid: Buffer; version: Buffer; filesize: bigint }>>(
      'SELECT bid, version, filesize FROM rhizome_manifests WHERE filesize BETWEEN $1::bigint AND $2::bigint AND bid BETWEEN $3 AND $4 ORDER BY bid LIMIT $5',
      [low.toString(), high.toString(), query.bidLow, query.bidHigh, Math.trunc(query.limit)],
      { prepare: true },
    ),
  );
  return rows.map((r) => ({ bid: r.bid, version: decodeUint64(r.version), filesize: BigInt(r.filesize) }));
}

/** The bundle whose BID starts with `prefix`, the one stored first if several do. */
export async function findByBidPrefix(db: Database, prefix: Buffer): Promise<StoredBundle | undefined> {
  const low = Buffer.alloc(32);
  const high = Buffer.alloc(32, 0xff);
  prefix.copy(low, 0, 0, 32);
  prefix.copy(high, 0, 0, 32);
  const [row] = await pg(() =>
    db.sql.unsafe<ManifestRow[]>(`SELECT ${BUNDLE_COLUMNS} FROM rhizome_manifests WHERE bid BETWEEN $1 AND $2 ORDER BY id LIMIT 1`, [low, high], { prepare: true }),
  );
  return row === undefined ? undefined : rowToBundle(row);
}
