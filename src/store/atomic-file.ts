/**
 * Whole-file replacement that survives a crash at any moment: write a temporary file beside the
 * target, fsync it, rename it over the target, then fsync the directory so the rename itself is
 * durable. Readers see either the old file or the new one, never a mixture.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(tmp, 'w', mode);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDirectory(dirname(path));
}

/**
 * Removes the temporary files a writer killed mid-write left beside `path`. Only the process that
 * owns the file (the holder of the instance lock) may call it.
 */
export function removeStaleTemporaries(path: string): number {
  const prefix = `${basename(path)}.tmp-`;
  let removed = 0;
  for (const entry of readdirSync(dirname(path))) {
    if (!entry.startsWith(prefix)) continue;
    unlinkSync(join(dirname(path), entry));
    removed++;
  }
  return removed;
}
