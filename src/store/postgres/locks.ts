/**
 * Tendril's advisory lock keys in a shared database. Blob ids, which readers lock (session.ts),
 * are positive; everything else is negative, so the two never meet.
 */
export const LOCKS = {
  /** Held while the schema is migrated (database.ts). */
  migrate: '-1',
  /** Held by every transaction that adds, replaces or evicts: row ids follow commit order. */
  commit: '-2',
  /** Session keys are this minus a random 60-bit number (session.ts). */
  sessionBase: (-(1n << 40n)).toString(),
} as const;
