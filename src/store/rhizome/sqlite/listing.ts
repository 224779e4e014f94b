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
import { BUNDLE_COLUMNS, LISTED_COLUMNS, rowToBundle, rowToListed, type ListedRow, type ManifestRow } from '../bundle-row.js';
import { sqlite } from './sqlite-errors.js';
import type { BundleFilter, ListedBundle, ListedKeys, ListOptions, StoredBundle } from '../types.js';

const BATCH = 256;
/** Keys are a number a row: larger batches, fewer statements. */
const KEY_BATCH = 1024;
/**
 * A listing's keys, one number a row: twice the row id (far below 2^52), plus one when the row
 * has a recorded author (those few are read by row id afterwards). No object, array or bigint is
 * made per row.
 */
const KEY_COLUMNS = 'id * 2 + (author IS NOT NULL)';
const INT64_MAX = (1n << 63n) - 1n;
/**
 * Whole-store listings (newest first, no `since`) keep their keys until the next change: reading
 * them is most of a long list's cost in SQLite (stepping one row at a time, ~0.16 µs a row), and
 * a list asked again and again (apps polling bundlelist.json) between inserts reads the same keys.
 * Up to this many keys per listing, for this many filters.
 */
const KEPT_KEYS = 65_536;
const KEPT_LISTINGS = 8;

type Params = Record<string, unknown>;

export class Lister {
  readonly #db: Database;
  readonly #statements = new Map<string, Statement<[Params], ListedRow>>();
  readonly #byRowid: Statement<[string], ListedRow>;
  readonly #authors: Statement<[string], { id: bigint; author: Buffer }>;
  /** Keys of whole-store listings by filter, valid until the store changes (changed()). */
  readonly #keptKeys = new Map<string, readonly ListedKeys[]>();
  #generation = 0;

  constructor(db: Database) {
    this.#db = db;
    const byRowid = (columns: string): string => `SELECT ${columns} FROM manifests WHERE id IN (SELECT value FROM json_each(?))`;
    this.#byRowid = sqlite(() => db.prepare<[string], ListedRow>(byRowid(LISTED_COLUMNS)));
    this.#authors = sqlite(() => db.prepare<[string], { id: bigint; author: Buffer }>(byRowid('id, author')));
  }

  list(filter: BundleFilter, options: ListOptions): AsyncGenerator<readonly StoredBundle[], void, undefined> {
    return this.#batches(filter, options, BUNDLE_COLUMNS, (row) => rowToBundle(row as ManifestRow));
  }

  listColumns(filter: BundleFilter, options: ListOptions): AsyncGenerator<readonly ListedBundle[], void, undefined> {
    return this.#batches(filter, options, LISTED_COLUMNS, rowToListed);
  }

  /**
   * Rows were added, replaced or given an author: kept keys are no longer the store's. The store
   * calls this on the main thread for every change, before anyone is told of it.
   */
  changed(): void {
    this.#generation++;
    this.#keptKeys.clear();
  }

  /** Row ids, and the recorded authors of the few rows that have one: nothing else is read. */
  async *listKeys(filter: BundleFilter, options: ListOptions): AsyncGenerator<ListedKeys, void, undefined> {
    const whole = options.order === 'desc' && options.afterRowid === undefined;
    const name = whole ? keptName(filter) : undefined;
    const kept = name === undefined ? undefined : this.#keptKeys.get(name);
    if (kept !== undefined) {
      // Fresh arrays and maps: a consumer may keep or change what it is given.
      for (const { rowids, authors } of kept) yield { rowids: [...rowids], authors: new Map(authors) };
      return;
    }
    const generation = this.#generation;
    let keeping: ListedKeys[] | undefined = name === undefined ? undefined : [];
    let count = 0;
    for await (const keys of this.#batches(filter, options, KEY_COLUMNS, (key) => key as unknown as number)) {
      const rowids = keys.map((key) => Math.floor(key / 2));
      const authored = rowids.filter((_, i) => keys[i]! % 2 === 1);
      const authors = new Map<number, Buffer>();
      if (authored.length > 0) {
        for (const row of sqlite(() => this.#authors.all(JSON.stringify(authored)))) authors.set(Number(row.id), row.author);
      }
      count += rowids.length;
      if (count > KEPT_KEYS) keeping = undefined;
      keeping?.push({ rowids: [...rowids], authors: new Map(authors) });
      yield { rowids, authors };
    }
    // Kept only if read whole with no change in between (the consumer may pause between batches).
    if (keeping === undefined || name === undefined || generation !== this.#generation) return;
    if (this.#keptKeys.size >= KEPT_LISTINGS) this.#keptKeys.delete(this.#keptKeys.keys().next().value!);
    this.#keptKeys.set(name, keeping);
  }

  listedByRowid(rowids: readonly number[]): readonly ListedBundle[] {
    return sqlite(() => this.#byRowid.all(JSON.stringify(rowids))).map(rowToListed);
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
      if (rows.length < (columns === KEY_COLUMNS ? KEY_BATCH : BATCH)) return;
      params.cursor = columns === KEY_COLUMNS ? Math.floor((last as unknown as number) / 2) : last.id;
    }
  }

  #statement(filter: BundleFilter, order: 'asc' | 'desc', columns: string): Statement<[Params], ListedRow> {
    const where = [order === 'asc' ? 'id > @cursor' : 'id < @cursor AND id > @after'];
    if (filter.service !== undefined) where.push('service = @service');
    if (filter.name !== undefined) where.push('name LIKE @name');
    if (filter.sender !== undefined) where.push('sender = @sender');
    if (filter.recipient !== undefined) where.push('recipient = @recipient');
    if (filter.filehash !== undefined) where.push('filehash = @filehash');
    const sql = `SELECT ${columns} FROM manifests WHERE ${where.join(' AND ')} ORDER BY id ${order.toUpperCase()} LIMIT ${columns === KEY_COLUMNS ? KEY_BATCH : BATCH}`;
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = sqlite(() => this.#db.prepare<[Params], ListedRow>(sql));
      if (columns === KEY_COLUMNS) statement.pluck(true).safeIntegers(false);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** A filter as a Map key. */
function keptName(filter: BundleFilter): string {
  const hex = (b: Buffer | undefined): string | null => b?.toString('hex') ?? null;
  return JSON.stringify([filter.service ?? null, filter.name ?? null, hex(filter.sender), hex(filter.recipient), hex(filter.filehash)]);
}
