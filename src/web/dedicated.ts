/**
 * A dedicated web server: its own process, attached to a node through the node's control socket
 * (src/web/proxy.ts). It survives the node's restarts (answering 503 meanwhile) and the node
 * survives its crashes; several may run beside the node's own servers, on other ports.
 */
import type { Server } from 'node:http';
import { closeServer, createHttpServer } from '../http/listener.js';
import type { Logger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { SERVER_HEADER } from '../node/node.js';
import { listenForSpec } from './listen.js';
import { serverRules } from './policy.js';
import { createProxy } from './proxy.js';
import { checkSpec, serverUrl, type ServerSpec } from './spec.js';

export interface RunningWebServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a dedicated server for `spec` in front of the node of `paths`. */
export async function startDedicatedServer(paths: InstancePaths, spec: ServerSpec, log: Logger, defaultPort: number): Promise<RunningWebServer> {
  const tls = checkSpec(spec);
  let url = '';
  const proxy = createProxy({ socketPath: paths.controlSocket, spec, log, serverHeader: SERVER_HEADER, url: () => url, rules: serverRules(spec, tls) });
  const server: Server = createHttpServer(proxy, log, SERVER_HEADER, tls);
  const port = await listenForSpec(server, spec, defaultPort);
  url = serverUrl(spec, port, tls !== undefined);
  log.info({ url, mode: spec.mode }, 'web server started');
  return {
    url,
    port,
    async stop() {
      await closeServer(server);
      proxy.close();
    },
  };
}
