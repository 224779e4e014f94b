/**
 * A dedicated web server's side of its link to the node (src/web/link-frames.ts): every client
 * connection it accepts (after TLS) is relayed over one link as it came, byte for byte, and the
 * node's bytes go back the same way. The web server parses nothing: the node answers every
 * request, as its own servers would. The link is opened when a client first needs it and again
 * after the node restarted; while the node cannot be reached, a client's connection is handed to
 * `unavailable` (an HTTP server answering 503).
 */
import { request } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientCertStatus } from '../http/access.js';
import type { Logger } from '../log.js';
import { ACK_EVERY, FRAME, FrameReader, LINK_PATH, LINK_PROTOCOL, Outbox, WINDOW, type FrontHello, type FrontOpen } from './link-frames.js';

/** How long a client waits for the link to open before it is told the node is not running. */
const ATTACH_TIMEOUT_MS = 5_000;

interface Relayed {
  readonly socket: Socket;
  /** Bytes sent to the node and not yet acknowledged. */
  unacked: number;
  /** Bytes from the node written to the client, and how many of those were acknowledged. */
  flushed: number;
  acked: number;
  /** The node sent END: it will write nothing more. */
  nodeEnded: boolean;
}

class Link {
  readonly #socket: Socket;
  readonly #outbox: Outbox;
  readonly #streams = new Map<number, Relayed>();
  #next = 1;
  #closed = false;

  constructor(socket: Socket, head: Buffer, hello: FrontHello, onClose: () => void) {
    this.#socket = socket;
    this.#outbox = new Outbox(socket);
    this.#outbox.sendJson(FRAME.HELLO, 0, hello);
    const reader = new FrameReader(
      (stream, bytes) => this.#data(stream, bytes),
      (type, stream, payload) => this.#frame(type, stream, payload),
    );
    const close = (): void => {
      if (this.#closed) return;
      this.#closed = true;
      onClose();
      socket.destroy();
      for (const r of this.#streams.values()) r.socket.destroy();
      this.#streams.clear();
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        close();
      }
    });
    socket.on('error', close);
    socket.on('close', close);
    socket.on('end', close);
    if (head.length > 0) socket.emit('data', head);
  }

  get closed(): boolean {
    return this.#closed;
  }

  relay(socket: Socket, cert: ClientCertStatus): void {
    const id = this.#next;
    this.#next = this.#next >= 0xffffffff ? 1 : this.#next + 1;
    const r: Relayed = { socket, unacked: 0, flushed: 0, acked: 0, nodeEnded: false };
    this.#streams.set(id, r);
    const open: FrontOpen = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, family: socket.remoteFamily ?? '', cert };
    this.#outbox.sendJson(FRAME.OPEN, id, open);
    socket.on('data', (chunk: Buffer) => {
      this.#outbox.send(FRAME.DATA, id, chunk);
      r.unacked += chunk.length;
      if (r.unacked > WINDOW) socket.pause();
    });
    socket.on('end', () => {
      if (this.#streams.has(id)) this.#outbox.send(FRAME.END, id);
    });
    socket.on('close', () => {
      if (this.#streams.delete(id) && !this.#closed) this.#outbox.send(FRAME.CLOSE, id);
    });
    socket.resume();
  }

  #data(stream: number, bytes: Buffer): void {
    const r = this.#streams.get(stream);
    if (r === undefined || r.socket.destroyed) return;
    r.socket.write(bytes, () => {
      r.flushed += bytes.length;
      if (r.flushed - r.acked >= ACK_EVERY && this.#streams.has(stream)) {
        this.#outbox.sendAck(stream, r.flushed - r.acked);
        r.acked = r.flushed;
      }
    });
  }

  #frame(type: number, stream: number, payload: Buffer): void {
    const r = this.#streams.get(stream);
    if (r === undefined) return;
    if (type === FRAME.ACK) {
      r.unacked -= payload.readUInt32BE(0);
      if (r.unacked <= WINDOW && r.socket.isPaused()) r.socket.resume();
    } else if (type === FRAME.END) {
      r.nodeEnded = true;
      r.socket.end();
    } else if (type === FRAME.CLOSE) {
      this.#streams.delete(stream);
      // After END the node's bytes are all queued: they go out, then the connection closes. A
      // CLOSE without END means the node dropped the connection (a timeout, a broken answer).
      if (r.nodeEnded) r.socket.destroySoon();
      else r.socket.destroy();
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

export interface Front {
  /** Relays a new client connection (paused until it is relayed or refused). */
  accept(socket: Socket, cert: ClientCertStatus): void;
  close(): void;
}

export function createFront(options: { socketPath: string; hello: () => FrontHello; unavailable: Server; log: Logger }): Front {
  const { log } = options;
  let link: Link | undefined;
  let opening: Promise<Link | undefined> | undefined;
  let closed = false;

  const open = (): Promise<Link | undefined> =>
    new Promise((resolve) => {
      const req = request({
        socketPath: options.socketPath,
        path: LINK_PATH,
        headers: { Connection: 'Upgrade', Upgrade: LINK_PROTOCOL },
        timeout: ATTACH_TIMEOUT_MS,
      });
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        if (closed) {
          socket.destroy();
          resolve(undefined);
          return;
        }
        socket.setTimeout(0);
        const made = new Link(socket, head, options.hello(), () => {
          if (link === made) link = undefined;
        });
        resolve(made);
      });
      req.on('response', (res) => {
        log.warn({ status: res.statusCode }, 'the node refused the link');
        res.resume();
        resolve(undefined);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', (err: NodeJS.ErrnoException) => {
        log.warn({ code: err.code }, 'node not reachable');
        resolve(undefined);
      });
      req.end();
    });

  const current = (): Promise<Link | undefined> => {
    if (link && !link.closed) return Promise.resolve(link);
    opening ??= open().then((made) => {
      opening = undefined;
      link = made;
      return made;
    });
    return opening;
  };

  return {
    accept(socket, cert) {
      socket.pause();
      socket.setNoDelay(true);
      socket.on('error', () => socket.destroy());
      void current().then((l) => {
        if (socket.destroyed) return;
        if (l && !l.closed) {
          l.relay(socket, cert);
        } else {
          options.unavailable.emit('connection', socket);
          socket.resume();
        }
      });
    },
    close() {
      closed = true;
      link?.close();
    },
  };
}
