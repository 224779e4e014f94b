/**
 * A payload on its way into the store (PayloadWriter in types.ts).
 *
 * Bytes are hashed (SHA-512) as they arrive. Up to `maxBlobSize` bytes stay in memory, because a
 * payload that small becomes a database row; the write that crosses the threshold opens a
 * temporary file in tmp/ and continues there, in coalesced blocks written and hashed on other
 * threads while the next bytes arrive (block-file.ts), so memory stays bounded by the threshold
 * plus a few blocks whatever the payload size, and write() still gives backpressure. finish() fsyncs the file: after it, the
 * bytes are durable and only a rename (done by the commit) separates them from the store.
 *
 * The writer never touches the database; the commit takes the finished bytes through handoff()
 * and tells the writer when they belong to the store. What is common to both stores' writers (the
 * in-memory threshold, the order of operations, the states) is in ../spilling-writer.ts.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BlockFile } from './block-file.js';
import type { HashChannel } from './hash-thread.js';
import { spent } from './spent-buffers.js';
import { SpillingPayloadWriter } from '../spilling-writer.js';
import type { FinishedPayload } from '../types.js';

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

export class StorePayloadWriter extends SpillingPayloadWriter {
  readonly #tmpDir: string;
  readonly #hooks: WriterHooks;
  #file: BlockFile | undefined;
  #tempPath: string | undefined;
  /** Bytes given to the temporary file, as reported through hooks.tempBytes. */
  #onDisk = 0;

  constructor(tmpDir: string, maxBlobSize: number, hooks: WriterHooks) {
    // The temporary file hashes its bytes itself, on the writer thread.
    super(maxBlobSize, false);
    this.#tmpDir = tmpDir;
    this.#hooks = hooks;
  }

  /** The finished bytes, for a commit; undefined unless finished and not yet stored. */
  handoff(): Handoff | undefined {
    if (!this.handedOver) return undefined;
    if (this.#tempPath !== undefined) return { kind: 'file', path: this.#tempPath };
    return { kind: 'inline', data: this.inline };
  }

  /**
   * The committed store now holds these bytes. `renamed`: the temporary file became the payload
   * file; otherwise the store already had the payload and the temporary file is deleted.
   */
  stored(renamed: boolean): void {
    if (!this.handedOver) return;
    this.#releaseTemp(!renamed);
    this.markStored();
  }

  protected async spill(): Promise<void> {
    this.#tempPath = join(this.#tmpDir, `${randomBytes(12).toString('hex')}.part`);
    this.#file = await BlockFile.create(this.#tempPath, this.#hooks.hashes().hash());
  }

  protected async append(chunk: Buffer): Promise<void> {
    spent(chunk.length);
    // Counted when accepted, not when the block reaches the disk: makeRoom must see the bytes
    // the moment write() has resolved.
    this.#onDisk += chunk.length;
    this.#hooks.tempBytes(chunk.length);
    await this.#file!.append(chunk);
  }

  protected async seal(): Promise<Buffer> {
    const hash = await this.#file!.finish(); // closes the file; on a failure, failed() does
    this.#file = undefined;
    return hash;
  }

  protected async failed(err: unknown): Promise<unknown> {
    // The temporary file stays until abort() or the next start.
    await this.#closeFile();
    return err;
  }

  protected async discard(): Promise<void> {
    await this.#closeFile();
    this.#releaseTemp(true);
  }

  protected settled(payload: FinishedPayload): void {
    this.#hooks.finished(payload, this);
  }

  async #closeFile(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close();
  }

  /** The temporary file is no longer ours (renamed into the store, or deleted). */
  #releaseTemp(unlink: boolean): void {
    if (this.#tempPath !== undefined && unlink) unlinkQuietly(this.#tempPath);
    this.#tempPath = undefined;
    this.#hooks.tempBytes(-this.#onDisk);
    this.#onDisk = 0;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone; tmp/ is emptied at the next start anyway.
  }
}
