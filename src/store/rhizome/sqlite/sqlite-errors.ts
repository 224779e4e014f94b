/**
 * SQLite failures, turned into what the service layer can act on. Recognised by their `code`
 * string (better-sqlite3's SqliteError carries the extended result code name), not by instanceof:
 *
 *   SQLITE_BUSY*, SQLITE_LOCKED*   another process holds the database      → RHIZOME_BUSY (423)
 *   SQLITE_CORRUPT*, SQLITE_NOTADB damage recovery cannot repair            → RHIZOME_STORE_CORRUPT
 *   SQLITE_FULL                    the disk is full                         → a Node error, code ENOSPC,
 *                                  the same as a payload write on a full disk, so the service has
 *                                  one thing to map to "No room in store" (spec §3.8.3, status 7)
 *
 * Anything else passes through unchanged and ends as an opaque 500.
 */
import { TendrilError } from '../../../errors.js';

function sqliteCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

export function isBusy(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** A full-disk error in the shape Node's fs uses. */
export function diskFullError(cause: unknown): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('No space left on device', { cause });
  err.code = 'ENOSPC';
  return err;
}

/** The error to surface for `err`, thrown by better-sqlite3 (returned unchanged if not SQLite's). */
export function translateSqliteError(err: unknown): unknown {
  const code = sqliteCode(err);
  if (code === undefined) return err;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new TendrilError('RHIZOME_BUSY', { cause: err });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new TendrilError('RHIZOME_STORE_CORRUPT', { cause: err });
  }
  if (code === 'SQLITE_FULL') return diskFullError(err);
  return err;
}

/** Runs `fn`, translating SQLite failures. */
export function sqlite<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translateSqliteError(err);
  }
}
