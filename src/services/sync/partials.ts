/**
 * Payloads received in part (docs/sync.md §6.4): the bytes of a large transfer are also written
 * to `INSTANCE/sync/partial/`, so that a transfer cut short — the link broke, a node was killed —
 * resumes where it stopped instead of at byte 0, from whichever peer offers the bundle next. The
 * file is named for the bundle version and payload hash it belongs to; its bytes are checked only
 * by the import's SHA-512 at the end, so a damaged file costs a retry from 0, never a bad bundle.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** Payloads at least this large are kept while they arrive. */
export const PARTIAL_MIN = 1024 * 1024;
/** Partial files older than this are removed at start-up. */
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** At most this many partial files are kept; the oldest go first. */
const MAX_FILES = 16;

export interface PartialKey {
  readonly bid: Buffer;
  readonly version: bigint;
  readonly filehash: Buffer;
}

export class Partials {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#sweep(MAX_AGE_MS);
  }

  #path(k: PartialKey): string {
    return join(this.#dir, `${k.bid.toString('hex')}-${k.version}-${k.filehash.toString('hex').slice(0, 32)}`);
  }

  /** Bytes held from an earlier transfer of this payload (0 if none). */
  async held(k: PartialKey): Promise<number> {
    try {
      return (await stat(this.#path(k))).size;
    } catch {
      return 0;
    }
  }

  /** The first `length` held bytes. */
  read(k: PartialKey, length: number): Readable {
    return createReadStream(this.#path(k), { start: 0, end: length - 1, highWaterMark: 256 * 1024 });
  }

  /** A file to append to (`fresh`: started anew). */
  async writer(k: PartialKey, fresh: boolean): Promise<FileHandle> {
    if (fresh) this.#sweep(MAX_AGE_MS, MAX_FILES - 1);
    return open(this.#path(k), fresh ? 'w' : 'a', 0o600);
  }

  async remove(k: PartialKey): Promise<void> {
    await unlink(this.#path(k)).catch(() => undefined);
  }

  /** Drops files older than `maxAgeMs`, and the oldest beyond `keep`. */
  #sweep(maxAgeMs: number, keep = MAX_FILES): void {
    try {
      const files = readdirSync(this.#dir)
        .map((name) => ({ path: join(this.#dir, name), mtime: statSync(join(this.#dir, name)).mtimeMs }))
        .sort((a, b) => b.mtime - a.mtime);
      files.forEach((f, i) => {
        if (i >= keep || Date.now() - f.mtime > maxAgeMs) rmSync(f.path, { force: true });
      });
    } catch {
      // Only disk space is at stake.
    }
  }
}
