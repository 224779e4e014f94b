/**
 * Deleting the blobs nobody will use any more, on whichever node gets there first:
 *
 *   - pending blobs (being written) of a session that is gone: their writer's node died or lost
 *     the database, and with its connection the session's lock went; taking that lock proves it;
 *   - doomed blobs (their payload was replaced or evicted), once no download holds them: readers
 *     hold a shared lock on the blob, so an exclusive one proves there are none.
 *
 * Each deletion is its own short transaction with a transaction-level lock (released at once).
 * The sweep runs when the store opens, after commits and evictions that doomed something (on a
 * later turn, off the request path), and every SWEEP_EVERY_MS, which also retries blobs that
 * were still being read.
 */
import type { Logger } from '../../../log.js';
import type { Database } from '../../postgres/database.js';

const SWEEP_EVERY_MS = 30_000;
/** Rows still in use (an upload's COPY holding its blob): give up on them until the next sweep. */
const LOCK_TIMEOUT = '1s';
const BATCH = 100;

export class Sweeper {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(db: Database, log: Logger) {
    this.#db = db;
    this.#log = log;
    this.#timer = setInterval(() => this.soon(), SWEEP_EVERY_MS);
    this.#timer.unref();
  }

  /** Sweeps on a later turn (once, however often it is asked meanwhile). */
  soon(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        await this.sweep();
      })
      .catch((err: unknown) => this.#log.debug({ err }, 'blob sweep failed; retried later'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.soon();
        }
      });
  }

  /** One sweep now; resolves with how many blobs it deleted. */
  async sweep(): Promise<number> {
    const { sql, session } = this.#db;
    const mine = (await session.key()).toString();
    let deleted = 0;
    const sessions = await sql<Array<{ session: bigint }>>`
      SELECT DISTINCT session FROM rhizome_blobs WHERE state = 0 AND session <> ${mine}::bigint`;
    for (const { session: key } of sessions) {
      deleted += await skipBusy(sql.begin(async (tx) => {
        await tx.unsafe(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
        const [lock] = await tx<Array<{ free: boolean }>>`SELECT pg_try_advisory_xact_lock(${key.toString()}::bigint) AS free`;
        if (!lock!.free) return 0; // that node is alive and may still finish its upload
        return (await tx`DELETE FROM rhizome_blobs WHERE state = 0 AND session = ${key.toString()}::bigint`).count;
      }));
    }
    const doomed = await sql<Array<{ id: bigint }>>`SELECT id FROM rhizome_blobs WHERE state = 2 LIMIT ${BATCH}`;
    for (const { id } of doomed) {
      deleted += await skipBusy(sql.begin(async (tx) => {
        await tx.unsafe(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
        const [lock] = await tx<Array<{ free: boolean }>>`SELECT pg_try_advisory_xact_lock(${id.toString()}::bigint) AS free`;
        if (!lock!.free) return 0; // still being read
        return (await tx`DELETE FROM rhizome_blobs WHERE id = ${id.toString()}::bigint AND state = 2`).count;
      }));
    }
    if (doomed.length === BATCH) this.#again = true;
    return deleted;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}

/** A deletion that met a lock (an upload still holding the blob) is left for the next sweep. */
async function skipBusy(deletion: Promise<number>): Promise<number> {
  try {
    return await deletion;
  } catch (err) {
    if ((err as { code?: unknown }).code === '55P03') return 0;
    throw err;
  }
}
