/**
 * Store limits, ranking and eviction: spec §7.10, following the reference's store_make_space().
 *
 *   used  = page_size × (page_count − freelist_count) + bytes of payload files
 *   limit = database_size (unlimited if unset); if min_free_space > 0 and the free space F is below
 *           it, limit = max(0, used + F − min_free_space) instead
 *   n ≥ limit (n > 0)                 → 'too-big', nothing evicted
 *   used + n ≤ limit                  → 'ok'
 *   otherwise evict payloads in ascending rank = inserttime − length until the new payload fits;
 *   stop with 'evicted' as soon as the next candidate outranks the new payload
 *   (rank now − 60000 − n), or when nothing is left to evict.
 *
 * F counts the bytes of temporary files of writers still alive as free: they either become the
 * payload being made room for or are deleted, and counting them as used would make a payload look
 * too big once it has been written. Evicting deletes payload rows in one transaction and unlinks
 * their files after it commits (a crash in between leaves orphan files, removed at the next start);
 * manifests stay, and then name a payload the store no longer holds. makeRoom(0) only trims the
 * store back under its limit. Payloads named by pending commits ('stored') are never evicted.
 *
 * Returning free pages to the filesystem (incremental vacuum, spec: "when > 25% of pages are free
 * or the store is over the limit") is deferred to a later event-loop turn, off the request path.
 */
import { statfsSync, unlinkSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { payloadPath, type StoreLayout } from './layout.js';
import { sqlite } from './sqlite-errors.js';
import type { EvictionCandidate, Statements } from './statements.js';
import type { RoomOutcome, StoreOptions } from './types.js';

const NEW_PAYLOAD_PENALTY_MS = 60_000;
const INT64_MIN = -(1n << 63n);

export interface RoomContext {
  readonly db: Database;
  readonly statements: Statements;
  readonly layout: StoreLayout;
  readonly options: StoreOptions;
  readonly now: () => number;
  /** Bytes in temporary files of live writers. */
  readonly tempBytes: () => number;
  /** Hex hashes that pending commits rely on. */
  readonly pinned: () => ReadonlySet<string>;
}

export function usedBytes(ctx: RoomContext): number {
  return sqlite(() => measure(ctx));
}

function measure(ctx: RoomContext): number {
  const pages = ctx.statements.pages.get()!;
  const external = ctx.statements.externalBytes.get()!.total;
  return Number(pages.pageSize * (pages.pageCount - pages.freeCount) + external);
}

function freeSpace(ctx: RoomContext): number {
  const measured = ctx.options.freeSpaceOverride ?? statfsFree(ctx.layout.dir);
  return measured + ctx.tempBytes();
}

function statfsFree(dir: string): number {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return Number.POSITIVE_INFINITY; // As the reference: no measurement, no free-space limit.
  }
}

function spaceLimit(ctx: RoomContext, used: number): number {
  const { databaseSize, minFreeSpace } = ctx.options;
  let limit = databaseSize === undefined ? Number.POSITIVE_INFINITY : Number(databaseSize);
  if (minFreeSpace > 0n) {
    const free = freeSpace(ctx);
    const min = Number(minFreeSpace);
    if (free < min) limit = Math.max(0, used + free - min);
  }
  return limit;
}

export function makeRoom(ctx: RoomContext, n: number, scheduleVacuum: () => void): RoomOutcome {
  if (!(n >= 0)) throw new RangeError(`makeRoom: invalid length ${n}`);
  if (ctx.options.databaseSize === undefined && ctx.options.minFreeSpace === 0n) return 'ok';
  return sqlite(() => {
    let used = measure(ctx);
    const limit = spaceLimit(ctx, used);
    if (n > 0 && n >= limit) return 'too-big';
    if (used > limit || vacuumWorthwhile(ctx)) scheduleVacuum();
    if (used + n <= limit) return 'ok';

    const newRank = BigInt(Math.trunc(ctx.now() - NEW_PAYLOAD_PENALTY_MS - n));
    const pinned = ctx.pinned();
    const evicted: Buffer[] = [];
    ctx.db
      .transaction(() => {
        let after: { rank: bigint; hash: Buffer } = { rank: INT64_MIN, hash: Buffer.alloc(0) };
        for (;;) {
          const batch: EvictionCandidate[] = ctx.statements.candidates.all(after);
          if (batch.length === 0) return;
          for (const c of batch) {
            if (used + n <= limit) return;
            if (n > 0 && newRank < c.rank) return;
            after = { rank: c.rank, hash: c.hash };
            if (pinned.has(c.hash.toString('hex'))) continue;
            ctx.statements.deletePayload.run(c.hash);
            if (c.external === 1n) evicted.push(c.hash);
            used = measure(ctx);
          }
        }
      })
      .immediate();
    for (const hash of evicted) unlinkQuietly(payloadPath(ctx.layout, hash));
    if (evicted.length > 0) scheduleVacuum();
    return used + n <= limit ? 'ok' : 'evicted';
  });
}

/** More than a quarter of the database pages free (the reference's test, +1 for tiny files). */
export function vacuumWorthwhile(ctx: RoomContext): boolean {
  const pages = ctx.statements.pages.get()!;
  return pages.freeCount > pages.pageCount / 4n + 1n;
}

/** Returns free pages to the filesystem; cheap, since the database uses auto_vacuum=INCREMENTAL. */
export function incrementalVacuum(ctx: RoomContext): void {
  if (vacuumWorthwhile(ctx)) ctx.db.exec('PRAGMA incremental_vacuum');
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or left for the start-up sweep: no row names it any more.
  }
}
