/**
 * The database schema and its version (PRAGMA user_version), made once and migrated forward.
 *
 * Choices, each for a stated guarantee:
 *   - manifests.id is INTEGER PRIMARY KEY AUTOINCREMENT: row ids only grow and are never reused,
 *     even when the highest row is replaced, so newsince tokens (spec §7.14.1) stay ordered.
 *   - version and tail are uint64 (up to 2^64−1, beyond SQLite's signed INTEGER): kept as 8-byte
 *     big-endian BLOBs, whose memcmp order is numeric order, so nothing loses precision.
 *   - date is signed int64 in the manifest grammar and fits INTEGER exactly; filesize is refused
 *     above 2^53 before it gets here.
 *   - payloads are keyed by SHA-512 (dedupe is a lookup); `data` holds small payloads inline and
 *     is NULL for payloads kept as files. No foreign key from manifests: an evicted payload leaves
 *     its manifest behind (spec §7.10), so a manifest may name a hash the store no longer holds.
 *   - indexes serve the list filters (service, sender, recipient; each also ordered by row id),
 *     the reference count of a payload (filehash), eviction order (rank = inserttime − length)
 *     and the sum of external bytes (partial index on length WHERE data IS NULL).
 *   - auto_vacuum=INCREMENTAL (set by open.ts before the first table and before WAL): freed pages
 *     can be returned to the filesystem cheaply later, without a full VACUUM on the hot path.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { fail } from '../../../errors.js';

export const SCHEMA_VERSION = 2;

const SCHEMA_V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
CREATE TABLE manifests (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  bid        BLOB    NOT NULL UNIQUE CHECK (length(bid) = 32),
  version    BLOB    NOT NULL CHECK (length(version) = 8),
  inserttime INTEGER NOT NULL,
  filesize   INTEGER NOT NULL CHECK (filesize >= 0),
  filehash   BLOB    CHECK (filehash IS NULL OR length(filehash) = 64),
  tail       BLOB    CHECK (tail IS NULL OR length(tail) = 8),
  service    TEXT,
  name       TEXT,
  sender     BLOB,
  recipient  BLOB,
  date       INTEGER,
  author     BLOB,
  manifest   BLOB    NOT NULL
);
CREATE INDEX manifests_service   ON manifests(service);
CREATE INDEX manifests_sender    ON manifests(sender);
CREATE INDEX manifests_recipient ON manifests(recipient);
CREATE INDEX manifests_filehash  ON manifests(filehash) WHERE filehash IS NOT NULL;
CREATE TABLE payloads (
  hash       BLOB    PRIMARY KEY CHECK (length(hash) = 64),
  length     INTEGER NOT NULL CHECK (length > 0),
  inserttime INTEGER NOT NULL,
  data       BLOB    CHECK (data IS NULL OR length(data) = length)
);
CREATE INDEX payloads_rank     ON payloads(inserttime - length, hash);
CREATE INDEX payloads_external ON payloads(length) WHERE data IS NULL;
`;

// Version 2: Rhizome Direct walks bundles by size bin, then BID (direct-queries.ts).
const SCHEMA_V2 = `
CREATE INDEX manifests_filesize_bid ON manifests(filesize, bid);
`;

/**
 * Creates the schema in a new database or checks an existing one's version. Returns the store
 * UUID (16 random bytes, made with the schema in the same transaction, so it exists exactly once).
 */
export function migrate(db: Database): Buffer {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > SCHEMA_VERSION) {
    fail('RHIZOME_STORE_CORRUPT', { cause: new Error(`store schema ${version} is newer than ${SCHEMA_VERSION}`) });
  }
  if (version === 0) {
    db.transaction(() => {
      db.exec(SCHEMA_V1);
      db.exec(SCHEMA_V2);
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('uuid', randomBytes(16));
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } else if (version === 1) {
    db.transaction(() => {
      db.exec(SCHEMA_V2);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
  const row = db.prepare<[], { value: unknown }>("SELECT value FROM meta WHERE key = 'uuid'").get();
  if (row === undefined || !Buffer.isBuffer(row.value) || row.value.length !== 16) {
    fail('RHIZOME_STORE_CORRUPT', { cause: new Error('store UUID missing') });
  }
  return row.value;
}
