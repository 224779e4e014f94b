/**
 * A payload on its way into the store (PayloadWriter in types.ts).
 *
 * Bytes are hashed (SHA-512) as they arrive. Up to `maxBlobSize` bytes stay in memory, because a
 * payload that small becomes a database row; the write that crosses the threshold opens a
 * temporary file in tmp/ and continues there, in coalesced blocks written and hashed on other
 * threads while the next bytes arrive (block-file.ts), so memory stays bounded by the threshold plus a few blocks whatever
 * the payload size, and write() still gives backpressure. finish() fsyncs the file: after it, the
 * bytes are durable and only a rename (done by the commit) separates them from the store.
 *
 * Operations run one after another on an internal promise chain, so a caller that does not await
 * write() still gets its bytes in order. The writer never touches the database; the commit takes
 * the finished bytes through handoff() and tells the writer when they belong to the store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BlockFile } from './block-file.js';
import type { HashChannel } from './hash-thread.js';
import { spent } from './spent-buffers.js';
import type { FinishedPayload, PayloadWriter } from '../types.js';

/** What a commit takes from a finished writer. */
export type Handoff = { readonly kind: 'inline'; readonly data: Buffer } | { readonly kind: 'file'; readonly path: string };

export interface WriterHooks {
  /** Called by finish(): the store links the returned object back to this writer. */
  finished(payload: FinishedPayload, writer: StorePayloadWriter): void;
  /** Bytes held in temporary files changed by `delta` (counted as free space by makeRoom). */
  tempBytes(delta: number): void;
  /** Where a payload too large to stay in memory is hashed (the writer thread). */
  hashes(): HashChannel;
}

type State = 'writing' | 'finished' | 'stored' | 'aborted' | 'failed';

export class StorePayloadWriter implements PayloadWriter {
  readonly #tmpDir: string;
  readonly #maxBlobSize: number;
  readonly #hooks: WriterHooks;
  readonly #hash = createHash('sha512');
  #state: State = 'writing';
  #length = 0;
  #chunks: Buffer[] = [];
  #inline: Buffer | undefined;
  #file: BlockFile | undefined;
  #tempPath: string | undefined;
  /** Bytes given to the temporary file, as reported through hooks.tempBytes. */
  #onDisk = 0;
  #finished: FinishedPayload | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(tmpDir: string, maxBlobSize: number, hooks: WriterHooks) {
    this.#tmpDir = tmpDir;
    this.#maxBlobSize = maxBlobSize;
    this.#hooks = hooks;
  }

  get length(): number {
    return this.#length;
  }

  write(chunk: Buffer): Promise<void> {
    return this.#enqueue(() => this.#write(chunk));
  }

  finish(): Promise<FinishedPayload> {
    return this.#enqueue(() => this.#finish());
  }

  abort(): Promise<void> {
    return this.#enqueue(() => this.#abort());
  }

  /** The finished bytes, for a commit; undefined unless finished and not yet stored. */
  handoff(): Handoff | undefined {
    if (this.#state !== 'finished') return undefined;
    if (this.#tempPath !== undefined) return { kind: 'file', path: this.#tempPath };
    return { kind: 'inline', data: this.#inline ?? Buffer.alloc(0) };
  }

  /**
   * The committed store now holds these bytes. `renamed`: the temporary file became the payload
   * file; otherwise the store already had the payload and the temporary file is deleted.
   */
  stored(renamed: boolean): void {
    if (this.#state !== 'finished') return;
    this.#releaseTemp(!renamed);
    this.#inline = undefined;
    this.#state = 'stored';
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(op);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #write(chunk: Buffer): Promise<void> {
    if (this.#state !== 'writing') throw new Error(`payload writer is ${this.#state}`);
    if (chunk.length === 0) return;
    try {
      spent(chunk.length);
      this.#length += chunk.length;
      if (this.#file === undefined) {
        // Copied: the caller may reuse its buffer once write() resolves. Hashed here while it may
        // stay in memory; a file hashes all its bytes, these included, itself.
        if (this.#length <= this.#maxBlobSize) {
          this.#hash.update(chunk);
          this.#chunks.push(Buffer.from(chunk));
          return;
        }
        await this.#spill();
      }
      await this.#append(chunk);
    } catch (err) {
      // A full disk lands here (ENOSPC). The temporary file stays until abort() or the next start.
      this.#state = 'failed';
      const file = this.#file;
      this.#file = undefined;
      await file?.close();
      throw err;
    }
  }

  /** Crossing the in-memory threshold: move what is buffered into a new temporary file. */
  async #spill(): Promise<void> {
    this.#tempPath = join(this.#tmpDir, `${randomBytes(12).toString('hex')}.part`);
    this.#file = await BlockFile.create(this.#tempPath, this.#hooks.hashes().hash());
    const buffered = this.#chunks;
    this.#chunks = [];
    for (const part of buffered) await this.#append(part);
  }

  async #append(chunk: Buffer): Promise<void> {
    // Counted when accepted, not when the block reaches the disk: makeRoom must see the bytes
    // the moment write() has resolved.
    this.#onDisk += chunk.length;
    this.#hooks.tempBytes(chunk.length);
    await this.#file!.append(chunk);
  }

  /** The temporary file is no longer ours (renamed into the store, or deleted). */
  #releaseTemp(unlink: boolean): void {
    if (this.#tempPath !== undefined && unlink) unlinkQuietly(this.#tempPath);
    this.#tempPath = undefined;
    this.#hooks.tempBytes(-this.#onDisk);
    this.#onDisk = 0;
  }

  async #finish(): Promise<FinishedPayload> {
    if ((this.#state === 'finished' || this.#state === 'stored') && this.#finished !== undefined) return this.#finished;
    if (this.#state !== 'writing') throw new Error(`payload writer is ${this.#state}`);
    let hash: Buffer;
    try {
      if (this.#file !== undefined) {
        const file = this.#file;
        this.#file = undefined;
        hash = await file.finish().catch(async (err: unknown) => {
          await file.close();
          throw err;
        });
      } else {
        this.#inline = Buffer.concat(this.#chunks);
        this.#chunks = [];
        hash = this.#hash.digest();
      }
    } catch (err) {
      this.#state = 'failed';
      throw err;
    }
    const finished: FinishedPayload = { hash, length: this.#length };
    this.#finished = finished;
    this.#state = 'finished';
    this.#hooks.finished(finished, this);
    return finished;
  }

  async #abort(): Promise<void> {
    if (this.#state === 'stored' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    this.#chunks = [];
    this.#inline = undefined;
    const file = this.#file;
    this.#file = undefined;
    await file?.close();
    this.#releaseTemp(true);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone; tmp/ is emptied at the next start anyway.
  }
}
