/**
 * One link between two nodes (docs/sync.md §3): a full-duplex stream of frames over one HTTP
 * exchange, the same whichever node opened it. The link owns the transport: framing, the HELLO
 * handshake, keepalive, backpressure, byte counters and closing. What frames mean is the
 * handlers' business (peer-session.ts).
 *
 * The reader never waits for the network: a handler that must send (an answer, an offer) queues
 * the work elsewhere, so two nodes that both have much to say cannot block each other, each
 * waiting for the other to read.
 */
import type { Writable } from 'node:stream';
import type { Logger } from '../../log.js';
import { FRAME_NAMES, FrameError, FrameReader, FrameType, encodeFrame, frameHeader, type Frame } from './wire/frames.js';
import { decodeJsonObject, encodeJson } from './wire/messages.js';
import { parseHello, PROTOCOL_MAJOR, type Hello } from './hello.js';

/** Send a PING when nothing was sent for this long; give up on a peer silent for LINK_DEAD_MS. */
const PING_MS = 10_000;
const LINK_DEAD_MS = 60_000;

export interface LinkTransport {
  readonly input: AsyncIterable<Buffer>;
  readonly output: Writable;
  /** Tears the connection down at once (the graceful way is ending `output`). */
  destroy(): void;
}

export interface LinkHandlers {
  /** A valid HELLO arrived: a BYE code to refuse the link with, or undefined to go on. */
  hello(link: Link): string | undefined;
  /** Any frame after the HELLO; the next is read once the returned promise settles. */
  frame(link: Link, frame: Frame): Promise<void> | void;
  closed(link: Link): void;
}

export interface LinkOptions {
  readonly direction: 'outgoing' | 'incoming';
  /** The configured URL or the remote address, for logs and the status. */
  readonly address: string;
  /** Whether we take bundles from this peer (false for a peer with read-only credentials). */
  readonly weAccept: boolean;
  /** Our HELLO, as JSON (hello.ts helloJson). */
  readonly localHello: () => Record<string, unknown>;
  readonly handlers: LinkHandlers;
  readonly log: Logger;
}

export class LinkClosedError extends Error {
  override readonly name = 'LinkClosedError';
}

export class LinkStats {
  wireIn = 0;
  wireOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  bundlesIn = 0;
  bundlesOut = 0;
  rejected = 0;
  sessions = 0;
  lastSessionMessages: number | undefined;
  lastContact: number | undefined;
  connectedSince: number | undefined;
}

let nextLinkId = 1;

