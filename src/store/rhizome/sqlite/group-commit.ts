/**
 * One group commit, synchronously, on the commit writer's connection (commit-writer.ts). Every
 * commit gets its own outcome: it runs in its own savepoint, and a failing one is rolled back and
 * refused alone.
 *
 *   1. Payload files first. A finished writer's temporary file (already fsync'd by finish()) is
 *      renamed to payloads/xx/<hash> unless the store already holds that hash (then it is
 *      dedupe: the temporary file is dropped later by its writer); each fan-out directory touched
 *      is fsync'd. Only now is the payload durable under its final name.
 *   2. One IMMEDIATE transaction: per commit, compare versions with what is stored (so the
 *      highest version wins whatever the order of arrival), check that a payload named by hash
 *      is still held, delete the replaced row, insert the payload row (inline bytes, or NULL for a
 *      file) unless that hash is already there, insert the manifest row (a fresh, higher row id).
 *      Then delete the payload rows no manifest references any more. synchronous=FULL: when
 *      COMMIT returns the transaction is on disk.
 *   3. After COMMIT: unlink payload files no row names (replaced payloads; files renamed for a
 *      commit that turned out OLD or SAME).
 * A crash before 2 leaves files no row names; during 2, SQLite rolls back; after 2, orphan files:
 * open.ts sweeps all of them at the next start. If the transaction fails (RHIZOME_BUSY when
 * another process holds the database past the busy timeout), renamed files go back to their
 * temporary names, so the writers are as before and the commits can be retried.
 */
import { mkdirSync, renameSync, unlinkSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { bundleParams, rowToBundle } from './bundle-row.js';
import type { WireCommit } from './commit-codec.js';
import { toWireError, type FromWriter, type WireResult } from './commit-wire.js';
import { fanoutDir, fsyncDirectory, payloadPath, type StoreLayout } from './layout.js';
import type { Statements } from './statements.js';
import type { NewBundle } from '../types.js';

interface Prepared {
  readonly bundle: NewBundle;
  readonly stored: Buffer | undefined;
  /** The payload row this commit adds unless its hash is already there. */
  readonly row: { readonly hash: Buffer; readonly length: number; readonly data: Buffer | null } | undefined;
  /** Set when this commit's temporary file was renamed into payloads/. */
  renamed?: { readonly from: string; readonly to: string };
  result?: WireResult;
}

export interface GroupContext {
  readonly db: Database;
  readonly statements: Statements;
  readonly layout: StoreLayout;
}

export function groupCommit(ctx: GroupContext, items: readonly WireCommit[]): FromWriter {
  const prepared: Prepared[] = [];
  const placed = new Set<string>();
  const dirs = new Set<string>();
  let deleted: Buffer[];
  for (const item of items) {
    try {
      prepared.push(placePayload(ctx, item, placed, dirs));
    } catch (err) {
      // Refused alone (a failed rename): the others go on.
      prepared.push({ bundle: item.bundle, stored: undefined, row: undefined, result: { ok: false, error: toWireError(err) } });
    }
  }
  try {
    for (const dir of dirs) fsyncDirectory(dir);
    deleted = transaction(ctx, prepared, items);
  } catch (err) {
    for (const p of prepared) if (p.renamed) renameQuietly(p.renamed.to, p.renamed.from);
    return { type: 'failed', error: toWireError(err) };
  }
  // Committed: from here on nothing may turn the group into a failure.
  try {
    // Step 3: files that may have lost (or never got) their row go unless a row names them.
    const candidates = new Map<string, Buffer>(deleted.map((hash) => [hash.toString('hex'), hash]));
    for (const p of prepared) if (p.renamed !== undefined) candidates.set(p.row!.hash.toString('hex'), p.row!.hash);
    for (const hash of candidates.values()) {
      if (ctx.statements.payload.get(hash) === undefined) unlinkQuietly(payloadPath(ctx.layout, hash));
    }
  } catch {
    // An orphan file is swept at the next start.
  }
  return {
    type: 'done',
    results: prepared.map((p) => p.result ?? { ok: false, error: { message: 'commit not attempted', name: 'Error' } }),
    renamed: prepared.map((p) => p.renamed !== undefined),
    deleted: deleted.length,
  };
}

/** Step 1 for one commit. */
function placePayload(ctx: GroupContext, item: WireCommit, placed: Set<string>, dirs: Set<string>): Prepared {
  const bundle = item.bundle;
  const { payload } = item;
  switch (payload.kind) {
    case 'none':
      return { bundle, stored: undefined, row: undefined };
    case 'stored':
      return { bundle, stored: payload.hash, row: undefined };
    case 'inline':
      return { bundle, stored: undefined, row: { hash: payload.hash, length: payload.length, data: payload.data } };
    case 'file':
      break;
  }
  const { hash } = payload;
  const row = { hash, length: payload.length, data: null };
  const hex = hash.toString('hex');
  if (placed.has(hex) || ctx.statements.payload.get(hash) !== undefined) return { bundle, stored: undefined, row };
  const to = payloadPath(ctx.layout, hash);
  const dir = fanoutDir(ctx.layout, hash);
  // open.ts makes all 256 fan-out directories; one that vanished is made again, durably.
  if (mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined) dirs.add(ctx.layout.payloadsDir);
  renameSync(payload.path, to);
  placed.add(hex);
  dirs.add(dir);
  return { bundle, stored: undefined, row, renamed: { from: payload.path, to } };
}

/** Step 2. Returns the hashes of the payload rows it deleted. */
function transaction(ctx: GroupContext, prepared: Prepared[], items: readonly WireCommit[]): Buffer[] {
  const { db, statements } = ctx;
  const released = new Map<string, Buffer>();
  const deleted: Buffer[] = [];
  const applyOne = db.transaction((p: Prepared, inserttime: number) => apply(statements, p, inserttime, released));
  db.transaction(() => {
    prepared.forEach((p, i) => {
      if (p.result !== undefined) return;
      try {
        p.result = applyOne(p, items[i]!.inserttime);
      } catch (err) {
        p.result = { ok: false, error: toWireError(err) };
      }
    });
    for (const hash of released.values()) {
      if (statements.referenced.get(hash) !== undefined) continue;
      if (statements.deletePayload.run(hash).changes > 0) deleted.push(hash);
    }
  }).immediate();
  return deleted;
}

/** One commit inside its savepoint. `released` collects hashes its replacement may orphan. */
function apply(statements: Statements, p: Prepared, inserttime: number, released: Map<string, Buffer>): WireResult {
  const bundle = p.bundle;
  const storedRow = statements.bundleByBid.get(bundle.bid);
  if (storedRow !== undefined) {
    const stored = rowToBundle(storedRow);
    if (bundle.version < stored.version) return { ok: true, kind: 'old', row: storedRow };
    if (bundle.version === stored.version) return { ok: true, kind: 'same', row: storedRow };
    statements.deleteBundle.run(storedRow.id);
    if (stored.filehash !== undefined) released.set(stored.filehash.toString('hex'), stored.filehash);
  }
  if (p.stored !== undefined && statements.payload.get(p.stored) === undefined) {
    throw new Error('payload no longer held by the store (evicted)');
  }
  // One statement: the row is added only if no other commit stored this hash first.
  const payloadAdded = p.row !== undefined && statements.insertPayload.run(p.row.hash, p.row.length, inserttime, p.row.data).changes > 0;
  const info = statements.insertBundle.run(bundleParams(bundle, inserttime));
  return { ok: true, kind: 'new', rowid: Number(info.lastInsertRowid), payloadAdded };
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
