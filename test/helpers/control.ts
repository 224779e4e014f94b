/**
 * Test support for the owner-only control socket: HTTP requests over a Unix socket path, and raw
 * byte exchanges with any listener (TCP port or socket path).
 */
import { request as httpRequest } from 'node:http';
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { readReply, type Reply } from './node.js';

export interface UnixRequestOptions {
  readonly headers?: Record<string, string | number>;
  readonly body?: Buffer | string;
}

/**
 * One request over the Unix socket at `socketPath`, no credentials. A response that arrives before
 * the body is fully written (an early refusal) is still returned: write errors after it are
 * ignored, as a client would.
 */
export function unixRequest(socketPath: string, method: string, path: string, options: UnixRequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({ socketPath, method, path, headers: options.headers, agent: false }, (res) => {
      answered = true;
      readReply(res).then(resolve, reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(options.body);
  });
}

/** Where a raw exchange connects: `{ path }` for a Unix socket, `{ host, port }` for TCP. */
export type Target = NetConnectOpts;

/** Sends raw bytes and returns everything the server sends back until it closes (or `ms` pass). */
export function rawExchangeAt(target: Target, bytes: Buffer | string, ms = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(target);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.write(bytes);
  });
}

/** What the server sent first after a request head with `Expect: 100-continue`, and in total. */
export interface ContinueExchange {
  /** The bytes received before the client sent any body (within `waitMs`). */
  readonly beforeBody: string;
  /** Everything received until the server closed the connection. */
  readonly all: Buffer;
}

/**
 * Sends `head` (ending in CRLF CRLF, with `Expect: 100-continue` and `Connection: close`), waits
 * up to `waitMs` for the server to say something, then sends `body` (if the connection is still
 * open) and collects the rest.
 */
export function expectContinueExchange(target: Target, head: string, body: Buffer, waitMs = 1000): Promise<ContinueExchange> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(target);
    const chunks: Buffer[] = [];
    let beforeBody: string | undefined;
    const sendBody = (): void => {
      if (beforeBody !== undefined) return;
      beforeBody = Buffer.concat(chunks).toString('latin1');
      if (!socket.destroyed && socket.writable) socket.write(body);
    };
    const waiting = setTimeout(sendBody, waitMs);
    const giveUp = setTimeout(() => socket.destroy(), waitMs + 10_000);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // The interim response is complete: the client may send the body now.
      if (beforeBody === undefined && Buffer.concat(chunks).includes('\r\n\r\n')) {
        clearTimeout(waiting);
        sendBody();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => {
      clearTimeout(waiting);
      clearTimeout(giveUp);
      resolve({ beforeBody: beforeBody ?? Buffer.concat(chunks).toString('latin1'), all: Buffer.concat(chunks) });
    });
    socket.write(head);
  });
}
