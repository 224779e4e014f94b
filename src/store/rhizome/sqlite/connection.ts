/**
 * A connection to the store's database with the per-connection settings every connection needs:
 * the main thread's (open.ts) and the commit writer's (commit-writer.ts) alike.
 *
 *   - safe integers: every INTEGER comes back as a bigint, so no 64-bit value is rounded;
 *   - synchronous=FULL: in WAL mode the WAL is fsync'd at every commit, so a commit that resolved
 *     survives a power loss, not only a crash;
 *   - busy_timeout (default 1000 ms): how long a write waits for another connection's lock
 *     before RHIZOME_BUSY;
 *   - no foreign keys: manifests may name payloads that were evicted (see schema.ts);
 *   - journal_size_limit: the WAL is truncated back to 64 MiB after a checkpoint, so one burst
 *     does not keep disk forever.
 */
import Database from 'better-sqlite3';

export const DEFAULT_BUSY_TIMEOUT_MS = 1000;
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

export function openConnection(file: string, busyTimeoutMs: number | undefined): Database.Database {
  const db = new Database(file, { timeout: busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  try {
    db.defaultSafeIntegers(true);
    configure(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** The settings that do not persist in the database file. */
export function configure(db: Database.Database): void {
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = OFF');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
}
