/**
 * Stored payload bytes [start, end) as a stream, in constant memory.
 *
 * A payload file is read through an fd opened synchronously here, so "not held" can be answered
 * before any byte is promised, and a payload evicted or replaced meanwhile stays
 * readable to the end (the open fd keeps the unlinked inode). An inline payload is a database
 * value no larger than max_blob_size, copied once and sliced.
 *
 * Every range is checked for its exact length, so a truncated file fails the stream instead of
 * ending it early. Reading the whole payload also checks SHA-512 (spec §3.6): the chunk that
 * completes the payload is only passed on once the digest matches, so on a mismatch the
 * consumer never receives the complete body and the stream fails with RHIZOME_STORE_CORRUPT.
 * Files are read by file-range.ts, which does both checks as it reads.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { TendrilError } from '../../../errors.js';
import { FileRange } from './file-range.js';
import { payloadPath, type StoreLayout } from './layout.js';
import { sqlite } from './sqlite-errors.js';
import type { Statements } from './statements.js';

/** Chunk size for inline payloads (slices of one value, no I/O). */
const CHUNK = 64 * 1024;

type PayloadSource = { readonly kind: 'file'; readonly fd: number } | { readonly kind: 'inline'; readonly data: Buffer };

/** RhizomeStore.readPayload: undefined if the store does not hold the payload. */
export function openPayloadStream(statements: Statements, layout: StoreLayout, hash: Buffer, start = 0, end?: number): Readable | undefined {
  const row = sqlite(() => statements.payloadData.get(hash));
  if (row === undefined) return undefined;
  const length = Number(row.length);
  const stop = end ?? length;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop) || start < 0 || start > stop || stop > length) {
    throw new RangeError(`payload range [${start}, ${stop}) outside [0, ${length})`);
  }
  const expected = start === 0 && stop === length ? hash : undefined;
  if (row.data !== null) {
    return start === stop ? emptyStream() : payloadStream({ kind: 'inline', data: row.data }, start, stop, expected);
  }
  const path = payloadPath(layout, hash);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined; // Lost since start-up; the next start-up sweep drops its row.
  }
  if (start === stop) {
    closeSync(fd);
    return emptyStream();
  }
  return payloadStream({ kind: 'file', fd }, start, stop, expected);
}

/**
 * `expectedHash` is checked when given (the caller passes it only for a whole-payload read).
 * `start < end`; the caller answers an empty range itself.
 */
function payloadStream(source: PayloadSource, start: number, end: number, expectedHash: Buffer | undefined): Readable {
  if (source.kind === 'file') return new FileRange(source.fd, start, end, expectedHash, corrupt);
  const raw = sliceStream(source.data, start, end);
  const checked = checkingStream(end - start, expectedHash);
  // pipeline destroys the source when the consumer destroys the result, and forwards source
  // errors to it; the callback has nothing left to do.
  return pipeline(raw, checked, () => undefined);
}

function emptyStream(): Readable {
  return new Readable({
    read() {
      this.push(null);
    },
  });
}

function sliceStream(data: Buffer, start: number, end: number): Readable {
  let offset = start;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (offset >= end) {
        this.push(null);
        return;
      }
      const next = Math.min(offset + CHUNK, end);
      this.push(data.subarray(offset, next));
      offset = next;
    },
  });
}

function corrupt(why: string): TendrilError {
  return new TendrilError('RHIZOME_STORE_CORRUPT', { cause: new Error(why) });
}

function checkingStream(length: number, expectedHash: Buffer | undefined): Transform {
  const hash = expectedHash === undefined ? undefined : createHash('sha512');
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > length) {
        callback(corrupt('payload longer than recorded'));
        return;
      }
      hash?.update(chunk);
      if (seen === length && hash !== undefined && expectedHash !== undefined && !hash.digest().equals(expectedHash)) {
        callback(corrupt('payload hash mismatch'));
        return;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      callback(seen === length ? null : corrupt('payload shorter than recorded'));
    },
  });
}
