/**
 * This node's session with the shared database: one connection kept open, holding
 *
 *   - an exclusive advisory lock on the session's key while the node lives: blobs a node is still
 *     writing carry its session key, and another node's sweeper deletes them only once it can take
 *     that lock, i.e. once the writer's connection is gone (the node died, or lost the database);
 *   - a shared advisory lock on each blob being read: the sweeper deletes a doomed blob only once
 *     it can take it exclusively, so a download that began before its payload was replaced or
 *     evicted reads to the end (the same promise the SQLite store keeps with an open file).
 *
 * A session whose connection is lost has lost its locks: the next use opens a new one, with a new
 * key. Locks are taken and released in order on the one connection (postgres.js pipelines them).
 */
import type { Logger } from '../../log.js';
import type { Sql } from './database.js';
import { isUnreachable } from './errors.js';
import { LOCKS } from './locks.js';

type Reserved = Awaited<ReturnType<Sql['reserve']>>;

export class Session {
  #sql: Sql;
  #log: Logger;
  #observe: (err: unknown) => void;
  #current: Promise<{ conn: Reserved; key: bigint }> | undefined;
  #closed = false;

  private constructor(sql: Sql, log: Logger, observe: (err: unknown) => void) {
    this.#sql = sql;
    this.#log = log;
    this.#observe = observe;
  }

  static async open(sql: Sql, log: Logger, observe: (err: unknown) => void): Promise<Session> {
    const session = new Session(sql, log, observe);
    await session.key();
    return session;
  }

  /** The current session's key (a new session after a lost connection). */
  async key(): Promise<bigint> {
    return (await this.#session()).key;
  }

  /** Takes a shared lock on a blob; the returned function releases it (once). */
  async lockBlob(blob: bigint): Promise<() => void> {
    const { conn } = await this.#session();
    await this.#run(() => conn`SELECT pg_advisory_lock_shared(${blob.toString()}::bigint)`);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // A lost connection has released it already; nothing to wait for either way.
      this.#run(() => conn`SELECT pg_advisory_unlock_shared(${blob.toString()}::bigint)`).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const current = this.#current;
    this.#current = undefined;
    if (current === undefined) return;
    try {
      const { conn } = await current;
      await conn`SELECT pg_advisory_unlock_all()`.catch(() => undefined);
      conn.release();
    } catch {
      // Never opened: nothing to release.
    }
  }

  #session(): Promise<{ conn: Reserved; key: bigint }> {
    if (this.#closed) return Promise.reject(new Error('database session closed'));
    this.#current ??= this.#start().catch((err: unknown) => {
      this.#current = undefined;
      this.#observe(err);
      throw err;
    });
    return this.#current;
  }

  async #start(): Promise<{ conn: Reserved; key: bigint }> {
    const conn = await this.#sql.reserve();
    try {
      const [row] = await conn<Array<{ key: bigint }>>`SELECT ${LOCKS.sessionBase}::bigint - nextval('tendril_sessions') AS key`;
      const key = row!.key;
      await conn`SELECT pg_advisory_lock(${key.toString()}::bigint)`;
      this.#log.debug({ session: key.toString() }, 'database session opened');
      return { conn, key };
    } catch (err) {
      conn.release();
      throw err;
    }
  }

  async #run<T>(query: () => Promise<T>): Promise<T> {
    try {
      const result = await query();
      this.#observe(undefined);
      return result;
    } catch (err) {
      this.#observe(err);
      if (isUnreachable(err)) {
        // The connection is gone, and its locks with it: the next use starts a new session.
        const lost = this.#current;
        this.#current = undefined;
        lost?.then(({ conn }) => conn.release()).catch(() => undefined);
      }
      throw err;
    }
  }
}