export class Link {
  readonly id = nextLinkId++;
  readonly direction: 'outgoing' | 'incoming';
  readonly address: string;
  readonly weAccept: boolean;
  readonly stats = new LinkStats();
  readonly log: Logger;
  peer: Hello | undefined;
  closeReason: string | undefined;
  readonly #transport: LinkTransport;
  readonly #options: LinkOptions;
  #closed = false;
  #drain: Promise<void> | undefined;
  readonly #startedAt = Date.now();
  #lastSent = Date.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(transport: LinkTransport, options: LinkOptions) {
    this.#transport = transport;
    this.#options = options;
    this.direction = options.direction;
    this.address = options.address;
    this.weAccept = options.weAccept;
    this.log = options.log.child({ link: this.id, peer: options.address, direction: options.direction });
    transport.output.on('error', () => this.close('connection failed'));
    transport.output.on('close', () => this.close('connection closed'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The peer takes bundles from us (its HELLO says so). */
  get peerAccepts(): boolean {
    return this.peer?.accepts === true;
  }

  /** Sends our HELLO and reads until the link ends; resolves when it has. */
  async run(): Promise<void> {
    this.#keepalive();
    try {
      await this.send(FrameType.HELLO, encodeJson(this.#options.localHello()));
      await this.#read();
      this.close(this.closeReason ?? 'peer ended the link', true);
    } catch (err) {
      const reason = err instanceof FrameError ? `protocol error: ${err.message}` : err instanceof LinkClosedError ? (this.closeReason ?? 'closed') : 'connection failed';
      if (err instanceof FrameError) await this.bye('protocol', err.message);
      this.close(reason);
    }
  }

  async #read(): Promise<void> {
    const reader = new FrameReader();
    for await (const chunk of this.#transport.input) {
      if (this.#closed) return;
      this.stats.wireIn += chunk.length;
      this.stats.lastContact = Date.now();
      for (const frame of reader.push(chunk)) {
        if (this.#closed) return;
        if (this.peer === undefined) {
          this.#hello(frame.type, frame.body);
          continue;
        }
        switch (frame.type) {
          case FrameType.BYE:
            this.#bye(frame.body);
            return;
          case FrameType.PING:
            // Echoed up to 64 bytes (docs/sync.md §4): a PING is no way to make us send much.
            void this.send(FrameType.PONG, Buffer.from(frame.body.subarray(0, 64))).catch(() => undefined);
            break;
          case FrameType.PONG:
            break;
          default:
            await this.#options.handlers.frame(this, frame);
        }
      }
    }
    if (!reader.idle) throw new FrameError('stream ended inside a frame');
  }

  #hello(type: number, body: Buffer): void {
    if (type === FrameType.BYE) {
      this.#bye(body);
      throw new LinkClosedError(this.closeReason);
    }
    if (type !== FrameType.HELLO) throw new FrameError(`expected HELLO, got ${FRAME_NAMES[type] ?? type}`);
    const hello = parseHello(decodeJsonObject(body));
    if (hello.version[0] !== PROTOCOL_MAJOR) {
      void this.bye('version', `protocol ${PROTOCOL_MAJOR}.x only`);
      throw new LinkClosedError(`peer speaks protocol ${hello.version.join('.')}`);
    }
    this.peer = hello;
    this.stats.connectedSince = Date.now();
    const refusal = this.#options.handlers.hello(this);
    if (refusal !== undefined) {
      void this.bye(refusal, `link refused: ${refusal}`);
      throw new LinkClosedError(`refused: ${refusal}`);
    }
    this.log.info({ node: hello.node, software: hello.software, accepts: hello.accepts }, 'sync link up');
  }

  #bye(body: Buffer): void {
    let code = 'bye';
    try {
      const bye = decodeJsonObject(body);
      if (typeof bye.code === 'string') code = bye.code.slice(0, 40);
    } catch {
      // A BYE we cannot read still ends the link.
    }
    this.closeReason = `peer said ${code}`;
  }

  /**
   * Sends one frame; resolves when the transport can take more (backpressure). `parts` are
   * written as the body without being copied together (DATA frames carry payload chunks).
   */
  async send(type: number, ...parts: Buffer[]): Promise<void> {
    if (this.#closed) throw new LinkClosedError(this.closeReason);
    const length = parts.reduce((n, p) => n + p.length, 0);
    const out = this.#transport.output;
    let ok: boolean;
    if (parts.length === 1) {
      ok = out.write(encodeFrame(type, parts[0]));
    } else {
      out.cork();
      out.write(frameHeader(type, length));
      for (let i = 0; i < parts.length - 1; i++) out.write(parts[i]);
      ok = out.write(parts.at(-1));
      out.uncork();
    }
    this.stats.wireOut += length + 5;
    this.#lastSent = Date.now();
    if (!ok) await this.#drained();
    if (this.#closed) throw new LinkClosedError(this.closeReason);
  }

  #drained(): Promise<void> {
    this.#drain ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.#transport.output.off('drain', done);
        this.#transport.output.off('close', done);
        this.#drain = undefined;
        resolve();
      };
      this.#transport.output.on('drain', done);
      this.#transport.output.on('close', done);
    });
    return this.#drain;
  }

  /** Says why and ends our side; the peer ends its side in turn. */
  async bye(code: string, message: string): Promise<void> {
    try {
      await this.send(FrameType.BYE, encodeJson({ code, message }));
    } catch {
      // Closing anyway.
    }
    this.closeReason ??= code;
    this.#transport.output.end();
  }

  /**
   * Ends the link (idempotent); handlers hear of it once. `graceful`: the peer ended its side (or
   * said BYE): we end ours and let the exchange finish; otherwise it is cut at once.
   */
  close(reason: string, graceful = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeReason ??= reason;
    clearTimeout(this.#timer);
    if (graceful) {
      this.#transport.output.end();
      setTimeout(() => this.#transport.destroy(), 2000).unref();
    } else {
      this.#transport.destroy();
    }
    this.log.info(
      {
        reason: this.closeReason,
        seconds: this.stats.connectedSince === undefined ? 0 : Math.round((Date.now() - this.stats.connectedSince) / 1000),
        bundlesIn: this.stats.bundlesIn,
        bundlesOut: this.stats.bundlesOut,
        bytesIn: this.stats.bytesIn,
        bytesOut: this.stats.bytesOut,
      },
      'sync link down',
    );
    this.#options.handlers.closed(this);
  }

  /** PING when we have been silent; close a peer that has been silent too long. */
  #keepalive(): void {
    this.#timer = setTimeout(() => {
      if (this.#closed) return;
      const heard = this.stats.lastContact ?? this.#startedAt;
      if (Date.now() - heard > LINK_DEAD_MS) {
        this.close('peer silent');
        return;
      }
      if (Date.now() - this.#lastSent >= PING_MS) void this.send(FrameType.PING, Buffer.alloc(0)).catch(() => undefined);
      this.#keepalive();
    }, PING_MS / 3);
    this.#timer.unref();
  }
}
