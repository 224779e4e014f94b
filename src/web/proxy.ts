/**
 * A dedicated web server's request handling: it checks what only it can see — the peer's address
 * and TLS client certificate — and forwards everything else, streaming both ways, to the node over
 * the owner-only control socket, naming its mode so the node applies that mode's rules. The node
 * authenticates, so tokens made or revoked there take effect here at once; long-polls, uploads and
 * payload downloads stream through without being held.
 *
 * When the node is down (restarting) requests get 503 and the next request simply tries again.
 */
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { fail, TendrilError } from '../errors.js';
import { checkClientCertificate, isLoopback } from '../http/access.js';
import type { Pipeline, RequestListener } from '../http/pipeline.js';
import { sendError } from '../http/respond.js';
import type { Logger } from '../log.js';
import { MODE_POLICY } from './modes.js';
import { FORWARDED } from './policy.js';
import type { ServerSpec } from './spec.js';

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];

function withoutHopByHop(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.includes(name) && !name.startsWith('tendril-front') && name !== FORWARDED.for) {
      out[name] = value;
    }
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
}

export function createProxy(options: ProxyOptions): Pipeline & { close(): void } {
  const { spec, log } = options;
  const policy = MODE_POLICY[spec.mode];
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const rc = { serverHeader: options.serverHeader, cors: undefined, log };

  function forward(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    const remote = req.socket.remoteAddress ?? 'local';
    try {
      if (policy.loopbackOnly && !isLoopback(req.socket.remoteAddress)) fail('ACCESS_NOT_LOCAL');
      if (policy.clientCerts) checkClientCertificate(req.socket);
      // Control routes belong to the node's owner, never to a network listener.
      if ((req.url ?? '').startsWith('/control/')) fail('HTTP_NOT_FOUND');
    } catch (err) {
      sendError(res, err, rc);
      return;
    }
    const headers = {
      ...withoutHopByHop(req.headers),
      [FORWARDED.mode]: spec.mode,
      [FORWARDED.for]: remote,
      [FORWARDED.origins]: spec.allowedOrigins.join(','),
      [FORWARDED.url]: options.url(),
    };
    const upstream = request(
      { socketPath: options.socketPath, method: req.method, path: req.url, headers, agent },
      (reply) => {
        const replyHeaders = withoutHopByHop(reply.headers);
        delete replyHeaders.date;
        res.writeHead(reply.statusCode ?? 502, reply.statusMessage, replyHeaders);
        // The node keeps its own idle rules (a long-poll may be quiet for a minute).
        res.socket?.setTimeout(0);
        reply.pipe(res);
        reply.on('error', () => res.destroy());
      },
    );
    if (expectContinue) upstream.on('continue', () => res.writeContinue());
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      log.warn({ code: err.code }, 'node not reachable');
      sendError(res, new TendrilError('SERVICE_UNAVAILABLE', { reason: 'The node is not reachable' }), rc);
    });
    // A client that goes away ends the forwarded request too (a long-poll, a slow download).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
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
