/**
 * Clients at addresses other than loopback, as a dedicated web server reports them: a listener on
 * loopback whose connections are relayed over a real link to the node (src/web/link-front.ts),
 * each claiming `address` as its client's. The node applies the rules of `mode` to them, exactly
 * as it does for a dedicated server's clients.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { silentLogger } from '../../src/log.js';
import { createFront } from '../../src/web/link-front.js';
import { isMode } from '../../src/web/modes.js';
import { servesOf } from '../../src/web/spec.js';
import { request, type Reply } from './node.js';

const relays = new Map<string, Promise<number>>();

function relayPort(socketPath: string, mode: string, address: string): Promise<number> {
  const key = `${socketPath}|${mode}|${address}`;
  let port = relays.get(key);
  if (port === undefined) {
    // Answers 503 for a node that is gone, as a dedicated server would.
    const unavailable = createServer((s) => s.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    const front = createFront({
      socketPath,
      hello: () => ({ mode, url: `http://relay.test/${address}`, serve: isMode(mode) ? servesOf({ mode }) : ['api'], origins: [] }),
      unavailable: unavailable as unknown as HttpServer,
      log: silentLogger(),
    });
    const server: Server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
      Object.defineProperty(socket, 'remoteAddress', { value: address });
      front.accept(socket, 'missing');
    });
    server.unref();
    port = new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    relays.set(key, port);
  }
  return port;
}

/** A request from a client at `address` through a dedicated server in `mode` of the node at `socketPath`. */
export async function relayedRequest(
  socketPath: string,
  address: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  mode = 'server',
): Promise<Reply> {
  const port = await relayPort(socketPath, mode, address);
  return request(port, method, path, { headers: { Host: 'localhost', ...headers }, auth: null });
}
