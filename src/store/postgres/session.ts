/**
 * This node's session with the shared database: one connection of its own, kept open, holding
 *
 *   - an exclusive advisory lock on the session's key while the node lives: blobs a node is still
 *     writing carry its session key, and another node's sweeper deletes them only once it can take
 *     that lock, i.e. once the writer's connection is gone (the node died, or lost the database);
 *   - a shared advisory lock on each blob being read: the sweeper deletes a doomed blob only once
 *     it can take it exclusively, so a download that began before its payload was replaced or
 *     evicted reads to the end (the same promise the SQLite store keeps with an open file).
 *
 * When that connection closes, its locks are gone: the session is over, and the next use opens a
 * new one, with a new key (postgres.js would reconnect silently, so the close is watched). A
 * statement that does not answer within STATEMENT_TIMEOUT_MS ends the session too.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Logger } from '../../log.js';
import { isUnreachable } from './errors.js';
import { LOCKS } from './locks.js';

const STATEMENT_TIMEOUT_MS = 10_000;

type Sql = postgres.Sql<{ bigint: bigint }>;

interface Current {
  readonly key: bigint;
  /** Bumped each time the connection closes: locks taken before are gone. */
  readonly generation: number;
}

export class Session {
  readonly #sql: Sql;
  readonly #log: Logger;
  readonly #observe: (err: unknown) => void;
  #current: Promise<Current> | undefined;
  #generation = 0;
  #closed = false;

  private constructor(url: string, application: string, log: Logger, observe: (err: unknown) => void) {
    this.#log = log;
    this.#observe = observe;
    this.#sql = postgres(url, {
      max: 1,
      types: { bigint: postgres.BigInt },
      idle_timeout: 0,
      max_lifetime: null,
      connect_timeout: 10,
      onnotice: () => undefined,
      connection: { application_name: application },
      onclose: () => {
        this.#generation++;
        this.#current = undefined;
      },
    });
  }

  static async open(url: string, application: string, log: Logger, observe: (err: unknown) => void): Promise<Session> {
    const session = new Session(url, application, log, observe);
    await session.key();
    return session;
  }

  /** The current session's key (a new session after a lost connection). */
  async key(): Promise<bigint> {
    return (await this.#session()).key;
  }

  /** Takes a shared lock on a blob; the returned function releases it (once). */
  async lockBlob(blob: bigint): Promise<() => void> {
    const { generation } = await this.#session();
    await this.#run(() => this.#sql`SELECT pg_advisory_lock_shared(${blob.toString()}::bigint)`);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // A closed connection has released it already.
      if (generation !== this.#generation) return;
      this.#run(() => this.#sql`SELECT pg_advisory_unlock_shared(${blob.toString()}::bigint)`).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#current = undefined;
    await this.#sql.end({ timeout: 1 });
  }

  #session(): Promise<Current> {
    if (this.#closed) return Promise.reject(new Error('database session closed'));
    this.#current ??= this.#start().catch((err: unknown) => {
      this.#current = undefined;
      this.#observe(err);
      throw err;
    });
    return this.#current;
  }

  async #start(): Promise<Current> {
    const generation = this.#generation;
    // Random, not from a sequence: a nextval no committed write follows is not durable, and after
    // a crash the server may hand the same value out again (a live session would then shield the
    // dead one's leftovers from the sweeper).
    const key = BigInt(LOCKS.sessionBase) - (randomBytes(8).readBigUInt64BE() >> 4n);
    await this.#run(() => this.#sql`SELECT pg_advisory_lock(${key.toString()}::bigint)`);
    if (generation !== this.#generation) throw Object.assign(new Error('database session lost while opening'), { code: 'CONNECTION_CLOSED' });
    this.#log.debug({ session: key.toString() }, 'database session opened');
    return { key, generation };
  }

  /** Runs a statement on the session's connection, bounded in time. */
  async #run<T>(query: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('database session did not answer'), { code: 'CONNECT_TIMEOUT' })), STATEMENT_TIMEOUT_MS);
    });
    try {
      const result = await Promise.race([query(), timeout]);
      this.#observe(undefined);
      return result;
    } catch (err) {
      this.#observe(err);
      if (isUnreachable(err)) {
        // Its locks may be gone with it: the next use starts a new session.
        this.#generation++;
        this.#current = undefined;
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
