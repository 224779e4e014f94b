/**
 * What every store's PayloadWriter (types.ts) shares: bytes are kept in memory up to
 * `maxBlobSize`, because a payload that small becomes a database row at the commit; the write that
 * crosses the threshold "spills" them into the store's own place for large payloads (a temporary
 * file for SQLite, a pending blob for PostgreSQL) and every later write goes there.
 *
 * Operations run one after another on an internal promise chain, so a caller that does not await
 * write() still gets its bytes in order. The states and what each operation may do in each are
 * kept here; a subclass says how bytes spill, how a spill is sealed and how it is thrown away.
 */
import { createHash } from 'node:crypto';
import type { FinishedPayload, PayloadWriter } from './types.js';

type State = 'writing' | 'finished' | 'stored' | 'aborted' | 'failed';

export abstract class SpillingPayloadWriter implements PayloadWriter {
  readonly #maxBlobSize: number;
  /**
   * SHA-512 of the bytes held in memory, and of spilled bytes too unless the spill hashes them
   * itself (`seal()` then returns the hash).
   */
  readonly #hash = createHash('sha512');
  readonly #hashesSpill: boolean;
  #state: State = 'writing';
  #length = 0;
  #buffered: Buffer[] = [];
  #spilled = false;
  #inline: Buffer | undefined;
  #finished: FinishedPayload | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  protected constructor(maxBlobSize: number, hashesSpill: boolean) {
    this.#maxBlobSize = maxBlobSize;
    this.#hashesSpill = hashesSpill;
  }

  /** Opens the place for a large payload; the bytes buffered so far are appended next. */
  protected abstract spill(): Promise<void>;
  /** Bytes after the threshold. Resolves when the caller's buffer may be reused. */
  protected abstract append(bytes: Buffer): Promise<void>;
  /** Makes the spilled bytes durable; their hash, when the spill computed it. */
  protected abstract seal(): Promise<Buffer | undefined>;
  /** A write or the seal failed: let go of what the spill holds open. Returns the error to throw. */
  protected abstract failed(err: unknown): Promise<unknown>;
  /** abort(): throw the spilled bytes away. */
  protected abstract discard(): Promise<void>;
  /** finish() is done: the store links the payload back to this writer. */
  protected abstract settled(payload: FinishedPayload): void;

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

  /** Finished and not yet stored: what the commit may take. */
  protected get handedOver(): boolean {
    return this.#state === 'finished';
  }

  /** The whole payload, when it stayed in memory and is finished. */
  protected get inline(): Buffer {
    return this.#inline ?? Buffer.alloc(0);
  }

  /** The commit settled the payload: the store holds its bytes now. False if it was not ours to settle. */
  protected markStored(): boolean {
    if (this.#state !== 'finished') return false;
    this.#inline = undefined;
    this.#state = 'stored';
    return true;
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
      this.#length += chunk.length;
      if (!this.#spilled) {
        // Copied: the caller may reuse its buffer once write() resolves.
        if (this.#length <= this.#maxBlobSize) {
          this.#hash.update(chunk);
          this.#buffered.push(Buffer.from(chunk));
          return;
        }
        this.#spilled = true;
        await this.spill();
        const buffered = this.#buffered;
        this.#buffered = [];
        // Hashed already, as they came; a spill that hashes itself takes them again.
        for (const part of buffered) await this.append(part);
      }
      if (this.#hashesSpill) this.#hash.update(chunk);
      await this.append(chunk);
    } catch (err) {
      // A full disk or a lost connection lands here. What the spill holds stays until abort().
      this.#state = 'failed';
      throw await this.failed(err);
    }
  }

  async #finish(): Promise<FinishedPayload> {
    if ((this.#state === 'finished' || this.#state === 'stored') && this.#finished !== undefined) return this.#finished;
    if (this.#state !== 'writing') throw new Error(`payload writer is ${this.#state}`);
    let hash: Buffer;
    try {
      if (this.#spilled) {
        hash = (await this.seal()) ?? this.#hash.digest();
      } else {
        this.#inline = Buffer.concat(this.#buffered);
        this.#buffered = [];
        hash = this.#hash.digest();
      }
    } catch (err) {
      this.#state = 'failed';
      throw await this.failed(err);
    }
    const payload: FinishedPayload = { hash, length: this.#length };
    this.#finished = payload;
    this.#state = 'finished';
    this.settled(payload);
    return payload;
  }

  async #abort(): Promise<void> {
    if (this.#state === 'stored' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    this.#buffered = [];
    this.#inline = undefined;
    await this.discard();
  }
}
