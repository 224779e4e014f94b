/**
 * Every fixed SQL statement of the store, prepared once per connection. Listing builds its own
 * (the filter combination decides the WHERE clause); everything else is here, so the SQL that
 * touches a table can be read in one place.
 */
import type { Database, Statement } from 'better-sqlite3';
import { BUNDLE_COLUMNS, type ManifestRow } from './bundle-row.js';

export interface PayloadRow {
  readonly length: bigint;
  readonly external: bigint;
}

export interface EvictionCandidate {
  readonly hash: Buffer;
  readonly length: bigint;
  readonly rank: bigint;
  readonly external: bigint;
}

export interface PageCounts {
  readonly pageSize: bigint;
  readonly pageCount: bigint;
  readonly freeCount: bigint;
}

export interface Statements {
  readonly bundleByBid: Statement<[Buffer], ManifestRow>;
  readonly bundleById: Statement<[number | bigint], ManifestRow>;
  readonly insertBundle: Statement<[Record<string, unknown>]>;
  readonly deleteBundle: Statement<[bigint]>;
  readonly authorOf: Statement<[Buffer, Buffer], { author: Buffer | null }>;
  readonly setAuthor: Statement<[Buffer, Buffer, Buffer]>;
  readonly lastRowid: Statement<[], { id: bigint | null }>;
  readonly bundleCount: Statement<[], { n: bigint | number }>;
  readonly referenced: Statement<[Buffer], { one: bigint }>;
  /** Ids and versions in id order within [from, before): reconciliation ranges (sync). */
  readonly keys: Statement<[Buffer, Buffer, number], { bid: Buffer; version: Buffer }>;

  readonly payload: Statement<[Buffer], PayloadRow>;
  readonly payloadData: Statement<[Buffer], { length: bigint; data: Buffer | null }>;
  readonly insertPayload: Statement<[Buffer, number, number, Buffer | null]>;
  readonly deletePayload: Statement<[Buffer]>;
  /** Eviction order (spec §7.10), keyset-paged by (rank, hash). */
  readonly candidates: Statement<[{ rank: bigint; hash: Buffer }], EvictionCandidate>;

  readonly externalBytes: Statement<[], { total: bigint }>;
  readonly pages: Statement<[], PageCounts>;
}

export function prepareStatements(db: Database): Statements {
  return {
    bundleByBid: db.prepare(`SELECT ${BUNDLE_COLUMNS} FROM manifests WHERE bid = ?`),
    bundleById: db.prepare(`SELECT ${BUNDLE_COLUMNS} FROM manifests WHERE id = ?`),
    insertBundle: db.prepare(
      `INSERT INTO manifests (inserttime, bid, version, filesize, filehash, tail, service, name, sender, recipient, date, author, manifest)
       VALUES (@inserttime, @bid, @version, @filesize, @filehash, @tail, @service, @name, @sender, @recipient, @date, @author, @manifest)`,
    ),
    deleteBundle: db.prepare('DELETE FROM manifests WHERE id = ?'),
    authorOf: db.prepare('SELECT author FROM manifests WHERE bid = ? AND version = ?'),
    setAuthor: db.prepare('UPDATE manifests SET author = ? WHERE bid = ? AND version = ?'),
    lastRowid: db.prepare('SELECT max(id) AS id FROM manifests'),
    bundleCount: db.prepare('SELECT count(*) AS n FROM manifests'),
    referenced: db.prepare('SELECT 1 AS one FROM manifests WHERE filehash = ? LIMIT 1'),
    // Served by the UNIQUE index on bid: a range scan, no sort.
    keys: db.prepare('SELECT bid, version FROM manifests WHERE bid >= ? AND bid < ? ORDER BY bid LIMIT ?'),

    payload: db.prepare('SELECT length, data IS NULL AS external FROM payloads WHERE hash = ?'),
    payloadData: db.prepare('SELECT length, data FROM payloads WHERE hash = ?'),
    // Adds the row unless that payload is already there: one statement instead of a lookup and an
    // insert. Only the key conflict is ignored; a CHECK still fails.
    insertPayload: db.prepare('INSERT INTO payloads (hash, length, inserttime, data) VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING'),
    deletePayload: db.prepare('DELETE FROM payloads WHERE hash = ?'),
    candidates: db.prepare(
      `SELECT hash, length, inserttime - length AS rank, data IS NULL AS external FROM payloads
       WHERE inserttime - length >= @rank AND (inserttime - length, hash) > (@rank, @hash)
       ORDER BY inserttime - length, hash LIMIT 64`,
    ),

    externalBytes: db.prepare('SELECT coalesce(sum(length), 0) AS total FROM payloads WHERE data IS NULL'),
    pages: db.prepare(
      `SELECT p.page_size AS pageSize, c.page_count AS pageCount, f.freelist_count AS freeCount
       FROM pragma_page_size() AS p, pragma_page_count() AS c, pragma_freelist_count() AS f`,
    ),
  };
}
