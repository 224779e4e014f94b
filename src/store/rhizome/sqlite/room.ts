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
 *
 * makeRoom runs for every insert, so what it needs is kept rather than measured each time
 * (docs/benchmarks.md: three queries and a statfs per insert): free space comes from a statfs at
 * most once a second (plus the live temporary bytes, counted exactly), and `used` is measured
 * only when a limit applies, then kept until the next write (a group commit, an eviction, an
 * author). Without database_size, and with free space above min_free_space, there is no limit and
 * nothing is measured at all.
 */
import { statfsSync, unlinkSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { payloadPath, type StoreLayout } from './layout.js';
import { sqlite } from './sqlite-errors.js';
import type { EvictionCandidate, Statements } from './statements.js';
import type { RoomOutcome, StoreOptions } from '../types.js';

const NEW_PAYLOAD_PENALTY_MS = 60_000;
const INT64_MIN = -(1n << 63n);
/** How long a statfs result is used. */
const STATFS_MS = 1000;

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

/** What makeRoom keeps between calls: used bytes and the last statfs. */
export class RoomState {
  #used: number | undefined;
  #free = 0;
  #freeAt = Number.NEGATIVE_INFINITY;

  /** The database changed: measure again when next needed. */
  changed(): void {
    this.#used = undefined;
  }

  used(ctx: RoomContext): number {
    this.#used ??= measure(ctx);
    return this.#used;
  }

  /** Free disk space (statfs at most once a second) plus the live temporary bytes. */
  free(ctx: RoomContext): number {
    if (ctx.options.freeSpaceOverride !== undefined) return ctx.options.freeSpaceOverride + ctx.tempBytes();
    const at = performance.now();
    if (at - this.#freeAt >= STATFS_MS) {
      this.#free = statfsFree(ctx.layout.dir);
      this.#freeAt = at;
    }
    return this.#free + ctx.tempBytes();
  }
}

export function usedBytes(ctx: RoomContext, state: RoomState): number {
  return sqlite(() => state.used(ctx));
}

function measure(ctx: RoomContext): number {
  const pages = ctx.statements.pages.get()!;
  const external = ctx.statements.externalBytes.get()!.total;
  return Number(pages.pageSize * (pages.pageCount - pages.freeCount) + external);
}

function statfsFree(dir: string): number {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return Number.POSITIVE_INFINITY; // As the reference: no measurement, no free-space limit.
  }
}

/** The limit, or Infinity; `used` is only asked for when free space sets the limit. */
function spaceLimit(ctx: RoomContext, state: RoomState): number {
  const { databaseSize, minFreeSpace } = ctx.options;
  let limit = databaseSize === undefined ? Number.POSITIVE_INFINITY : Number(databaseSize);
  if (minFreeSpace > 0n) {
    const free = state.free(ctx);
    const min = Number(minFreeSpace);
    if (free < min) limit = Math.max(0, state.used(ctx) + free - min);
  }
  return limit;
}

/** False when no limit applies now: makeRoom() would answer 'ok' without looking further. */
export function limited(ctx: RoomContext, state: RoomState): boolean {
  const { databaseSize, minFreeSpace } = ctx.options;
  if (databaseSize !== undefined) return true;
  return minFreeSpace > 0n && state.free(ctx) < Number(minFreeSpace);
}

export function makeRoom(ctx: RoomContext, state: RoomState, n: number, scheduleVacuum: () => void): RoomOutcome {
  if (!(n >= 0)) throw new RangeError(`makeRoom: invalid length ${n}`);
  if (ctx.options.databaseSize === undefined && ctx.options.minFreeSpace === 0n) return 'ok';
  return sqlite(() => {
    const limit = spaceLimit(ctx, state);
    if (limit === Number.POSITIVE_INFINITY) return 'ok';
    if (n > 0 && n >= limit) return 'too-big';
    let used = state.used(ctx);
    if (used > limit || vacuumWorthwhile(ctx)) scheduleVacuum();
    if (used + n <= limit) return 'ok';

    const newRank = BigInt(Math.trunc(ctx.now() - NEW_PAYLOAD_PENALTY_MS - n));
    const pinned = ctx.pinned();
    const evicted: Buffer[] = [];
    state.changed();
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
