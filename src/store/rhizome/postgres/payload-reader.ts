/**
 * Stored payload bytes [start, end) from the PostgreSQL store, as a stream, in constant memory.
 *
 * A small payload is one value of rhizome_payloads, copied once and sliced. A large one is a blob
 * of CHUNK-byte rows: before the stream is returned, the node's session takes a shared lock on the
 * blob and checks that it still exists, so a replacement or an eviction meanwhile cannot cut the
 * download short (the sweeper deletes a blob only once it can lock it exclusively). The stream
 * then reads one chunk per query, the next one while the current one is consumed, and releases
 * the lock when it ends or is destroyed.
 *
 * Lengths, and the hash of a whole read, are checked as for every backend (../payload-check.ts).
 */
import { pipeline, Readable } from 'node:stream';
import type { Database } from '../../postgres/database.js';
import { checkingStream } from '../payload-check.js';
import { CHUNK } from './payload-writer.js';

/** Slices of an inline payload handed out at a time (no I/O: just bounded pushes). */
const SLICE = 64 * 1024;

interface PayloadRow {
  readonly length: bigint;
  readonly data: Buffer | null;
  readonly blob: bigint | null;
}

export async function openPayloadStream(db: Database, hash: Buffer, start = 0, end?: number): Promise<Readable | undefined> {
  const [row] = await db.sql<PayloadRow[]>`SELECT length, data, blob FROM rhizome_payloads WHERE hash = ${hash}`;
  if (row === undefined) return undefined;
  const length = Number(row.length);
  const stop = end ?? length;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop) || start < 0 || start > stop || stop > length) {
    throw new RangeError(`payload range [${start}, ${stop}) outside [0, ${length})`);
  }
  if (start === stop) return Readable.from([]);
  const expected = start === 0 && stop === length ? hash : undefined;
  if (row.data !== null) return checked(sliceStream(row.data, start, stop), stop - start, expected);

  const blob = row.blob!;
  const release = await db.session.lockBlob(blob);
  try {
    const [exists] = await db.sql`SELECT 1 FROM rhizome_blobs WHERE id = ${blob.toString()}::bigint`;
    if (exists === undefined) {
      release(); // swept between the lookup and the lock: the payload is no longer held
      return undefined;
    }
  } catch (err) {
    release();
    throw err;
  }
  return checked(chunkStream(db, blob, start, stop, release), stop - start, expected);
}

function checked(raw: Readable, length: number, expected: Buffer | undefined): Readable {
  // pipeline destroys the source when the consumer destroys the result, and forwards errors.
  return pipeline(raw, checkingStream(length, expected), () => undefined);
}

function sliceStream(data: Buffer, start: number, end: number): Readable {
  let offset = start;
  return new Readable({
    highWaterMark: SLICE,
    read() {
      const next = Math.min(offset + SLICE, end);
      this.push(data.subarray(offset, next));
      offset = next;
      if (offset >= end) this.push(null);
    },
  });
}

/** Chunks first..last of a blob, trimmed to [start, end), one query ahead of the consumer. */
function chunkStream(db: Database, blob: bigint, start: number, end: number, release: () => void): Readable {
  const last = Math.floor((end - 1) / CHUNK);
  let seq = Math.floor(start / CHUNK);
  const fetch = (n: number): Promise<Buffer | undefined> =>
    db.sql<Array<{ data: Buffer }>>`SELECT data FROM rhizome_chunks WHERE blob = ${blob.toString()}::bigint AND seq = ${n}`.then(
      (rows) => rows[0]?.data,
    );
  let next: Promise<Buffer | undefined> | undefined = fetch(seq);
  next.catch(() => undefined); // awaited in read(); a stream destroyed first must not leave it unhandled
  return new Readable({
    highWaterMark: 1, // one chunk buffered, one being fetched
    objectMode: false,
    read() {
      const current = next!;
      const n = seq;
      seq += 1;
      next = seq <= last ? fetch(seq) : undefined;
      next?.catch(() => undefined);
      current.then(
        (data) => {
          // A missing chunk ends the stream short: the length check fails it as corrupt.
          if (data === undefined) {
            this.push(null);
            return;
          }
          const from = n === Math.floor(start / CHUNK) ? start - n * CHUNK : 0;
          const to = n === last ? end - n * CHUNK : data.length;
          this.push(data.subarray(from, Math.min(to, data.length)));
          if (n === last) this.push(null);
        },
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
    destroy(err, callback) {
      release();
      callback(err);
    },
  });
}
