/**
 * A payload on its way into the PostgreSQL store (PayloadWriter in ../types.ts).
 *
 * Bytes are hashed (SHA-512) as they arrive. Up to `maxBlobSize` bytes stay in memory and become
 * a row of rhizome_payloads at the commit. The write that crosses the threshold makes a pending
 * blob (rhizome_blobs, state 0, under this node's session key) and from then on the bytes go to
 * the database as they arrive: cut into CHUNK-byte rows of rhizome_chunks and sent with COPY in
 * binary format (raw bytes: a bytea parameter would travel as hex, twice the size, and cost the
 * server a parse), SEGMENT chunks per COPY so that no upload holds a connection of the uploads
 * pool for long. Memory stays at one chunk whatever the payload size, and write() resolves only
 * once the COPY stream has taken the bytes (backpressure).
 *
 * Nothing is visible until a commit names the blob; a writer that is aborted deletes its blob,
 * and the blob of a node that dies is deleted by another node's sweeper (sweeper.ts). What is
 * common to both stores' writers is in ../spilling-writer.ts.
 */
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { Database } from '../../postgres/database.js';
import { translatePostgresError } from '../../postgres/errors.js';
import { SpillingPayloadWriter } from '../spilling-writer.js';
import type { FinishedPayload } from '../types.js';
import { COPY_HEADER, COPY_TRAILER, copyChunk } from './copy-format.js';

/** Bytes per rhizome_chunks row; readers rely on every chunk but the last being this long. */
export const CHUNK = 1024 * 1024;
/** Chunks per COPY statement. */
const SEGMENT = 32;

/** What a commit takes from a finished writer. */
export type Handoff = { readonly kind: 'inline'; readonly data: Buffer } | { readonly kind: 'blob'; readonly blob: bigint };

export class PostgresPayloadWriter extends SpillingPayloadWriter {
  readonly #db: Database;
  readonly #onFinished: (payload: FinishedPayload, writer: PostgresPayloadWriter) => void;
  #blob: bigint | undefined;
  /** The chunk being filled, and how much of it is. */
  #chunk: Buffer | undefined;
  #used = 0;
  #seq = 0;
  #copy: Writable | undefined;
  /** The uploads pool's connection the COPY runs on, held for that COPY alone. */
  #conn: { release(): void } | undefined;
  #copyChunks = 0;

  constructor(db: Database, maxBlobSize: number, onFinished: (payload: FinishedPayload, writer: PostgresPayloadWriter) => void) {
    super(maxBlobSize, true);
    this.#db = db;
    this.#onFinished = onFinished;
  }

  /** The finished bytes, for a commit; undefined unless finished and not yet stored. */
  handoff(): Handoff | undefined {
    if (!this.handedOver) return undefined;
    if (this.#blob !== undefined) return { kind: 'blob', blob: this.#blob };
    return { kind: 'inline', data: this.inline };
  }

  /** A commit settled the payload: its blob became it, or was deleted as a duplicate. */
  stored(): void {
    if (this.markStored()) this.#blob = undefined;
  }

  protected async spill(): Promise<void> {
    const key = await this.#db.session.key();
    const [row] = await this.#db.sql<Array<{ id: bigint }>>`
      INSERT INTO rhizome_blobs (state, session) VALUES (0, ${key.toString()}::bigint) RETURNING id`;
    this.#blob = row!.id;
  }

  protected async append(bytes: Buffer): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      this.#chunk ??= Buffer.allocUnsafe(CHUNK);
      const n = bytes.copy(this.#chunk, this.#used, offset);
      this.#used += n;
      offset += n;
      if (this.#used === CHUNK) await this.#sendChunk();
    }
  }

  protected async seal(): Promise<undefined> {
    if (this.#used > 0) await this.#sendChunk();
    await this.#endCopy();
    return undefined; // hashed as the bytes came
  }

  protected async failed(err: unknown): Promise<unknown> {
    await this.#dropCopy(err);
    this.#db.observe(err);
    return translatePostgresError(err);
  }

  protected async discard(): Promise<void> {
    this.#chunk = undefined;
    await this.#dropCopy(undefined);
    const blob = this.#blob;
    this.#blob = undefined;
    if (blob === undefined) return;
    // Pending only: a committed blob is the store's now. If this fails, the sweeper deletes it
    // once nobody could still finish it.
    await this.#db.sql`DELETE FROM rhizome_blobs WHERE id = ${blob.toString()}::bigint AND state = 0`.catch(() => undefined);
  }

  protected settled(payload: FinishedPayload): void {
    this.#onFinished(payload, this);
  }

  async #sendChunk(): Promise<void> {
    if (this.#copy === undefined) {
      // A connection of its own: nothing else may be sent on a connection in the middle of a COPY.
      const conn = await this.#db.uploads.reserve();
      this.#conn = conn;
      const copy = await conn`COPY rhizome_chunks (blob, seq, data) FROM STDIN (FORMAT binary)`.writable();
      // Failures (a lost connection) are thrown by the next write or by finish(), not by an event.
      copy.on('error', () => undefined);
      this.#copy = copy;
      await writeTo(copy, COPY_HEADER);
    }
    await writeTo(this.#copy, copyChunk(this.#blob!, this.#seq++, this.#chunk!.subarray(0, this.#used)));
    this.#used = 0; // copyChunk copied the bytes: the buffer can take the next chunk
    if (++this.#copyChunks === SEGMENT) await this.#endCopy();
  }

  async #endCopy(): Promise<void> {
    const copy = this.#copy;
    if (copy === undefined) return;
    this.#copy = undefined;
    this.#copyChunks = 0;
    copy.end(COPY_TRAILER);
    try {
      await finished(copy);
    } finally {
      this.#releaseConn();
    }
  }

  #releaseConn(): void {
    this.#conn?.release();
    this.#conn = undefined;
  }

  async #dropCopy(err: unknown): Promise<void> {
    const copy = this.#copy;
    this.#copy = undefined;
    if (copy !== undefined) {
      copy.destroy(err instanceof Error ? err : new Error('payload upload abandoned'));
      await finished(copy).catch(() => undefined);
    }
    this.#releaseConn();
  }
}

/** Writes and waits until the stream takes more (its buffer drained). */
async function writeTo(stream: Writable, bytes: Buffer): Promise<void> {
  if (stream.destroyed) throw stream.errored ?? new Error('COPY stream closed');
  if (stream.write(bytes)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const closed = (): void => done(new Error('COPY stream closed'));
    stream.once('drain', done);
    stream.once('error', done);
    stream.once('close', closed);
  });
}
