/**
 * One node's connection to a shared PostgreSQL database (rhizome.store.backend=postgres): the
 * Rhizome store, the keyring and the API tokens all use it (postgres.js, docs/postgres.md).
 *
 *   - `sql`: the main pool, for statements that come and go;
 *   - `uploads`: a small pool of its own for payload uploads, which stream COPY into the database
 *     as the bytes arrive: slow uploaders wait for each other, never for reads and commits;
 *   - the session (session.ts): one connection kept open, holding the advisory locks that tell
 *     other nodes this node is alive and which payloads it is reading;
 *   - notifications (LISTEN/NOTIFY), re-established by postgres.js after a lost connection.
 *
 * The password never appears here: postgres.js takes it from PGPASSWORD or the password file
 * (PGPASSFILE, else ~/.pgpass), as libpq does, and rhizome.store.url may not carry one. What this
 * module says about the database names only `host:port/database`.
 */
import postgres from 'postgres';
import { fail, TendrilError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isUnreachable, translatePostgresError } from './errors.js';
import { LOCKS } from './locks.js';
import { MIGRATIONS } from './migrations.js';
import { Session } from './session.js';

/** int8 comes back as a bigint, never rounded. */
const TYPES = { bigint: postgres.BigInt };

export type Sql = postgres.Sql<{ bigint: bigint }>;

export interface Database {
  readonly sql: Sql;
  readonly uploads: Sql;
  readonly session: Session;
  /** `host:port/database`, for messages and /restful/system: never a password. */
  readonly target: string;
  /**
   * Calls `onNotify` with each notification on `channel`, and `onListen` each time listening
   * (re)starts: after a lost connection, whatever was sent meanwhile must be read again.
   */
  listen(channel: string, onNotify: (payload: string) => void, onListen?: () => void): Promise<() => Promise<void>>;
  /** False since the last statement that could not reach the database, until one that could. */
  connected(): boolean;
  /** Records what a statement's failure says about the connection. */
  observe(err: unknown): void;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  readonly url: string;
  readonly log: Logger;
  /** Main pool size (default 20). */
  readonly max?: number;
  /** Seconds to wait for a connection at start-up before giving up (default 10). */
  readonly connectTimeout?: number;
  /** application_name of its connections, as pg_stat_activity shows them (default `tendril`). */
  readonly application?: string;
  /** Reading only (a migration's source): the schema is checked, never migrated. */
  readonly readOnly?: boolean;
}

/**
 * Calls `changed` on every notification on `channel`, and each time listening is re-established
 * after a lost connection (what changed meanwhile was not heard); not when listening first starts.
 * Returns the stop. For storage that other nodes change (keyring slots, API tokens).
 */
export function watchChannel(db: Database, channel: string, changed: () => void): Promise<() => Promise<void>> {
  let first = true;
  return db.listen(channel, changed, () => {
    if (first) first = false;
    else changed();
  });
}

/** `host:port/database` of a postgres:// URL (a Unix socket directory shows as the host). */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    // As postgres.js (and libpq) read it: a host parameter (a socket directory) wins.
    const host = u.searchParams.get('host') ?? (u.hostname !== '' ? u.hostname : 'localhost');
    const port = u.searchParams.get('port') ?? (u.port !== '' ? u.port : '5432');
    return `${host}:${port}${u.pathname}`;
  } catch {
    return 'an unparsable URL';
  }
}

function client(url: string, max: number, connectTimeout: number, application: string, log: Logger): Sql {
  return postgres(url, {
    max,
    types: TYPES,
    connect_timeout: connectTimeout,
    idle_timeout: 60,
    onnotice: () => undefined,
    connection: { application_name: application },
    // Reconnecting is postgres.js's; what failed is logged without the URL's details.
    onclose: () => log.debug('database connection closed'),
  });
}

/**
 * Connects, migrates the schema and opens the session. A database that cannot be reached is
 * DATABASE_CONNECT_FAILED naming the host and database, and why (never the password).
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const target = describeTarget(options.url);
  const log = options.log.child({ database: target });
  const timeout = options.connectTimeout ?? 10;
  const application = options.application ?? 'tendril';
  const sql = client(options.url, options.max ?? 20, timeout, application, log);
  const uploads = client(options.url, 4, timeout, application, log);
  try {
    await sql`SELECT 1`;
  } catch (err) {
    await Promise.all([sql.end({ timeout: 0 }), uploads.end({ timeout: 0 })]);
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'string' ? code : 'no answer';
    throw new TendrilError('DATABASE_CONNECT_FAILED', { arg: `${target} (${why})`, cause: safeCause(err) });
  }
  try {
    await migrate(sql, log, options.readOnly === true);
    let connected = true;
    const observe = (err: unknown): void => {
      const was = connected;
      connected = err === undefined || !isUnreachable(err);
      if (was !== connected) log.warn(connected ? 'database reachable again' : 'database unreachable');
    };
    const session = await Session.open(options.url, application, log, observe);
    return {
      sql,
      uploads,
      session,
      target,
      listen: async (channel, onNotify, onListen) => {
        const listening = await sql.listen(channel, onNotify, onListen);
        return () => listening.unlisten();
      },
      connected: () => connected,
      observe,
      close: async () => {
        await session.close();
        await Promise.all([sql.end({ timeout: 5 }), uploads.end({ timeout: 5 })]);
      },
    };
  } catch (err) {
    await Promise.all([sql.end({ timeout: 0 }), uploads.end({ timeout: 0 })]);
    throw translatePostgresError(err);
  }
}

/** A connection error without anything that might carry credentials (only its code). */
function safeCause(err: unknown): Error {
  const code = (err as { code?: unknown }).code;
  return new Error(typeof code === 'string' ? code : 'connection failed');
}

async function migrate(sql: Sql, log: Logger, readOnly: boolean): Promise<void> {
  if (readOnly) {
    const [table] = await sql`SELECT to_regclass('tendril_migrations') AS t`;
    const [row] = table?.t === null ? [] : await sql<Array<{ v: number | null }>>`SELECT max(version) AS v FROM tendril_migrations`;
    const version = row?.v ?? 0;
    if (version !== MIGRATIONS.length) fail('DATABASE_SCHEMA_NEWER', { arg: `version ${version}, this Tendril reads ${MIGRATIONS.length} (not migrated: opened for reading only)` });
    return;
  }
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCKS.migrate}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS tendril_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;
    const [row] = await tx<Array<{ v: number | null }>>`SELECT max(version) AS v FROM tendril_migrations`;
    const current = row?.v ?? 0;
    if (current > MIGRATIONS.length) fail('DATABASE_SCHEMA_NEWER', { arg: `version ${current}, this Tendril knows ${MIGRATIONS.length}` });
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await tx.unsafe(MIGRATIONS[version - 1]!);
      await tx`INSERT INTO tendril_migrations (version) VALUES (${version})`;
      log.info({ version }, 'database schema migrated');
    }
  });
}
