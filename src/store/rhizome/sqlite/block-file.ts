/**
 * A new file written front to back in large blocks, several at once, for the payload writer, and
 * hashed (SHA-512) on the way.
 *
 * append() copies bytes into a 1 MiB block of shared memory; a full block is written at its
 * offset on the thread pool and hashed on the hash thread (hash-thread.ts), without waiting for
 * either, and append() waits only when it needs a fresh block while MAX_IN_FLIGHT blocks are still
 * out. So the caller's next bytes arrive while earlier blocks are hashed and reach the page cache,
 * memory stays at MAX_IN_FLIGHT + 1 blocks, and backpressure still reaches the caller. Every SYNC_EVERY written bytes an fdatasync runs in the background, so that
 * the fsync of finish() only has the tail left to flush (on the benchmark VM a 64 MiB fsync
 * takes ~30 ms, docs/benchmarks.md).
 *
 * A failed write (ENOSPC) is remembered and thrown by the next append() or finish().
 */
import { open, type FileHandle } from 'node:fs/promises';
import { sharedBlock, type ThreadHash } from './hash-thread.js';

const BLOCK = 1024 * 1024;
const MAX_IN_FLIGHT = 4;
const SYNC_EVERY = 8 * 1024 * 1024;

export class BlockFile {
  readonly #file: FileHandle;
  readonly #hash: ThreadHash;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #spare: Buffer[] = [];
  #block: Buffer | undefined;
  #used = 0;
  /** File offset of the current block. */
  #position = 0;
  #unsynced = 0;
  #syncing: Promise<void> | undefined;
  #error: Error | undefined;
  #closed = false;

  private constructor(file: FileHandle, hash: ThreadHash) {
    this.#file = file;
    this.#hash = hash;
  }

  /** Creates `path` (it must not exist), owner-only; its bytes go through `hash`. */
  static async create(path: string, hash: ThreadHash): Promise<BlockFile> {
    return new BlockFile(await open(path, 'wx', 0o600), hash);
  }

  /** Takes a copy of `chunk`: the caller may reuse it once this resolves. */
  async append(chunk: Buffer): Promise<void> {
    this.#check();
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#block === undefined) {
        while (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight);
        this.#check();
        this.#block = this.#spare.pop() ?? sharedBlock(BLOCK);
      }
      const copied = chunk.copy(this.#block, this.#used, offset);
      this.#used += copied;
      offset += copied;
      if (this.#used === BLOCK) this.#dispatch();
    }
  }

  /** Writes what is left, waits for every write, fsyncs and closes the file; the SHA-512 of it all. */
  async finish(): Promise<Buffer> {
    this.#check();
    if (this.#used > 0) this.#dispatch();
    await this.#settle();
    this.#check();
    await this.#file.sync();
    const digest = await this.#hash.digest();
    await this.close();
    return digest;
  }

  /** Closes the file once no write is running (idempotent; errors are ignored). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#settle();
    this.#hash.abort();
    this.#block = undefined;
    this.#spare.length = 0;
    await this.#file.close().catch(() => undefined);
  }

  #check(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#closed) throw new Error('payload file closed');
  }

  async #settle(): Promise<void> {
    while (this.#inFlight.size > 0 || this.#syncing !== undefined) {
      await Promise.allSettled([...this.#inFlight, this.#syncing]);
    }
  }

  #dispatch(): void {
    const block = this.#block!;
    const length = this.#used;
    const position = this.#position;
    this.#block = undefined;
    this.#used = 0;
    this.#position += length;
    const done: Promise<void> = Promise.all([writeAll(this.#file, block, length, position), this.#hash.update(block, length)]).then(
      () => {
        this.#inFlight.delete(done);
        this.#spare.push(block);
        this.#unsynced += length;
        if (this.#unsynced >= SYNC_EVERY && this.#syncing === undefined && !this.#closed) this.#startSync();
      },
      (err: unknown) => {
        this.#inFlight.delete(done);
        this.#error ??= asError(err);
      },
    );
    this.#inFlight.add(done);
  }

  #startSync(): void {
    this.#unsynced = 0;
    this.#syncing = this.#file.datasync().then(
      () => {
        this.#syncing = undefined;
      },
      (err: unknown) => {
        this.#syncing = undefined;
        this.#error ??= asError(err);
      },
    );
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

async function writeAll(file: FileHandle, block: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await file.write(block, done, length - done, position + done);
    done += bytesWritten;
  }
}
