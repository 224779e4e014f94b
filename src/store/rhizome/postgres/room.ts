/**
 * Store limits and eviction in PostgreSQL: the ranking rule of spec §7.10, as the SQLite store
 * applies it (../sqlite/room.ts), against `rhizome.database_size`.
 *
 *   used  = rhizome_usage.bytes: payload bytes plus signed manifest bytes, kept exact by every
 *           commit and eviction in their own transactions (the database's own size counts dead
 *           rows and indexes, and shrinks only when vacuumed: no measure to evict by)
 *   n ≥ limit (n > 0) → 'too-big'; used + n ≤ limit → 'ok'; otherwise payloads go in ascending
 *   rank = inserttime − length until the new one fits, stopping with 'evicted' when the next
 *   candidate outranks the new payload (rank now − 60000 − n).
 *
 * Eviction runs under the commit lock, so it never races another node's commit: a commit that
 * relies on a payload evicted meanwhile finds it gone and is refused alone. rhizome.min_free_space
 * does not apply: the database's disk is the server's, not this node's.
 */
import type { Database } from '../../postgres/database.js';
import { pg } from '../../postgres/errors.js';
import { LOCKS } from '../../postgres/locks.js';
import type { RoomOutcome } from '../types.js';

const NEW_PAYLOAD_PENALTY_MS = 60_000;

interface Candidate {
  readonly hash: Buffer;
  readonly length: bigint;
  readonly rank: bigint;
  readonly blob: bigint | null;
}

export async function usedBytes(db: Database): Promise<number> {
  const [row] = await pg(() => db.sql<Array<{ bytes: bigint }>>`SELECT bytes FROM rhizome_usage`);
  return Number(row?.bytes ?? 0n);
}

export interface RoomRequest {
  readonly n: number;
  readonly limit: number;
  readonly now: number;
  /** Hex hashes this node's queued commits rely on. */
  readonly pinned: ReadonlySet<string>;
  /** How long to wait for the commit lock before RHIZOME_BUSY (ms). */
  readonly busyTimeoutMs: number;
}

/** Returns the outcome, and whether a blob was doomed (the sweeper has work). */
export async function makeRoom(db: Database, req: RoomRequest): Promise<{ outcome: RoomOutcome; doomed: boolean }> {
  const { n, limit } = req;
  if (n > 0 && n >= limit) return { outcome: 'too-big', doomed: false };
  if ((await usedBytes(db)) + n <= limit) return { outcome: 'ok', doomed: false };
  const newRank = BigInt(Math.trunc(req.now - NEW_PAYLOAD_PENALTY_MS - n));
  return pg(() =>
    db.sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL lock_timeout = ${req.busyTimeoutMs}`);
      await tx`SELECT pg_advisory_xact_lock(${LOCKS.commit}::bigint)`;
      const [usage] = await tx<Array<{ bytes: bigint }>>`SELECT bytes FROM rhizome_usage`;
      let used = Number(usage!.bytes);
      let doomed = false;
      let after: { rank: string; hash: Buffer } = { rank: (-(1n << 63n)).toString(), hash: Buffer.alloc(0) };
      const evict = async (): Promise<void> => {
        for (;;) {
          const batch = await tx<Candidate[]>`
            SELECT hash, length, inserttime - length AS rank, blob FROM rhizome_payloads
            WHERE (inserttime - length, hash) > (${after.rank}::bigint, ${after.hash})
            ORDER BY inserttime - length, hash LIMIT 64`;
          if (batch.length === 0) return;
          for (const c of batch) {
            if (used + n <= limit) return;
            if (n > 0 && newRank < c.rank) return;
            after = { rank: c.rank.toString(), hash: c.hash };
            if (req.pinned.has(c.hash.toString('hex'))) continue;
            await tx`DELETE FROM rhizome_payloads WHERE hash = ${c.hash}`;
            if (c.blob !== null) {
              await tx`UPDATE rhizome_blobs SET state = 2 WHERE id = ${c.blob.toString()}::bigint`;
              doomed = true;
            }
            await tx`UPDATE rhizome_usage SET bytes = bytes - ${c.length.toString()}::bigint`;
            used -= Number(c.length);
          }
        }
      };
      await evict();
      return { outcome: used + n <= limit ? ('ok' as const) : ('evicted' as const), doomed };
    }),
  );
}
