/**
 * Bytes [start, end) of an open payload file as a stream, checked as they are read: exactly that
 * many bytes (a file cut short fails the stream), and, when a digest is expected, SHA-512 over
 * them, checked before the chunk that completes the range is passed on, so on a mismatch the
 * consumer never receives the complete body.
 *
 * Reads grow from 64 KiB to 1 MiB, doubling. fs.createReadStream with 64 KiB reads plus a
 * checking Transform made a 64 MiB raw.bin a thousand thread-pool round trips and stream hops,
 * the main thread idle between short bursts of work (docs/benchmarks.md); 1 MiB reads took raw.bin
 * from ~205 to ~365 MB/s on the benchmark machine. Starting small keeps short ranges cheap and
 * lets a consumer that stops early stop before much was read.
 *
 * The stream owns the descriptor: it is closed when the stream ends or is destroyed, once no
 * read is running on it (closing it under a running read could let the read hit a reused fd).
 */
import { createHash, type Hash } from 'node:crypto';
import { close, read } from 'node:fs';
import { Readable } from 'node:stream';
import { spent } from './spent-buffers.js';

const FIRST_READ = 64 * 1024;
const MAX_READ = 1024 * 1024;

export class FileRange extends Readable {
  readonly #fd: number;
  readonly #end: number;
  readonly #hash: Hash | undefined;
  readonly #expected: Buffer | undefined;
  readonly #fail: (why: string) => Error;
  #position: number;
  #size = FIRST_READ;
  #reading = false;
  /** Set by _destroy while a read runs: what to do once it returns. */
  #afterRead: (() => void) | undefined;

  /** `fail` makes the error for a short file or a wrong digest. */
  constructor(fd: number, start: number, end: number, expectedHash: Buffer | undefined, fail: (why: string) => Error) {
    super({ highWaterMark: MAX_READ });
    this.#fd = fd;
    this.#position = start;
    this.#end = end;
    this.#expected = expectedHash;
    this.#hash = expectedHash === undefined ? undefined : createHash('sha512');
    this.#fail = fail;
  }

  override _read(): void {
    if (this.#reading) return;
    const length = Math.min(this.#size, this.#end - this.#position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    this.#size = Math.min(this.#size * 2, MAX_READ);
    const buffer = Buffer.allocUnsafeSlow(length);
    this.#reading = true;
    read(this.#fd, buffer, 0, length, this.#position, (err, bytesRead) => {
      this.#reading = false;
      if (this.#afterRead !== undefined) {
        this.#afterRead();
        return;
      }
      if (err) {
        this.destroy(err);
        return;
      }
      if (bytesRead === 0) {
        this.destroy(this.#fail('payload shorter than recorded'));
        return;
      }
      const chunk = bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
      this.#position += bytesRead;
      this.#hash?.update(chunk);
      const done = this.#position === this.#end;
      if (done && this.#hash !== undefined && !this.#hash.digest().equals(this.#expected!)) {
        this.destroy(this.#fail('payload hash mismatch'));
        return;
      }
      spent(bytesRead);
      this.push(chunk);
      if (done) this.push(null);
    });
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const closeFd = (): void => close(this.#fd, (closeErr) => callback(err ?? closeErr ?? null));
    if (this.#reading) this.#afterRead = closeFd;
    else closeFd();
  }
}
