/**
 * Listening for a web server spec, embedded or dedicated alike: the spec's port, or the first free
 * one from the default port up (the reference's rule); a port that cannot be had is a start-up
 * error naming the server, not a bare EADDRINUSE.
 */
import type { Server } from 'node:net';
import { fail } from '../errors.js';
import { listenFirstFree, listenTcp } from '../http/listener.js';
import type { ServerSpec } from './spec.js';

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'the port is in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'no interface has this address',
};

/** Listens as `spec` says; resolves with the port. */
export async function listenForSpec(server: Server, spec: ServerSpec, defaultPort: number): Promise<number> {
  try {
    return spec.port === undefined ? await listenFirstFree(server, spec.bind, defaultPort) : await listenTcp(server, spec.bind, spec.port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${spec.bind}:${spec.port ?? `${defaultPort}-${defaultPort + 100}`}`;
    const why = code === undefined ? (err as Error).message : (LISTEN_ERRORS[code] ?? code);
    fail('USAGE', { arg: `web server (${spec.mode} mode) cannot listen on ${where}: ${why}`, cause: err });
  }
}
