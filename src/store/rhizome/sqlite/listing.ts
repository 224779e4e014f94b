/**
 * Bundle listings (spec §3.3, §3.4), read in keyset-paged batches.
 *
 * better-sqlite3 refuses to use a connection while one of its iterators is open, and a listing
 * can be consumed slowly (a long JSON table, a long-poll). So each batch is one complete query —
 * `id > cursor` ascending or `id < cursor` descending, LIMIT 256 — and nothing stays open between
 * batches: commits run freely while a listing is being consumed. A bundle replaced meanwhile gets
 * a new, higher row id, so an ascending listing may meet it again; a descending one will not.
 *
 * One statement per filter combination, order and column set, prepared on first use. `name` uses
 * SQL LIKE (ASCII case-insensitive, `%` and `_` wildcards, no escape character), exactly as the
 * reference. Bundle lists leave out the signed manifest BLOB, ~370 bytes a row that no list
 * shows (it was the largest cost of a long list, docs/benchmarks.md).
 */
import type { Database, Statement } from 'better-sqlite3';
import { BUNDLE_COLUMNS, LISTED_COLUMNS, rowToBundle, rowToListed, type ListedRow, type ManifestRow } from './bundle-row.js';
import { sqlite } from './sqlite-errors.js';
import type { BundleFilter, ListedBundle, ListOptions, StoredBundle } from '../types.js';

const BATCH = 256;
const INT64_MAX = (1n << 63n) - 1n;

type Params = Record<string, unknown>;

export class Lister {
  readonly #db: Database;
  readonly #statements = new Map<string, Statement<[Params], ListedRow>>();

  constructor(db: Database) {
    this.#db = db;
  }

  list(filter: BundleFilter, options: ListOptions): AsyncGenerator<readonly StoredBundle[], void, undefined> {
    return this.#batches(filter, options, BUNDLE_COLUMNS, (row) => rowToBundle(row as ManifestRow));
  }

  listColumns(filter: BundleFilter, options: ListOptions): AsyncGenerator<readonly ListedBundle[], void, undefined> {
    return this.#batches(filter, options, LISTED_COLUMNS, rowToListed);
  }

  // Each batch is one synchronous query: a consumer pays one await per batch, not per row.
  // eslint-disable-next-line @typescript-eslint/require-await -- async to fit the contract
  async *#batches<T>(
    filter: BundleFilter,
    options: ListOptions,
    columns: string,
    convert: (row: ListedRow) => T,
  ): AsyncGenerator<readonly T[], void, undefined> {
    const statement = this.#statement(filter, options.order, columns);
    const params: Params = {
      service: filter.service,
      name: filter.name,
      sender: filter.sender,
      recipient: filter.recipient,
      filehash: filter.filehash,
      after: options.afterRowid ?? 0,
      cursor: options.order === 'asc' ? BigInt(options.afterRowid ?? 0) : INT64_MAX,
    };
    for (;;) {
      const rows = sqlite(() => statement.all(params));
      const last = rows.at(-1);
      if (last === undefined) return;
      yield rows.map(convert);
      if (rows.length < BATCH) return;
      params.cursor = last.id;
    }
  }

  #statement(filter: BundleFilter, order: 'asc' | 'desc', columns: string): Statement<[Params], ListedRow> {
    const where = [order === 'asc' ? 'id > @cursor' : 'id < @cursor AND id > @after'];
    if (filter.service !== undefined) where.push('service = @service');
    if (filter.name !== undefined) where.push('name LIKE @name');
    if (filter.sender !== undefined) where.push('sender = @sender');
    if (filter.recipient !== undefined) where.push('recipient = @recipient');
    if (filter.filehash !== undefined) where.push('filehash = @filehash');
    const sql = `SELECT ${columns} FROM manifests WHERE ${where.join(' AND ')} ORDER BY id ${order.toUpperCase()} LIMIT ${BATCH}`;
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = sqlite(() => this.#db.prepare<[Params], ListedRow>(sql));
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
