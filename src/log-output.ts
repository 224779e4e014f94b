/**
 * Where log lines go: a file descriptor (standard output), written asynchronously in batches.
 *
 * A line per request is the busiest thing a node logs, so a line must cost next to nothing: it is
 * appended to a list, and the list goes out in one write once it holds BATCH characters (or at the
 * latest a second later; at once on a terminal). pino's own destination (sonic-boom) measured the
 * byte length of its whole pending buffer for every line it was given — up to its 16 KiB write
 * size, a scan per line that cost more than formatting the line.
 *
 * A log that cannot be written (ENOSPC when its disk is full, EAGAIN on a full pipe) must not stop
 * the node: lines wait, up to MAX_UNWRITTEN characters (later ones are dropped), and go out once a
 * write succeeds. At exit what is left is written synchronously — unless the last write failed:
 * a log that is still failing is given up, not retried forever.
 */
import { write, writeSync } from 'node:fs';

/** Characters of log lines gathered before a write. */
const BATCH = 16 * 1024;
/** Characters held while writes fail; lines beyond it are dropped. */
const MAX_UNWRITTEN = 4 * 1024 * 1024;
const FLUSH_EVERY_MS = 1000;

export class LogOutput {
  readonly #fd: number;
  readonly #batch: number;
  #lines: string[] = [];
  #length = 0;
  /** The bytes of a write in flight, or of one that failed and waits to be tried again. */
  #unwritten: Buffer | undefined;
  #writing = false;
  #failing = false;
  #waiters: Array<() => void> = [];

  /** `immediate`: every line is written at once (a terminal). */
  constructor(fd: number, immediate: boolean) {
    this.#fd = fd;
    this.#batch = immediate ? 0 : BATCH;
    if (!immediate) setInterval(() => this.flush(), FLUSH_EVERY_MS).unref();
    process.on('exit', () => this.flushSync());
  }

  /** pino's destination interface: one line, newline included. */
  write(line: string): boolean {
    if (this.#length + line.length + (this.#unwritten?.length ?? 0) > MAX_UNWRITTEN) return false;
    this.#lines.push(line);
    this.#length += line.length;
    if (!this.#writing && this.#length >= this.#batch) this.#writeOut();
    return true;
  }

  /** Writes what is pending; `done` once it is out (or the write failed). */
  flush(done?: (err?: Error) => void): void {
    if (done) this.#waiters.push(() => done());
    if (!this.#writing) this.#writeOut();
  }

  /** At exit: what is left, synchronously, unless the log is failing. */
  flushSync(): void {
    if (this.#failing) return;
    // A write still in flight at exit goes out or not by itself: its bytes are not written twice.
    if (this.#writing) this.#unwritten = undefined;
    try {
      let data = this.#take();
      while (data.length > 0) data = data.subarray(writeSync(this.#fd, data));
    } catch {
      // Nothing more can be done for a log at exit.
    }
  }

  /** The failed write's bytes, then the pending lines, as one buffer. */
  #take(): Buffer {
    const lines = this.#lines.length === 0 ? undefined : Buffer.from(this.#lines.join(''), 'utf8');
    this.#lines = [];
    this.#length = 0;
    const before = this.#unwritten;
    this.#unwritten = undefined;
    if (before === undefined) return lines ?? Buffer.alloc(0);
    return lines === undefined ? before : Buffer.concat([before, lines]);
  }

  #writeOut(): void {
    const data = this.#take();
    if (data.length === 0) {
      this.#settle();
      return;
    }
    this.#writing = true;
    this.#unwritten = data;
    write(this.#fd, data, 0, data.length, null, (err, written) => {
      this.#writing = false;
      if (err) {
        // Kept for the next try (a line, a flush, the timer): ENOSPC, EAGAIN.
        this.#failing = true;
        this.#settle();
        return;
      }
      this.#failing = false;
      const rest = this.#unwritten?.subarray(written);
      this.#unwritten = rest !== undefined && rest.length > 0 ? rest : undefined;
      if (this.#unwritten !== undefined || this.#length >= this.#batch || this.#waiters.length > 0) this.#writeOut();
    });
  }

  #settle(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
