/**
 * Opening the Rhizome store: directories, the database connection and its settings, the schema,
 * then start-up recovery. Synchronous, because nothing may use the store before recovery is done.
 *
 *   - DIR is created owner-only (0700): payloads may be private conversations.
 *   - The database is checked with PRAGMA quick_check before anything writes to it. A store that
 *     fails (or is not a database at all) is refused with RHIZOME_STORE_CORRUPT and left exactly
 *     as found: starting empty would silently lose every bundle.
 *   - journal_mode=WAL: readers never block the writer or each other, which lets the commit writer
 *     (a second connection, in a worker thread: commit-queue.ts) commit while this thread reads.
 *   - The per-connection settings of connection.ts: synchronous=FULL (the WAL is fsync'd at every
 *     commit, so a commit that resolved survives a power loss, not only a crash), busy_timeout
 *     (how long a write waits for another connection's lock before RHIZOME_BUSY; better-sqlite3
 *     is synchronous, so the wait blocks the thread; it happens when some other process holds the
 *     database, and briefly when an eviction here meets a group commit), no foreign keys.
 *
 * One process, one open store per directory: recovery deletes everything in tmp/ and every file
 * no row names, which would destroy another live opener's work. The node's instance lock (pid
 * file) guarantees this.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { fail } from '../../../errors.js';
import { configure, DEFAULT_BUSY_TIMEOUT_MS } from './connection.js';
import { fsyncDirectory, storeLayout } from './layout.js';
import { recover } from './recovery.js';
import { migrate } from './schema.js';
import { translateSqliteError } from './sqlite-errors.js';
import { createStore } from './store.js';
import type { RhizomeStore, StoreOptions } from '../types.js';

export function openSqliteStore(options: StoreOptions): RhizomeStore {
  const layout = storeLayout(options.dir);
  const made = mkdirSync(layout.dir, { recursive: true, mode: 0o700 });
  mkdirSync(layout.payloadsDir, { recursive: true, mode: 0o700 });
  mkdirSync(layout.tmpDir, { recursive: true, mode: 0o700 });
  // The directories themselves must survive a power loss before anything is stored in them.
  fsyncDirectory(layout.dir);
  if (made !== undefined) fsyncDirectory(dirname(layout.dir));

  let db: Database.Database;
  try {
    db = new Database(layout.dbFile, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (err) {
    throw translateSqliteError(err);
  }
  try {
    db.defaultSafeIntegers(true);
    checkIntegrity(db);
    if (Number(db.pragma('user_version', { simple: true })) === 0) {
      // Only takes effect before the first table exists (and is kept in the file from then on).
      db.pragma('auto_vacuum = INCREMENTAL');
    }
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`cannot use WAL journal mode (got ${String(mode)})`);
    configure(db);
    const uuid = migrate(db);
    recover(db, layout);
    return createStore(db, layout, uuid, options);
  } catch (err) {
    db.close();
    throw translateSqliteError(err);
  }
}

function checkIntegrity(db: Database.Database): void {
  const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  if (rows.length === 0 || problems.length > 0) {
    fail('RHIZOME_STORE_CORRUPT', { cause: new Error(`quick_check: ${problems.slice(0, 5).join('; ')}`) });
  }
}
