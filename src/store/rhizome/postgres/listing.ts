/**
 * Bundle listings from PostgreSQL (spec §3.3, §3.4), in keyset-paged batches of 256 rows: each
 * batch is one query (`id > cursor` ascending, `id < cursor` descending), nothing stays open
 * between batches, and commits on any node run freely while a listing is being consumed.
 *
 * `name` matches as SQLite's LIKE does, which the reference uses: `%` and `_` wildcards, no escape
 * character (ESCAPE ''), case-insensitive for ASCII letters only (ILIKE under the "C" collation).
 */
import type { Database } from '../../postgres/database.js';
import { pg, pgRetrying } from '../../postgres/errors.js';
import { BUNDLE_COLUMNS, LISTED_COLUMNS, rowToBundle, rowToListed, type ListedRow, type ManifestRow } from '../bundle-row.js';
import type { BundleFilter, ListedBundle, ListedKeys, ListOptions, StoredBundle } from '../types.js';

const BATCH = 256;
/** Keys are small: larger batches, fewer round trips. */
const KEY_BATCH = 1024;
const INT64_MAX = ((1n << 63n) - 1n).toString();

export function listBundles(db: Database, filter: BundleFilter, options: ListOptions): AsyncGenerator<readonly StoredBundle[]> {
  return batches(db, filter, options, BUNDLE_COLUMNS, (row) => rowToBundle(row as ManifestRow));
}

export function listColumns(db: Database, filter: BundleFilter, options: ListOptions): AsyncGenerator<readonly ListedBundle[]> {
  return batches(db, filter, options, LISTED_COLUMNS, rowToListed);
}

/** Row ids, and the recorded authors of the rows that have one: nothing else is read. */
export async function* listKeys(db: Database, filter: BundleFilter, options: ListOptions): AsyncGenerator<ListedKeys> {
  for await (const rows of batches(db, filter, options, 'id, author', (row) => row, KEY_BATCH)) {
    const authors = new Map<number, Buffer>();
    for (const row of rows) if (row.author !== null) authors.set(Number(row.id), row.author);
    yield { rowids: rows.map((row) => Number(row.id)), authors };
  }
}

/** The listed columns of those of `rowids` still stored (one query, any order). */
export async function listedByRowid(db: Database, rowids: readonly number[]): Promise<readonly ListedBundle[]> {
  if (rowids.length === 0) return [];
  const ids = `{${rowids.map((id) => Math.trunc(id)).join(',')}}`;
  const rows = await pg(() => db.sql.unsafe<ListedRow[]>(`SELECT ${LISTED_COLUMNS} FROM rhizome_manifests WHERE id = ANY($1::bigint[])`, [ids], { prepare: true }));
  return rows.map(rowToListed);
}

async function* batches<T>(
  db: Database,
  filter: BundleFilter,
  options: ListOptions,
  columns: string,
  convert: (row: ListedRow) => T,
  size = BATCH,
): AsyncGenerator<readonly T[]> {
  const params: Array<string | Buffer> = [];
  const where: string[] = [];
  const param = (value: string | Buffer): string => {
    params.push(value);
    return `$${params.length}`;
  };
  // The cursor is always $1.
  param(options.order === 'asc' ? String(options.afterRowid ?? 0) : INT64_MAX);
  where.push(options.order === 'asc' ? 'id > $1::bigint' : 'id < $1::bigint');
  if (options.order === 'desc') where.push(`id > ${param(String(options.afterRowid ?? 0))}::bigint`);
  if (filter.service !== undefined) where.push(`service = ${param(filter.service)}`);
  if (filter.name !== undefined) where.push(`name COLLATE "C" ILIKE ${param(filter.name)} ESCAPE ''`);
  if (filter.sender !== undefined) where.push(`sender = ${param(filter.sender)}`);
  if (filter.recipient !== undefined) where.push(`recipient = ${param(filter.recipient)}`);
  if (filter.filehash !== undefined) where.push(`filehash = ${param(filter.filehash)}`);
  const text = `SELECT ${columns} FROM rhizome_manifests WHERE ${where.join(' AND ')} ORDER BY id ${options.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${size}`;
  for (;;) {
    const rows = await pgRetrying(() => db.sql.unsafe<ListedRow[]>(text, params, { prepare: true }));
    const last = rows.at(-1);
    if (last === undefined) return;
    yield rows.map(convert);
    if (rows.length < size) return;
    params[0] = last.id.toString();
  }
}
