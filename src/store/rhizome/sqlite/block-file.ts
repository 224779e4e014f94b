/**
 * A new file written front to back in large blocks, several at once, for the payload writer.
 *
 * append() copies bytes into a 1 MiB block; a full block is written at its offset on the thread
 * pool without waiting for it, and append() waits only when it needs a fresh block while
 * MAX_IN_FLIGHT writes are still running. So the caller's next bytes are hashed while earlier
 * blocks reach the page cache, memory stays at MAX_IN_FLIGHT + 1 blocks, and backpressure still
 * reaches the caller. Every SYNC_EVERY written bytes an fdatasync runs in the background, so that
 * the fsync of finish() only has the tail left to flush (on the benchmark VM a 64 MiB fsync
 * takes ~30 ms, docs/benchmarks.md).
 *
 * A failed write (ENOSPC) is remembered and thrown by the next append() or finish().
 */
import { open, type FileHandle } from 'node:fs/promises';

const BLOCK = 1024 * 1024;
const MAX_IN_FLIGHT = 4;
const SYNC_EVERY = 8 * 1024 * 1024;

export class BlockFile {
  readonly #file: FileHandle;
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

  private constructor(file: FileHandle) {
    this.#file = file;
  }

  /** Creates `path` (it must not exist), owner-only. */
  static async create(path: string): Promise<BlockFile> {
    return new BlockFile(await open(path, 'wx', 0o600));
  }

  /** Takes a copy of `chunk`: the caller may reuse it once this resolves. */
  async append(chunk: Buffer): Promise<void> {
    this.#check();
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#block === undefined) {
        while (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight);
        this.#check();
        this.#block = this.#spare.pop() ?? Buffer.allocUnsafeSlow(BLOCK);
      }
      const copied = chunk.copy(this.#block, this.#used, offset);
      this.#used += copied;
      offset += copied;
      if (this.#used === BLOCK) this.#dispatch();
    }
  }

  /** Writes what is left, waits for every write, fsyncs and closes the file. */
  async finish(): Promise<void> {
    this.#check();
    if (this.#used > 0) this.#dispatch();
    await this.#settle();
    this.#check();
    await this.#file.sync();
    await this.close();
  }

  /** Closes the file once no write is running (idempotent; errors are ignored). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#settle();
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
    const done: Promise<void> = writeAll(this.#file, block, length, position).then(
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
