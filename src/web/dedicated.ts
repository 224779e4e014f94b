/**
 * A dedicated web server: its own process, attached to a node through the node's control socket.
 * It terminates TLS and relays every client connection over one link to the node
 * (src/web/link-front.ts), which parses and answers the requests with its own pipeline under this
 * server's mode. It survives the node's restarts (answering 503 meanwhile) and the node survives
 * its crashes; several may run beside the node's own servers, on other ports.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { TendrilError } from '../errors.js';
import { clientCertStatus } from '../http/access.js';
import { closeServer, createHttpServer } from '../http/listener.js';
import type { Pipeline, RequestListener } from '../http/pipeline.js';
import { sendError } from '../http/respond.js';
import type { Logger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { SERVER_HEADER } from '../node/node.js';
import { createFront } from './link-front.js';
import { listenForSpec } from './listen.js';
import { MODE_POLICY } from './modes.js';
import { helloRules, serverRules } from './policy.js';
import { checkSpec, serverUrl, servesOf, type ServerSpec } from './spec.js';

export interface RunningWebServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Answers every request 503 "The node is not running", and closes: the next connection tries the node again. */
function unavailablePipeline(log: Logger): Pipeline {
  const rc = { serverHeader: SERVER_HEADER, cors: undefined, log };
  const answer: RequestListener = (_req, res) => {
    res.shouldKeepAlive = false;
    sendError(res, new TendrilError('NODE_NOT_RUNNING', { headers: { 'Retry-After': '1' } }), rc);
  };
  return { onRequest: answer, onCheckContinue: answer };
}

/** Starts a dedicated server for `spec` in front of the node of `paths`. */
export async function startDedicatedServer(paths: InstancePaths, spec: ServerSpec, log: Logger, defaultPort: number): Promise<RunningWebServer> {
  const tls = checkSpec(spec);
  let url = '';
  const unavailable = createHttpServer(unavailablePipeline(log), log, SERVER_HEADER);
  const rules = helloRules(serverRules(spec, tls));
  const front = createFront({
    socketPath: paths.controlSocket,
    hello: () => ({ mode: spec.mode, url, serve: servesOf(spec), ...rules }),
    unavailable,
    log,
  });
  const clients = new Set<Socket>();
  const track = (socket: Socket): void => {
    clients.add(socket);
    socket.once('close', () => clients.delete(socket));
  };
  // A client's half-close is relayed as such: it may still be waiting for its answer.
  const server: NetServer = tls
    ? createTlsServer(
        { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.ca !== undefined, rejectUnauthorized: false, allowHalfOpen: true },
        (socket: TLSSocket) => {
          track(socket);
          front.accept(socket, MODE_POLICY[spec.mode].clientCerts ? clientCertStatus(socket) : 'missing');
        },
      )
    : createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        track(socket);
        front.accept(socket, 'missing');
      });
  // A failed TLS handshake has no one to answer.
  server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
  const port = await listenForSpec(server, spec, defaultPort);
  url = serverUrl(spec, port, tls !== undefined);
  log.info({ url, mode: spec.mode }, 'web server started');
  return {
    url,
    port,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of clients) socket.destroy();
      front.close();
      await closed;
      await closeServer(unavailable);
    },
  };
}
