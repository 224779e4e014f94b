/**
 * Bundle listings (spec §3.3, §3.4), read in keyset-paged batches.
 *
 * better-sqlite3 refuses to use a connection while one of its iterators is open, and a listing
 * can be consumed slowly (a long JSON table, a long-poll). So each batch is one complete query —
 * `id > cursor` ascending or `id < cursor` descending, LIMIT 256 — and nothing stays open between
 * batches: commits run freely while a listing is being consumed. A bundle replaced meanwhile gets
 * a new, higher row id, so an ascending listing may meet it again; a descending one will not.
 *
 * One statement per filter combination and order, prepared on first use. `name` uses SQL LIKE
 * (ASCII case-insensitive, `%` and `_` wildcards, no escape character), exactly as the reference.
 */
import type { Database, Statement } from 'better-sqlite3';
import { BUNDLE_COLUMNS, rowToBundle, type ManifestRow } from './bundle-row.js';
import { sqlite } from './sqlite-errors.js';
import type { BundleFilter, ListOptions, StoredBundle } from './types.js';

const BATCH = 256;
const INT64_MAX = (1n << 63n) - 1n;

type Params = Record<string, unknown>;

export class Lister {
  readonly #db: Database;
  readonly #statements = new Map<string, Statement<[Params], ManifestRow>>();

  constructor(db: Database) {
    this.#db = db;
  }

  *list(filter: BundleFilter, options: ListOptions): Generator<StoredBundle, void, undefined> {
    const statement = this.#statement(filter, options.order);
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
      for (const row of rows) yield rowToBundle(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < BATCH) return;
      params.cursor = last.id;
    }
  }

  #statement(filter: BundleFilter, order: 'asc' | 'desc'): Statement<[Params], ManifestRow> {
    const where = [order === 'asc' ? 'id > @cursor' : 'id < @cursor AND id > @after'];
    if (filter.service !== undefined) where.push('service = @service');
    if (filter.name !== undefined) where.push('name LIKE @name');
    if (filter.sender !== undefined) where.push('sender = @sender');
    if (filter.recipient !== undefined) where.push('recipient = @recipient');
    if (filter.filehash !== undefined) where.push('filehash = @filehash');
    const sql = `SELECT ${BUNDLE_COLUMNS} FROM manifests WHERE ${where.join(' AND ')} ORDER BY id ${order.toUpperCase()} LIMIT ${BATCH}`;
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = sqlite(() => this.#db.prepare<[Params], ManifestRow>(sql));
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
