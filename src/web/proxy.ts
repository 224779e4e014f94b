/**
 * A dedicated web server's request handling: it forwards every request, streaming both ways, to
 * the node over the owner-only control socket, naming its mode and reporting what only it can see
 * — the client's address and TLS certificate — so the node applies that mode's rules in the
 * pipeline's one order (src/web/policy.ts). The node authenticates, so tokens made or revoked
 * there take effect here at once; long-polls, uploads and payload downloads stream through
 * without being held.
 *
 * When the node is down (restarting) requests get 503 and the next request simply tries again.
 */
import { Agent, request, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { isTendrilError, TendrilError } from '../errors.js';
import { clientCertStatus } from '../http/access.js';
import { isBodyCutShort } from '../http/listener.js';
import type { Pipeline, RequestListener } from '../http/pipeline.js';
import { sendError, whenClientEnds } from '../http/respond.js';
import type { Logger } from '../log.js';
import { MODE_POLICY } from './modes.js';
import { FORWARDED, frontHeaders, isForwardingHeader, serverRules, type ServerRules } from './policy.js';
import { servesOf, type ServerSpec } from './spec.js';

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/** The request's end-to-end headers, as the client sent them; forwarding headers it sent are dropped. */
function requestHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !isForwardingHeader(name)) out[name] = value;
  }
  return out;
}

/**
 * The node's response headers with the node's spelling (`Content-Type`, not `content-type`), so
 * a client sees the same bytes from either server; hop-by-hop headers and Date are the proxy's own.
 */
function responseHeaders(reply: IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const raw = reply.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (!HOP_BY_HOP.has(lower) && lower !== 'date') out.push([name, raw[i + 1]!]);
  }
  return out;
}

export interface ProxyOptions {
  readonly socketPath: string;
  readonly spec: ServerSpec;
  readonly log: Logger;
  readonly serverHeader: string;
  /** This server's URL, reported to the node for its status; known once it listens. */
  readonly url: () => string;
  /** Its names, origins and legacy GETs, which the node applies (default: from spec alone). */
  readonly rules?: ServerRules;
}

export function createProxy(options: ProxyOptions): Pipeline & { close(): void } {
  const { spec, log } = options;
  const policy = MODE_POLICY[spec.mode];
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const rc = { serverHeader: options.serverHeader, cors: undefined, log };
  const front = frontHeaders(spec.mode, options.rules ?? serverRules(spec));

  function forward(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    // The node hears HTTP/1.1 from here whatever the client spoke: refuse the others as it would.
    if (req.httpVersionMajor !== 1) {
      sendError(res, new TendrilError('HTTP_BAD_REQUEST', { reason: 'Unsupported HTTP version' }), rc);
      return;
    }
    const headers = requestHeaders(req);
    // The body is framed exactly as the client framed it, whatever the method: Node sends a body
    // of a GET or DELETE without a length unframed, and the node would read it as a request of
    // its own — one a client could write.
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const unframed = !chunked && req.headers['content-length'] === undefined;
    const hasBody = chunked || Number(req.headers['content-length'] ?? 0) > 0;
    if (chunked) headers['transfer-encoding'] = 'chunked';
    // Without a body an Expect means nothing (the node ignores it too), and node:http would send
    // the request head at once for it, before its framing is settled below.
    if (!hasBody) delete headers.expect;
    Object.assign(headers, front);
    headers[FORWARDED.for] = req.socket.remoteAddress ?? '';
    if (policy.clientCerts) headers[FORWARDED.cert] = clientCertStatus(req.socket);
    headers[FORWARDED.url] = options.url();
    headers[FORWARDED.serve] = servesOf(spec).join(',');

    let upstream: ClientRequest | undefined;
    // A client that goes away ends the forwarded request too (a long-poll, a slow download).
    res.once('close', () => {
      if (!res.writableFinished) upstream?.destroy();
    });

    const attempt = (retry: boolean): void => {
      try {
        upstream = request({ socketPath: options.socketPath, method: req.method, path: req.url, headers, agent });
      } catch (err) {
        // A request target or header Node will not send on (it parsed it, but is stricter when
        // sending): a bad request, as the node's parser would call it.
        sendError(res, new TendrilError('HTTP_BAD_REQUEST', { cause: err }), rc);
        return;
      }
      const sent = upstream;
      sent.on('response', (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.statusMessage, responseHeaders(reply));
        // The node keeps its own idle rules (a long-poll may be quiet for a minute).
        res.socket?.setTimeout(0);
        reply.pipe(res);
        reply.on('error', () => res.destroy());
      });
      if (expectContinue) sent.on('continue', () => res.writeContinue());
      sent.on('error', (err: NodeJS.ErrnoException) => {
        if (res.headersSent || res.destroyed) {
          res.destroy();
          return;
        }
        if (isTendrilError(err)) {
          sendError(res, err, rc);
          return;
        }
        // A kept-alive connection the node closed just as it was reused: try a new one, once,
        // when nothing of the request is lost by doing so.
        if (retry && sent.reusedSocket && !hasBody && err.code === 'ECONNRESET') {
          attempt(false);
          return;
        }
        log.warn({ code: err.code }, 'node not reachable');
        sendError(res, new TendrilError('NODE_NOT_RUNNING', { headers: { 'Retry-After': '1' } }), rc);
      });
      if (hasBody) {
        // A chunked body may be a stream both ways (a sync link): the node hears the request now,
        // not only when the client's first bytes come.
        if (chunked) sent.flushHeaders();
        // A body cut short (the client closed its side early, or its chunks broke) must not
        // reach the node as if it were whole: the forwarded request is abandoned instead.
        req.pipe(sent, { end: false });
        req.once('end', () => {
          if (sent.destroyed) return;
          if (isBodyCutShort(req) && !res.headersSent) sent.destroy(new TendrilError('HTTP_INCOMPLETE_BODY'));
          else sent.end();
        });
        return;
      }
      if (unframed) {
        // Sent without any framing, so forwarded without any (Node would add Content-Length: 0
        // to a POST): the node answers it as it would answer the client (411 for an upload).
        sent.removeHeader('content-length');
        sent.removeHeader('transfer-encoding');
      }
      sent.end();
    };
    attempt(true);
    // One that stops sending (gone, or half-closed to await the answer) is passed on as such: the
    // node ends a long-poll at once and answers what it has, which goes back to the client.
    whenClientEnds(res, () => {
      const sent = upstream;
      const halfClose = (): void => void sent?.socket?.end();
      // Only once the whole request is on its way: the node must still hear all of it.
      if (sent?.writableFinished) halfClose();
      else sent?.once('finish', halfClose);
    });
  }

  const listener =
    (expectContinue: boolean): RequestListener =>
    (req, res) => {
      try {
        forward(req, res, expectContinue);
      } catch (err) {
        log.error({ err }, 'forwarding failed');
        res.destroy();
      }
    };
  return { onRequest: listener(false), onCheckContinue: listener(true), close: () => agent.destroy() };
}
