/**
 * PostgreSQL failures, turned into what the services can act on. Recognised by their `code`
 * (SQLSTATE for errors the server sent, a Node or postgres.js code for connection failures):
 *
 *   08*, 57P01-57P03, ECONNREFUSED, CONNECTION_* …   the database cannot be reached now
 *                                                    → DATABASE_UNAVAILABLE (503)
 *   55P03 lock_not_available, 40001, 40P01           a lock or a conflict → RHIZOME_BUSY (423)
 *   53100 disk_full                                  → a Node error, code ENOSPC, as a full local
 *                                                      disk is (the service says "No room in store")
 *
 * Anything else passes through unchanged and ends as an opaque 500 (details in the log only).
 */
import { TendrilError } from '../../errors.js';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOENT', // a Unix socket that is not there (the server is down)
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
]);

function codeOf(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** True when `err` says the database cannot be reached (rather than refusing a statement). */
export function isUnreachable(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && (UNREACHABLE.has(code) || code.startsWith('08'));
}

export function translatePostgresError(err: unknown): unknown {
  const code = codeOf(err);
  if (code === undefined || (err as Error).name === 'TendrilError') return err;
  if (isUnreachable(err)) return new TendrilError('DATABASE_UNAVAILABLE', { cause: err });
  if (code === '55P03' || code === '40001' || code === '40P01') return new TendrilError('RHIZOME_BUSY', { cause: err });
  if (code === '53100') {
    const full: NodeJS.ErrnoException = new Error('No space left on device', { cause: err });
    full.code = 'ENOSPC';
    return full;
  }
  return err;
}

/**
 * Codes that say the connection a statement used has died (the server restarted or dropped it),
 * not that the server cannot be reached: the pool's next connection may well work. After the
 * database returns, each connection the pool still held fails once like this.
 */
const CONNECTION_LOST = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE', '57P01', '57P02']);

function connectionLost(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && CONNECTION_LOST.has(code)) return true;
  return err instanceof Error && err.cause !== undefined && err.cause !== err && connectionLost(err.cause);
}

/**
 * As pg(), for statements that may run again (reads, and writes that change nothing the second
 * time): one whose connection died is tried again, up to `attempts` times in all.
 */
export async function pgRetrying<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !connectionLost(err)) throw translatePostgresError(err);
    }
  }
}

/** Runs `fn`, rethrowing its failure translated. */
export async function pg<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePostgresError(err);
  }
}
