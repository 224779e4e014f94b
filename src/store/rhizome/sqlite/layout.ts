/**
 * Where the store keeps things on disk, and the one durability primitive it needs.
 *
 *   DIR/rhizome.db            SQLite database (WAL): manifests, payload rows, store UUID
 *   DIR/payloads/ab/ab…       payload files named by their SHA-512 (128 lowercase hex), fanned out
 *                             by the first two hex digits so no directory grows huge
 *   DIR/tmp/…                 payloads being written; everything here is garbage after a restart
 *
 * Files are content-addressed, so a name can only ever hold one content: renaming a finished
 * temporary file over an existing payload file is harmless, and deduplication is a lookup.
 * tmp/ sits inside DIR so that rename() never crosses a filesystem.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { join } from 'node:path';

export interface StoreLayout {
  readonly dir: string;
  readonly dbFile: string;
  readonly payloadsDir: string;
  readonly tmpDir: string;
}

export function storeLayout(dir: string): StoreLayout {
  return {
    dir,
    dbFile: join(dir, 'rhizome.db'),
    payloadsDir: join(dir, 'payloads'),
    tmpDir: join(dir, 'tmp'),
  };
}

export const HASH_BYTES = 64;
export const PAYLOAD_NAME_RE = /^[0-9a-f]{128}$/;
export const FANOUT_RE = /^[0-9a-f]{2}$/;

/** The 256 fan-out directory names, 00 … ff. */
export const FANOUTS: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function fanoutDir(layout: StoreLayout, hash: Buffer): string {
  return join(layout.payloadsDir, hash.toString('hex', 0, 1));
}

export function payloadPath(layout: StoreLayout, hash: Buffer): string {
  return join(fanoutDir(layout, hash), hash.toString('hex'));
}

/** Makes the entries of a directory (creations, renames) durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
