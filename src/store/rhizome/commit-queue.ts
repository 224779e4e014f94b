/**
 * Group commit: every commit() made during one event-loop turn is stored by a single transaction
 * in the next (setImmediate), so concurrent inserts share one WAL fsync and one directory fsync.
 * Each commit still gets its own outcome: it runs in its own savepoint, and a failing one is
 * rolled back and refused alone.
 *
 * A flush, entirely synchronous (nothing else can touch the store meanwhile):
 *   1. Payload files first. A finished writer's temporary file (already fsync'd by finish()) is
 *      renamed to payloads/xx/<hash> unless the store already holds that hash (then it is
 *      dedupe: the temporary file is dropped later); each fan-out directory touched is fsync'd.
 *      Only now is the payload durable under its final name.
 *   2. One IMMEDIATE transaction: per commit, compare versions with what is stored (so the
 *      highest version wins whatever the order of arrival), delete the replaced row, insert the
 *      payload row (inline bytes, or NULL for a file) if new, insert the manifest row (a fresh,
 *      higher row id). Then delete the payload rows no manifest references any more.
 *      synchronous=FULL: when COMMIT returns the transaction is on disk.
 *   3. After COMMIT: unlink payload files no row names (replaced payloads; files renamed for a
 *      commit that turned out OLD or SAME), drop deduplicated temporary files, settle the
 *      promises, then tell subscribers.
 * A crash before 2 leaves files no row names; during 2, SQLite rolls back; after 2, orphan files:
 * open.ts sweeps all of them at the next start. If the transaction fails (RHIZOME_BUSY when
 * another process holds the database past the busy timeout), renamed files go back to their
 * temporary names, so the writers are as before and the commit can be retried.
 */
