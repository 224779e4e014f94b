/**
 * Whole-file replacement that survives a crash at any moment: write a temporary file beside the
 * target, fsync it, rename it over the target, then fsync the directory so the rename itself is
 * durable. Readers see either the old file or the new one, never a mixture.
 *
 * It is also how files of secrets are written (keyring, tokens, config, `keyring dump --secret`):
 * the temporary file is created new (O_EXCL), never through a link (O_NOFOLLOW), with its mode set
 * before the first byte; the rename then replaces whatever the target was — a file readable by
 * others, a link — without following it or reusing its inode, which someone may hold open.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): void {
  // Unpredictable, so no one can lay a file or link in its place beforehand.
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(tmp, CREATE_NEW, mode);
  try {
    // The umask may have taken bits from the mode given to open: set it exactly.
    fchmodSync(fd, mode);
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
