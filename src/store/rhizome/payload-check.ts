/**
 * Checking stored payload bytes as they are read, for every backend: exactly the recorded length
 * (a payload cut short or grown fails the stream), and, for a whole-payload read, SHA-512 checked
 * before the chunk that completes it is passed on, so on a mismatch the consumer never receives
 * the complete body (spec §3.6). Both fail with RHIZOME_STORE_CORRUPT.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { TendrilError } from '../../errors.js';

export function corruptPayload(why: string): TendrilError {
  return new TendrilError('RHIZOME_STORE_CORRUPT', { cause: new Error(why) });
}

export function checkingStream(length: number, expectedHash: Buffer | undefined): Transform {
  const hash = expectedHash === undefined ? undefined : createHash('sha512');
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > length) {
        callback(corruptPayload('payload longer than recorded'));
        return;
      }
      hash?.update(chunk);
      if (seen === length && hash !== undefined && expectedHash !== undefined && !hash.digest().equals(expectedHash)) {
        callback(corruptPayload('payload hash mismatch'));
        return;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      callback(seen === length ? null : corruptPayload('payload shorter than recorded'));
    },
  });
}
