/**
 * The node's side of the links of dedicated web servers (src/web/link-frames.ts): an Upgrade to
 * `tendril-link/1` on the owner-only control socket attaches one web server; each client connection
 * it then opens becomes a LinkSocket handed to an HTTP server of the node's own — the same parser
 * and pipeline as its embedded servers, with the access rules of that web server's mode.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { FRAME, FrameReader, LINK_PATH, LINK_PROTOCOL, Outbox, type FrontHello, type FrontOpen } from './link-frames.js';
import { LinkSocket } from './link-socket.js';

export interface LinkOptions {
  /** An HTTP server (not listening) for the client connections of the web server that said hello. */
  readonly serverFor: (hello: FrontHello) => Server;
  readonly log: Logger;
}

export interface Links {
  /** The web servers attached now. */
  attached(): FrontHello[];
  /** Detaches every web server (their clients' connections close). */
  close(): void;
}

/** Serves links on `control` (the control socket's HTTP server). */
export function acceptLinks(control: Server, options: LinkOptions): Links {
  const links = new Set<{ hello: FrontHello | undefined; socket: Socket }>();

  control.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (req.url !== LINK_PATH || req.headers.upgrade?.toLowerCase() !== LINK_PROTOCOL) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${LINK_PROTOCOL}\r\n\r\n`);
    const link = { hello: undefined as FrontHello | undefined, socket };
    links.add(link);
    const outbox = new Outbox(socket);
    const streams = new Map<number, LinkSocket>();
    let server: Server | undefined;

    const reader = new FrameReader(
      (stream, bytes) => streams.get(stream)?.received(bytes),
      (type, stream, payload) => {
        if (type === FRAME.HELLO && server === undefined) {
          link.hello = JSON.parse(payload.toString('utf8')) as FrontHello;
          server = options.serverFor(link.hello);
          options.log.info({ url: link.hello.url, mode: link.hello.mode }, 'web server attached');
          return;
        }
        if (server === undefined) throw new Error('link frame before hello');
        const s = streams.get(stream);
        if (type === FRAME.OPEN) {
          if (s) throw new Error(`stream ${stream} opened twice`);
          const sock = new LinkSocket(outbox, stream, JSON.parse(payload.toString('utf8')) as FrontOpen);
          streams.set(stream, sock);
          sock.once('close', () => streams.delete(stream));
          server.emit('connection', sock);
        } else if (type === FRAME.END) s?.ended();
        else if (type === FRAME.CLOSE) s?.peerClosed();
        else if (type === FRAME.ACK) s?.credited(payload.readUInt32BE(0));
      },
    );
    const detach = (): void => {
      if (!links.delete(link)) return;
      for (const s of streams.values()) s.peerClosed();
      streams.clear();
      if (link.hello) options.log.info({ url: link.hello.url }, 'web server detached');
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        options.log.warn({ err }, 'web server link broken');
        detach();
      }
    });
    socket.on('error', () => detach());
    socket.on('close', detach);
    socket.on('end', detach);
    if (head.length > 0) socket.emit('data', head);
  });

  return {
    attached: () => [...links].flatMap((l) => (l.hello ? [l.hello] : [])),
    close() {
      for (const l of [...links]) l.socket.destroy();
    },
  };
}
