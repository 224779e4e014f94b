/**
 * One client connection of a dedicated web server, as the node sees it: a duplex stream whose
 * bytes travel in frames over the link (src/web/link-frames.ts). It stands in for a net.Socket
 * under node:http's server — the peer's address is the client's, as the web server reported it —
 * so the node parses, times out and answers it exactly as a connection to its own servers.
 */
import { Duplex } from 'node:stream';
import type { ClientCertStatus } from '../http/access.js';
import { ACK_EVERY, FRAME, WINDOW, type FrontOpen, type Outbox } from './link-frames.js';

const CERT_STATUSES = new Set<string>(['verified', 'untrusted', 'missing']);

export class LinkSocket extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily: string;
  /** The client's TLS certificate, as the web server found it. */
  readonly clientCert: ClientCertStatus;
  readonly #outbox: Outbox;
  readonly #stream: number;
  /** DATA bytes sent that the web server has not acknowledged yet, and a write waiting for credit. */
  #unacked = 0;
  #waiting: (() => void) | undefined;
  /** DATA bytes received and passed on, and how many of those were acknowledged. */
  #received = 0;
  #acked = 0;
  /** True once the web server said CLOSE: nothing more goes out. */
  #gone = false;
  #timer: NodeJS.Timeout | undefined;
  #timeoutMs = 0;

  constructor(outbox: Outbox, stream: number, open: FrontOpen) {
    super({ allowHalfOpen: true });
    this.#outbox = outbox;
    this.#stream = stream;
    this.remoteAddress = open.address;
    this.remotePort = open.port;
    this.remoteFamily = open.family;
    this.clientCert = CERT_STATUSES.has(open.cert) ? (open.cert as ClientCertStatus) : 'missing';
  }

  /** DATA from the web server. */
  received(bytes: Buffer): void {
    if (this.destroyed) return;
    this.#received += bytes.length;
    this.#activity();
    this.push(bytes);
    this.#returnCredit();
  }

  /** The web server's END: the client will send nothing more. */
  ended(): void {
    if (!this.destroyed) this.push(null);
  }

  /** The web server's CLOSE: the client is gone. */
  peerClosed(): void {
    this.#gone = true;
    this.destroy();
  }

  /** The web server's ACK. */
  credited(bytes: number): void {
    this.#unacked -= bytes;
    if (this.#unacked <= WINDOW && this.#waiting) {
      const resume = this.#waiting;
      this.#waiting = undefined;
      resume();
    }
  }

  override _read(): void {
    this.#returnCredit();
  }

  /** Acknowledges what the reader has taken, in steps of ACK_EVERY. */
  #returnCredit(): void {
    const taken = this.#received - this.readableLength;
    if (taken - this.#acked >= ACK_EVERY && !this.#gone) {
      this.#outbox.sendAck(this.#stream, taken - this.#acked);
      this.#acked = taken;
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#send(chunk, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    this.#send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), done);
  }

  #send(bytes: Buffer, done: (err?: Error | null) => void): void {
    if (this.#gone) {
      done(new Error('the client connection is closed'));
      return;
    }
    this.#activity();
    this.#outbox.send(FRAME.DATA, this.#stream, bytes);
    this.#unacked += bytes.length;
    if (this.#unacked <= WINDOW) done();
    else this.#waiting = () => done();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.#gone) this.#outbox.send(FRAME.END, this.#stream);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (!this.#gone) {
      this.#gone = true;
      this.#outbox.send(FRAME.CLOSE, this.#stream);
    }
    this.#waiting = undefined;
    done(err);
  }

  /** As net.Socket's: 'timeout' after `ms` without reads or writes; 0 turns it off. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) this.once('timeout', onTimeout);
    this.#timeoutMs = ms;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(() => this.emit('timeout'), ms);
      this.#timer.unref();
    }
    return this;
  }

  #activity(): void {
    if (this.#timer !== undefined && this.#timeoutMs > 0) this.#timer.refresh();
  }

  // The transport's own options mean nothing here; node:http calls them on every connection.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }
}