import { mkdirSync, renameSync, unlinkSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { bundleParams, rowToBundle } from './bundle-row.js';
import { fanoutDir, fsyncDirectory, payloadPath, type StoreLayout } from './layout.js';
import type { QueuedPayload } from './commit-payload.js';
import { translateSqliteError } from './sqlite-errors.js';
import type { Statements } from './statements.js';
import type { CommitOutcome, NewBundle, StoredBundle } from './types.js';

interface Pending {
  readonly bundle: NewBundle;
  readonly payload: QueuedPayload;
  readonly resolve: (outcome: CommitOutcome) => void;
  readonly reject: (err: unknown) => void;
}

/** A pending commit after step 1: what its payload row will be, if it needs one. */
interface Prepared {
  readonly pending: Pending;
  readonly row: { readonly hash: Buffer; readonly length: number; readonly data: Buffer | null } | undefined;
  /** Set when this commit's temporary file was renamed into payloads/. */
  renamed?: { readonly from: string; readonly to: string };
  result?: { ok: true; outcome: CommitOutcome } | { ok: false; error: unknown };
}

export interface CommitContext {
  readonly db: Database;
  readonly statements: Statements;
  readonly layout: StoreLayout;
  readonly now: () => number;
  readonly notify: (bundle: StoredBundle) => void;
  /** Payload rows were deleted: a vacuum may be worthwhile. */
  readonly payloadsDeleted: () => void;
}

export class CommitQueue {
  readonly #ctx: CommitContext;
  #queue: Pending[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(ctx: CommitContext) {
    this.#ctx = ctx;
  }

  enqueue(bundle: NewBundle, payload: QueuedPayload): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ bundle, payload, resolve, reject });
      this.#scheduled ??= setImmediate(() => this.#flush());
    });
  }

  /** Hex hashes of payloads that queued commits expect the store to keep. */
  pinned(): Set<string> {
    const pins = new Set<string>();
    for (const p of this.#queue) if (p.payload.kind === 'stored') pins.add(p.payload.hash.toString('hex'));
    return pins;
  }

  /** Refuses whatever is still queued (the store is closing). */
  close(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    for (const p of this.#queue.splice(0)) p.reject(new Error('Rhizome store closed'));
  }

  #flush(): void {
    this.#scheduled = undefined;
    const batch = this.#queue.splice(0);
    const prepared: Prepared[] = [];
    const placed = new Set<string>();
    const dirs = new Set<string>();
    for (const pending of batch) {
      try {
        prepared.push(this.#placePayload(pending, placed, dirs));
      } catch (err) {
        pending.reject(translateSqliteError(err));
      }
    }
    let deleted: Buffer[];
    try {
      for (const dir of dirs) fsyncDirectory(dir);
      deleted = this.#transaction(prepared);
    } catch (err) {
      for (const p of prepared) if (p.renamed) renameQuietly(p.renamed.to, p.renamed.from);
      const error = translateSqliteError(err);
      for (const p of prepared) p.pending.reject(error);
      return;
    }
    this.#afterCommit(prepared, deleted);
  }

  /** Step 1 for one commit. */
  #placePayload(pending: Pending, placed: Set<string>, dirs: Set<string>): Prepared {
    const { payload } = pending;
    if (payload.kind === 'none') return { pending, row: undefined };
    if (payload.kind === 'stored') return { pending, row: undefined };
    const handoff = payload.writer.handoff();
    if (handoff === undefined) throw new Error('payload writer was aborted or its payload is gone');
    const { hash, length } = payload;
    if (handoff.kind === 'inline') return { pending, row: { hash, length, data: handoff.data } };
    const row = { hash, length, data: null };
    const hex = hash.toString('hex');
    if (placed.has(hex) || this.#ctx.statements.payload.get(hash) !== undefined) return { pending, row };
    const to = payloadPath(this.#ctx.layout, hash);
    const dir = fanoutDir(this.#ctx.layout, hash);
    // open.ts makes all 256 fan-out directories; one that vanished is made again, durably.
    if (mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined) dirs.add(this.#ctx.layout.payloadsDir);
    renameSync(handoff.path, to);
    placed.add(hex);
    dirs.add(dir);
    return { pending, row, renamed: { from: handoff.path, to } };
  }

  /** Step 2. Returns the hashes of the payload rows it deleted. */
  #transaction(prepared: Prepared[]): Buffer[] {
    const { db, statements } = this.#ctx;
    const released = new Map<string, Buffer>();
    const deleted: Buffer[] = [];
    const applyOne = db.transaction((p: Prepared) => this.#apply(p, released));
    db.transaction(() => {
      for (const p of prepared) {
        try {
          p.result = { ok: true, outcome: applyOne(p) };
        } catch (err) {
          p.result = { ok: false, error: translateSqliteError(err) };
        }
      }
      for (const hash of released.values()) {
        if (statements.referenced.get(hash) !== undefined) continue;
        if (statements.deletePayload.run(hash).changes > 0) deleted.push(hash);
      }
    }).immediate();
    return deleted;
  }

  /** One commit inside its savepoint. `released` collects hashes its replacement may orphan. */
  #apply(p: Prepared, released: Map<string, Buffer>): CommitOutcome {
    const { statements, now } = this.#ctx;
    const { bundle, payload } = p.pending;
    const storedRow = statements.bundleByBid.get(bundle.bid);
    if (storedRow !== undefined) {
      const stored = rowToBundle(storedRow);
      if (bundle.version < stored.version) return { kind: 'old', bundle: stored };
      if (bundle.version === stored.version) return { kind: 'same', bundle: stored };
      statements.deleteBundle.run(storedRow.id);
      if (stored.filehash !== undefined) released.set(stored.filehash.toString('hex'), stored.filehash);
    }
    const inserttime = now();
    if (payload.kind === 'stored' && statements.payload.get(payload.hash) === undefined) {
      throw new Error('payload no longer held by the store (evicted)');
    }
    if (p.row !== undefined && statements.payload.get(p.row.hash) === undefined) {
      statements.insertPayload.run(p.row.hash, p.row.length, inserttime, p.row.data);
    }
    const info = statements.insertBundle.run(bundleParams(bundle, inserttime));
    return { kind: 'new', bundle: rowToBundle(statements.bundleById.get(info.lastInsertRowid)!) };
  }

  /** Step 3. */
  #afterCommit(prepared: Prepared[], deleted: Buffer[]): void {
    const { statements, layout } = this.#ctx;
    // Files that may have lost (or never got) their row: unlinked unless a row names them.
    const candidates = new Map<string, Buffer>(deleted.map((hash) => [hash.toString('hex'), hash]));
    for (const p of prepared) {
      const { payload } = p.pending;
      if (payload.kind !== 'written') continue;
      payload.writer.stored(p.renamed !== undefined);
      if (p.renamed !== undefined) candidates.set(payload.hash.toString('hex'), payload.hash);
    }
    for (const hash of candidates.values()) {
      if (statements.payload.get(hash) === undefined) unlinkQuietly(payloadPath(layout, hash));
    }
    if (deleted.length > 0) this.#ctx.payloadsDeleted();
    for (const p of prepared) {
      if (p.result === undefined) p.pending.reject(new Error('commit not attempted'));
      else if (p.result.ok) p.pending.resolve(p.result.outcome);
      else p.pending.reject(p.result.error);
    }
    for (const p of prepared) {
      if (p.result?.ok === true && p.result.outcome.kind === 'new') this.#ctx.notify(p.result.outcome.bundle);
    }
  }
}

function renameQuietly(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    unlinkQuietly(from);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or left for the start-up sweep.
  }
}
