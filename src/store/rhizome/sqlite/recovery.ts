/**
 * Start-up recovery: brings the files back in line with the database after a crash at any moment.
 *
 * The database is the truth (SQLite has already rolled back anything uncommitted); files are
 * written before the transaction that names them and deleted after the one that stops naming
 * them, so after a crash the only possible disagreements are extra files, which go:
 *   - everything in tmp/ (payloads being written: never acknowledged);
 *   - payload rows no manifest names (cannot happen by the commit path, which removes them in the
 *     same transaction; swept anyway so no orphan payload is ever visible);
 *   - payload files no row names (renamed before a transaction that never committed, or left when
 *     a crash came between a commit and its unlinks), and anything in a fan-out directory that is
 *     not a payload file.
 * One more, for damage done from outside: a row whose file is missing or has the wrong size names
 * a payload the store no longer holds; the row goes (its manifest stays, like after an eviction)
 * so payloadLength() and readPayload() answer "not held" instead of failing later.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { FANOUTS, fsyncDirectory, PAYLOAD_NAME_RE, type StoreLayout } from './layout.js';

export interface RecoveryReport {
  readonly tmpEntries: number;
  readonly unreferencedRows: number;
  readonly orphanFiles: number;
  readonly lostPayloads: number;
}

export function recover(db: Database, layout: StoreLayout): RecoveryReport {
  const tmpEntries = clearDirectory(layout.tmpDir);
  ensureFanouts(layout);

  const unreferenced = db
    .prepare<[], { hash: Buffer }>(
      'SELECT hash FROM payloads WHERE NOT EXISTS (SELECT 1 FROM manifests WHERE filehash = payloads.hash)',
    )
    .all()
    .map((r) => r.hash);
  deleteRows(db, unreferenced);

  const expected = new Map<string, bigint>();
  for (const row of db.prepare<[], { hash: Buffer; length: bigint }>('SELECT hash, length FROM payloads WHERE data IS NULL').iterate()) {
    expected.set(row.hash.toString('hex'), row.length);
  }
  let orphanFiles = 0;
  for (const fanout of FANOUTS) {
    const dir = join(layout.payloadsDir, fanout);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const want = PAYLOAD_NAME_RE.test(name) && name.startsWith(fanout) ? expected.get(name) : undefined;
      if (want !== undefined && isFileOfSize(path, want)) {
        expected.delete(name);
        continue;
      }
      rmSync(path, { recursive: true, force: true });
      orphanFiles++;
    }
  }
  // What is left in `expected` has no usable file.
  deleteRows(db, [...expected.keys()].map((hex) => Buffer.from(hex, 'hex')));

  return { tmpEntries, unreferencedRows: unreferenced.length, orphanFiles, lostPayloads: expected.size };
}

function deleteRows(db: Database, hashes: readonly Buffer[]): void {
  if (hashes.length === 0) return;
  const remove = db.prepare<[Buffer]>('DELETE FROM payloads WHERE hash = ?');
  db.transaction(() => {
    for (const hash of hashes) remove.run(hash);
  }).immediate();
}

function isFileOfSize(path: string, size: bigint): boolean {
  const stats = statSync(path, { bigint: true, throwIfNoEntry: false });
  return stats !== undefined && stats.isFile() && stats.size === size;
}

function clearDirectory(dir: string): number {
  const names = readdirSync(dir);
  for (const name of names) rmSync(join(dir, name), { recursive: true, force: true });
  return names.length;
}

/** All 256 fan-out directories exist, durably, so a commit never has to create one. */
function ensureFanouts(layout: StoreLayout): void {
  let created = false;
  for (const fanout of FANOUTS) {
    if (mkdirSync(join(layout.payloadsDir, fanout), { recursive: true, mode: 0o700 }) !== undefined) created = true;
  }
  if (created) fsyncDirectory(layout.payloadsDir);
}
