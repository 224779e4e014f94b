/**
 * The client in Node (`tendril/client/node`): HTTP over TCP, TLS (with a CA, and a client
 * certificate for mtls mode) or the node's control socket, whose listener is checked before
 * anything is sent (socket-check.ts); and files as upload sources, streamed in constant memory.
 */
import { createReadStream, statSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { createClient, type ClientOptions, type TendrilClient } from './client.js';
import type { ByteSource } from './multipart.js';
import { checkControlSocket } from './socket-check.js';
import { abortError, makeResponse, type SendOptions, type Transport } from './transport.js';

export { checkControlSocket, UntrustedSocketError } from './socket-check.js';

export type NodeTarget =
  | { readonly socketPath: string }
  | {
      readonly url: string;
      /** CA certificates to trust (a server-mode node's own certificate, for one). */
      readonly ca?: string | Buffer;
      /** A client certificate and key, for an mtls-mode server. */
      readonly cert?: string | Buffer;
      readonly key?: string | Buffer;
    };

/** How long an upload waits for `100 Continue` before sending anyway (as curl does). */
const CONTINUE_WAIT_MS = 1000;

function webHeaders(res: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

function toResponse(res: IncomingMessage): Response {
  // A body never read to its end must not hold the connection: cancelling the stream destroys it.
  const body = Readable.toWeb(res) as ReadableStream<Uint8Array>;
  return makeResponse(body, res.statusCode ?? 0, res.statusMessage ?? '', webHeaders(res));
}

export function nodeTransport(target: NodeTarget): Transport {
  const socketPath = 'socketPath' in target ? target.socketPath : undefined;
  const url = socketPath === undefined ? new URL((target as { url: string }).url) : undefined;
  const tls = url?.protocol === 'https:';
  const tlsOptions = socketPath === undefined ? { ca: (target as { ca?: string | Buffer }).ca, cert: (target as { cert?: string | Buffer }).cert, key: (target as { key?: string | Buffer }).key } : {};
  const agent = tls ? new HttpsAgent({ keepAlive: true, ...tlsOptions }) : new HttpAgent({ keepAlive: true });

  function open(method: string, path: string, headers: OutgoingHttpHeaders, keepAlive: boolean): ClientRequest {
    if (socketPath !== undefined) checkControlSocket(socketPath);
    const options = {
      method,
      path,
      headers,
      // An upload is never on a shared connection: an early answer leaves its body unsent.
      agent: keepAlive ? agent : false,
      ...(socketPath !== undefined ? { socketPath } : { host: url!.hostname.replace(/^\[|\]$/g, ''), port: url!.port || (tls ? 443 : 80) }),
      ...(tls && !keepAlive ? tlsOptions : {}),
    };
    return tls ? httpsRequest(options) : httpRequest(options);
  }

  function onAbort(signal: AbortSignal | undefined | null, req: ClientRequest, reject: (e: Error) => void): void {
    if (!signal) return;
    const abort = (): void => {
      const err = abortError();
      req.destroy(err);
      reject(err);
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  }

  return {
    baseUrl: url ? url.origin : 'http://localhost',
    async fetch(request) {
      const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
      const headers: OutgoingHttpHeaders = Object.fromEntries(request.headers);
      if (body) headers['content-length'] = body.length;
      const { pathname, search } = new URL(request.url);
      return new Promise((resolve, reject) => {
        let req: ClientRequest;
        try {
          req = open(request.method, pathname + search, headers, true);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        req.on('response', (res) => resolve(toResponse(res)));
        req.on('error', reject);
        onAbort(request.signal, req, reject);
        req.end(body);
      });
    },
    send(options) {
      return send(options, open, onAbort);
    },
    close: () => agent.destroy(),
  };
}

/**
 * An upload. It waits for `100 Continue`, so an answer the node gives before reading the body (an
 * import it already has) costs no upload, and it stops sending as soon as any answer arrives (the
 * node answers some errors before reading the payload, spec §3.8.1). Aborting destroys the
 * connection mid-body: the node sees an incomplete request and stores nothing.
 */
function send(
  options: SendOptions,
  open: (method: string, path: string, headers: OutgoingHttpHeaders, keepAlive: boolean) => ClientRequest,
  onAbort: (signal: AbortSignal | undefined, req: ClientRequest, reject: (e: Error) => void) => void,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const total = options.body.length;
    let sent = 0;
    const source = Readable.from(
      (async function* () {
        for await (const chunk of options.body.chunks()) {
          sent += chunk.length;
          options.onProgress?.(sent, total);
          yield chunk;
        }
      })(),
      { objectMode: false },
    );
    // Keep-alive, although the connection is not reused: told `close`, the node would close as
    // soon as it answers early, and the rest of the upload would fail with EPIPE before the answer
    // is read. Told `keep-alive`, it reads and discards the rest (src/http/pipeline.ts).
    const headers: OutgoingHttpHeaders = { ...options.headers, 'Content-Length': total, Expect: '100-continue', Connection: 'keep-alive' };
    let req: ClientRequest;
    try {
      req = open(options.method, options.path, headers, false);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    let answered = false;
    let sending = false;
    const start = (): void => {
      if (sending || answered) return;
      sending = true;
      clearTimeout(timer);
      source.once('error', (err) => req.destroy(err));
      source.pipe(req);
    };
    const timer = setTimeout(start, CONTINUE_WAIT_MS);
    req.on('continue', start);
    req.on('response', (res) => {
      answered = true;
      clearTimeout(timer);
      if (!source.readableEnded) {
        source.unpipe(req);
        source.destroy();
      }
      res.once('end', () => req.destroy());
      resolve(toResponse(res));
    });
    // Once answered, a failed upload (the node stopped reading) no longer matters.
    req.on('error', (err) => {
      clearTimeout(timer);
      source.destroy();
      if (!answered) reject(err);
    });
    onAbort(options.signal, req, reject);
    req.flushHeaders();
  });
}

/** A file as an upload part, read as it is sent. */
export function fileSource(path: string): ByteSource {
  const stats = statSync(path);
  if (!stats.isFile()) throw new Error(`${path} is not a regular file`);
  const size = stats.size;
  return {
    size,
    stream: () => (size === 0 ? Readable.from([]) : createReadStream(path, { start: 0, end: size - 1, highWaterMark: 256 * 1024 })),
  };
}

/** A client for a node: over TCP/TLS (`url`) or its control socket (`socketPath`). */
export function createNodeClient(target: NodeTarget, options: Omit<ClientOptions, 'transport' | 'baseUrl'> = {}): TendrilClient {
  return createClient({ ...options, transport: nodeTransport(target) });
}

/** The client of the node of an instance directory, through its owner-only control socket. */
export function createSocketClient(socketPath: string): TendrilClient {
  return createNodeClient({ socketPath });
}
