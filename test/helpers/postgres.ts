/**
 * Databases for tests on the PostgreSQL backend. One private server serves a whole test run:
 * scripts/test.sh starts it and passes it on in TENDRIL_TEST_PG (socket directory and port);
 * a test file run on its own starts one for its process (stopped when the process exits).
 *
 * Every test database is a copy of one migrated template (CREATE DATABASE … TEMPLATE), made once
 * per server: copying a template is much faster than migrating each database. Creating from the
 * template needs nobody connected to it, so template work holds an advisory lock on the admin
 * connection, across the test processes that run at once.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../src/store/postgres/database.js';
import { silentLogger } from '../../src/log.js';
import { PG_PASSWORD, startPostgres, type PostgresServer } from './postgres-server.js';

export { PG_PASSWORD };

const TEMPLATE = 'tendril_template';
const TEMPLATE_LOCK = 4242;

export interface TestServer {
  readonly socketDir: string;
  readonly port: number;
  socketUrl(database: string): string;
  tcpUrl(database: string): string;
  /** The private server, when this process started it (crash tests need that). */
  readonly own?: PostgresServer;
}

let shared: Promise<TestServer> | undefined;

/** The run's server (TENDRIL_TEST_PG="SOCKET_DIR:PORT"), or one started for this process. */
export function testServer(): Promise<TestServer> {
  shared ??= (async () => {
    const env = process.env.TENDRIL_TEST_PG;
    if (env !== undefined && env !== '') {
      const at = env.lastIndexOf(':');
      const socketDir = env.slice(0, at);
      const port = Number(env.slice(at + 1));
      const url = (db: string, host: string): string => `postgres://tendril@${host}/${db}`;
      return {
        socketDir,
        port,
        socketUrl: (db) => `${url(db, 'localhost')}?host=${encodeURIComponent(socketDir)}&port=${port}`,
        tcpUrl: (db) => url(db, `127.0.0.1:${port}`),
      };
    }
    const server = await startPostgres();
    return { ...server, own: server };
  })();
  return shared;
}

/** A server of its own (for tests that stop or crash it). */
export async function privateServer(): Promise<PostgresServer> {
  return startPostgres();
}

async function admin<T>(server: TestServer, use: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(server.socketUrl('postgres'), { max: 1, onnotice: () => undefined });
  try {
    return await use(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export interface TestDatabase {
  readonly name: string;
  /** The database over the Unix socket (no password). */
  readonly url: string;
  drop(): Promise<void>;
}

/** A new, migrated, empty database on `server` (the run's by default). */
export async function createTestDatabase(server?: TestServer | PostgresServer): Promise<TestDatabase> {
  const s = server ?? (await testServer());
  const name = `tendril_${randomBytes(6).toString('hex')}`;
  await admin(s, async (sql) => {
    await sql`SELECT pg_advisory_lock(${TEMPLATE_LOCK})`;
    try {
      const [exists] = await sql`SELECT 1 FROM pg_database WHERE datname = ${TEMPLATE}`;
      if (exists === undefined) {
        await sql.unsafe(`CREATE DATABASE ${TEMPLATE}`);
        const db = await openDatabase({ url: s.socketUrl(TEMPLATE), log: silentLogger() });
        await db.close();
      }
      await sql.unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
    } finally {
      await sql`SELECT pg_advisory_unlock(${TEMPLATE_LOCK})`;
    }
  });
  return {
    name,
    url: s.socketUrl(name),
    drop: () =>
      admin(s, async (sql) => {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}

/** Opens a test database as a node would (silent log). */
export function openTestDatabase(url: string, application?: string): Promise<Database> {
  return openDatabase({ url, log: silentLogger(), max: 8, application });
}
