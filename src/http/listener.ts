/**
 * HTTP listeners: a TCP listener for clients and the owner-only Unix control socket, both serving
 * a Pipeline. Errors Node's parser finds before a request exists (oversized headers, a garbage
 * request line, a truncated request) are answered here as JSON results, never left to Node's
 * bare defaults, and never crash the process.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as NetServer, Socket } from 'node:net';
import { TendrilError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { Admission, DEFAULT_LIMITS } from './admission.js';
import { IDLE_TIMEOUT_MS, MAX_HEADER_BYTES, MAX_HEADER_COUNT } from './limits.js';
import type { Pipeline } from './pipeline.js';
import { rawErrorResponse } from './respond.js';

const PARSER_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HTTP_HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP_REQUEST_TIMEOUT',
};

/** Certificate, key and (for client certificates) the CA that signs them, in PEM. */
export interface TlsOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

const HTTP_OPTIONS = {
  maxHeaderSize: MAX_HEADER_BYTES,
  // Uploads of any size are bounded by the idle timeout instead of a total time.
  requestTimeout: 0,
  headersTimeout: IDLE_TIMEOUT_MS,
  // How often Node checks headersTimeout: its default of 30 s would let a client that dribbles
  // its header block hold a connection for up to 50 s, not 20.
  connectionsCheckingInterval: 1_000,
  keepAliveTimeout: 5_000,
  // The reference serves HTTP/1.1 requests without a Host header; so does Tendril.
  requireHostHeader: false,
};

/**
 * An HTTP server, or HTTPS with `tls`. With a client CA, clients are asked for a certificate but
 * not refused during the handshake: the pipeline answers 403 with a JSON result saying why, which
 * a client can read, where a failed handshake says nothing.
 */
export function createHttpServer(pipeline: Pipeline, log: Logger, serverHeader: string, tls?: TlsOptions, admission?: Admission): Server {
  const server: Server = tls
    ? createHttpsServer(
        { ...HTTP_OPTIONS, cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.ca !== undefined, rejectUnauthorized: false },
        pipeline.onRequest,
      )
    : createServer(HTTP_OPTIONS, pipeline.onRequest);
  server.maxHeadersCount = MAX_HEADER_COUNT;
  // A client may half-close its side once it has sent its request (`socket.end(request)`) and
  // still expects the answer, as the reference gives it. Node's default aborts such a request and
  // closes at once, which loses every answer that is not written synchronously (a streamed list,
  // an upload, anything a dedicated server forwards). With this set, Node answers the requests
  // it has, then closes. (A property of node:http's Server since its beginning, not in its types.)
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.on('checkContinue', pipeline.onCheckContinue);
  // An Expect other than 100-continue is ignored, as the reference ignores it (spec §1.4); Node
  // would answer 417 with an empty body.
  server.on('checkExpectation', pipeline.onRequest);
  server.setTimeout(IDLE_TIMEOUT_MS, (socket: Socket) => socket.destroy());
  admitConnections(server, admission ?? new Admission(() => DEFAULT_LIMITS), tls !== undefined, serverHeader, log);
  // A parser that failed reports every further chunk it is fed as another error: one answer each.
  const refused = new WeakSet<Socket>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (refused.has(socket)) return;
    refused.add(socket);
    const e = new TendrilError(PARSER_ERRORS[code] ?? 'HTTP_BAD_REQUEST');
    log.info({ remote: socket.remoteAddress ?? 'local', status: e.status, parser: code }, 'request refused by parser');
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (inFlight && !inFlight.writableFinished && !inFlight.req.complete) {
      // The error is in the body of the request being handled (a malformed chunk, or the client
      // ended its side before the Content-Length was reached): the rest of that body can never
      // arrive, and a handler waiting for it would hold the connection until the idle timeout.
      // The body ends where it broke: a handler reading it answers 400 (the multipart parser finds
      // it cut short), one that was not reading answers as it would have; then the connection
      // closes. That request's own answer is the only one.
      inFlight.shouldKeepAlive = false;
      // Marked complete, or Node would take the body's end for an abort and destroy the socket
      // with the answer still in it.
      inFlight.req.complete = true;
      inFlight.req.push(null);
      inFlight.once('finish', () => socket.end());
      inFlight.once('close', () => socket.end());
      return;
    }
    const reply = rawErrorResponse(e, serverHeader);
    // With pipelining, the garbage may follow a good request whose response is still being
    // made: answer that one first, then the error, then close.
    if (inFlight && !inFlight.writableFinished) {
      inFlight.once('finish', () => socket.end(reply));
      inFlight.once('close', () => socket.end());
    } else {
      socket.end(reply);
    }
  });
  return server;
}

/** Refused connections still being told so, at most; beyond it they are cut without a word. */
const MAX_LINGERING = 64;

/**
 * Puts admission control in front of the server's own connection handling: a connection over a
 * limit never reaches the HTTP parser. On plain HTTP it is told why (a 503 or 429 JSON result,
 * then closed, its request read and dropped for a second so the answer is not lost to a reset);
 * a TLS one is closed at once, before a handshake is spent on it. Unix sockets (the control
 * socket) are not limited here.
 */
function admitConnections(server: Server, admission: Admission, tls: boolean, serverHeader: string, log: Logger): void {
  const inner = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  let lingering = 0;
  let warned = 0;
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress;
    const admitted = client === undefined ? undefined : admission.connection(client);
    if (typeof admitted === 'string') {
      if (Date.now() - warned > 10_000) {
        warned = Date.now();
        log.warn({ remote: client, code: admitted, ...admission.stats() }, 'connections refused');
      }
      if (tls || lingering >= MAX_LINGERING) {
        socket.destroy();
        return;
      }
      lingering++;
      socket.on('error', () => socket.destroy());
      socket.once('close', () => lingering--);
      socket.setTimeout(1000, () => socket.destroy());
      socket.end(rawErrorResponse(new TendrilError(admitted, { headers: { 'Retry-After': '1' } }), serverHeader));
      socket.resume();
      return;
    }
    if (admitted) socket.once('close', admitted);
    for (const listener of inner) listener.call(server, socket);
  });
}

export function listenTcp(server: NetServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, backlog: 511 }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * Listens on the first free port from `base` to `base + span` (the reference's rule, spec §1.1);
 * port 0 asks the system for any free port.
 */
export async function listenFirstFree(server: NetServer, host: string, base: number, span = 100): Promise<number> {
  if (base === 0) return listenTcp(server, host, 0);
  for (let port = base; port <= Math.min(base + span, 65535); port++) {
    try {
      return await listenTcp(server, host, port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error(`no free port from ${base} to ${base + span}`);
}

/**
 * Listens on a Unix socket that only the owner may connect to, from the moment it exists: it is
 * made under a umask that leaves others no permission (a chmod afterwards would leave a moment in
 * which another local user could connect and be answered as the owner). Node binds within
 * listen() itself, so the umask is back before any other code runs.
 */
export function listenUnix(server: Server, path: string): Promise<void> {
  // A socket file left by a process that died would make listen() fail; the caller holds the
  // instance lock, so no live process owns it.
  if (existsSync(path)) unlinkSync(path);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        chmodSync(path, 0o600);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
