/**
 * The link between a dedicated web server and its node: one connection on the node's owner-only
 * control socket (an HTTP/1.1 Upgrade to `tendril-link/1`), carrying every client connection of
 * that web server as a stream of frames. The web server relays each client's bytes as they came
 * (after TLS), and the node runs them through the same HTTP parser and pipeline as its own
 * servers: the node alone decides every status, and no byte a client sends can reach the control
 * socket's own parser, so no request can be smuggled to it.
 *
 * A frame: type (1 byte), stream (4 bytes, big-endian), payload length (4 bytes), payload.
 *
 *   HELLO  web server → node, stream 0: the server's facts (mode, URL, what it serves, origins)
 *   OPEN   web server → node: a new client connection, with its address and TLS certificate status
 *   DATA   both ways: bytes of the connection
 *   END    both ways: the sender will send no more (a half-close, as TCP's FIN)
 *   CLOSE  both ways: the connection is gone (either side closed it, or it broke)
 *   ACK    both ways: 4-byte count of DATA bytes the receiver has passed on (credit returned)
 *
 * Flow control: a side sends at most WINDOW unacknowledged DATA bytes per connection; so a client
 * that reads slowly, or a handler that reads an upload slowly, holds back only its own connection,
 * and memory stays bounded by the window per connection whatever the transfer's size.
 */
import type { Socket } from 'node:net';

export const LINK_PROTOCOL = 'tendril-link/1';
export const LINK_PATH = '/control/link';

export const FRAME = { HELLO: 1, OPEN: 2, DATA: 3, END: 4, CLOSE: 5, ACK: 6 } as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

const HEAD = 9;
/** Unacknowledged DATA bytes per connection and direction. */
export const WINDOW = 256 * 1024;
/** Credit is returned once this much has been passed on (fewer, larger ACK frames). */
export const ACK_EVERY = WINDOW / 4;
/** The longest DATA frame a peer may send (a client's socket read, a response's write, are smaller). */
const MAX_PAYLOAD = 64 * 1024 * 1024;
/** The longest frame of any other type (they carry a little JSON or a count). */
const MAX_CONTROL = 64 * 1024;
/** Payloads up to this size are copied behind their frame head: one buffer, one write. */
const COPY_BELOW = 4096;

/** What a web server tells the node about itself when it attaches. */
export interface FrontHello {
  readonly mode: string;
  readonly url: string;
  readonly serve: readonly string[];
  readonly origins: readonly string[];
  /** The names it answers to, as a host rule's text (src/web/hosts.ts); none: localhost and IPs. */
  readonly hosts?: string;
  /** It serves the legacy GET forms of writes (`--allow-get-writes`). */
  readonly getWrites?: boolean;
}

/** What a web server tells the node about one client connection. */
export interface FrontOpen {
  readonly address: string;
  readonly port: number;
  readonly family: string;
  /** `verified`, `untrusted` or `missing` (TLS modes with client certificates), else `missing`. */
  readonly cert: string;
}

function head(type: FrameType, stream: number, length: number, into = Buffer.allocUnsafe(HEAD)): Buffer {
  into[0] = type;
  into.writeUInt32BE(stream, 1);
  into.writeUInt32BE(length, 5);
  return into;
}

/**
 * Frames for one socket, gathered and written once per turn of the event loop: the replies to
 * all the requests one read brought in leave in one write.
 */
export class Outbox {
  #parts: Buffer[] = [];
  #scheduled = false;
  readonly #socket: Socket;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  send(type: FrameType, stream: number, payload?: Buffer): void {
    const length = payload?.length ?? 0;
    if (payload !== undefined && length > 0 && length < COPY_BELOW) {
      const frame = Buffer.allocUnsafe(HEAD + length);
      head(type, stream, length, frame);
      payload.copy(frame, HEAD);
      this.#parts.push(frame);
    } else {
      this.#parts.push(head(type, stream, length));
      if (length > 0) this.#parts.push(payload!);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  sendJson(type: FrameType, stream: number, value: unknown): void {
    this.send(type, stream, Buffer.from(JSON.stringify(value), 'utf8'));
  }

  sendAck(stream: number, bytes: number): void {
    const count = Buffer.allocUnsafe(4);
    count.writeUInt32BE(bytes, 0);
    this.send(FRAME.ACK, stream, count);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const parts = this.#parts;
    this.#parts = [];
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (parts.length === 1) {
      socket.write(parts[0]!);
      return;
    }
    socket.cork();
    for (const part of parts) socket.write(part);
    socket.uncork();
  };
}

/**
 * Splits a byte stream into frames, across reads of any size. DATA payloads are passed on in the
 * pieces they arrive in (a large write is not gathered first); other frames whole. A malformed
 * frame throws.
 */
export class FrameReader {
  readonly #head = Buffer.allocUnsafe(HEAD);
  #headBytes = 0;
  /** The frame being read, once its head is complete. */
  #type = 0;
  #stream = 0;
  #remaining = 0;
  #control: Buffer[] = [];

  constructor(
    private readonly onData: (stream: number, bytes: Buffer) => void,
    private readonly onFrame: (type: number, stream: number, payload: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#headBytes < HEAD) {
        // Fast path: a whole head in this chunk.
        if (this.#headBytes === 0 && chunk.length - at >= HEAD) {
          this.#begin(chunk[at]!, chunk.readUInt32BE(at + 1), chunk.readUInt32BE(at + 5));
          at += HEAD;
        } else {
          const n = Math.min(HEAD - this.#headBytes, chunk.length - at);
          chunk.copy(this.#head, this.#headBytes, at, at + n);
          this.#headBytes += n;
          at += n;
          if (this.#headBytes < HEAD) return;
          this.#begin(this.#head[0]!, this.#head.readUInt32BE(1), this.#head.readUInt32BE(5));
        }
        if (this.#remaining === 0) this.#complete();
        continue;
      }
      const n = Math.min(this.#remaining, chunk.length - at);
      const piece = chunk.subarray(at, at + n);
      at += n;
      this.#remaining -= n;
      if (this.#type === FRAME.DATA) this.onData(this.#stream, piece);
      else this.#control.push(piece);
      if (this.#remaining === 0) this.#complete();
    }
  }

  #begin(type: number, stream: number, length: number): void {
    if (type < FRAME.HELLO || type > FRAME.ACK || length > (type === FRAME.DATA ? MAX_PAYLOAD : MAX_CONTROL)) {
      throw new Error(`malformed link frame (type ${type}, ${length} bytes)`);
    }
    this.#headBytes = HEAD;
    this.#type = type;
    this.#stream = stream;
    this.#remaining = length;
  }

  #complete(): void {
    this.#headBytes = 0;
    if (this.#type === FRAME.DATA) return;
    const parts = this.#control;
    this.#control = [];
    this.onFrame(this.#type, this.#stream, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}
