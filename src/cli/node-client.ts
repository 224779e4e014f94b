/**
 * How CLI commands reach a node: the typed client (src/client/) over the instance's owner-only
 * control socket. If no node is running, the command starts one for its own duration, without a
 * TCP listener, and talks to it the same way, so the CLI and REST clients always get the same
 * behaviour from the same code.
 */
import { existsSync } from 'node:fs';
import type { TendrilClient } from '../client/index.js';
import { createSocketClient } from '../client/node.js';
import { buildConfig } from '../config/config.js';
import { readConfigFile } from '../config/file.js';
import { silentLogger } from '../log.js';
import type { InstancePaths } from '../node/instance.js';
import { startNode } from '../node/node.js';
import { runningPid } from '../node/pid-lock.js';
import { abortError } from '../client/transport.js';
import type { Io } from './io.js';

/** Resolves when `signal` aborts: with an AbortError, for Promise.race. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(abortError());
    signal.addEventListener('abort', () => reject(abortError()), { once: true });
  });
}

/**
 * Runs `fn` against the instance's node: the running one, or one started just for this command.
 * Ctrl-C (io.signal) ends the wait at once; the client's connections are closed and a node started
 * here is stopped before the AbortError reaches main().
 */
export async function withNode<T>(paths: InstancePaths, io: Io, fn: (client: TendrilClient) => Promise<T>): Promise<T> {
  let stop: (() => Promise<void>) | undefined;
  if (runningPid(paths.pidFile) === undefined || !existsSync(paths.controlSocket)) {
    const config = buildConfig(readConfigFile(paths.configFile));
    const node = await startNode({ paths, config: () => config, log: silentLogger(), tcp: false });
    stop = () => node.stop();
  }
  const client = createSocketClient(paths.controlSocket);
  try {
    return await Promise.race([fn(client), aborted(io.signal)]);
  } finally {
    client.close();
    await stop?.();
  }
}

/** True when a node (not a one-shot command) is serving this instance. */
export function nodeIsRunning(paths: InstancePaths): boolean {
  return runningPid(paths.pidFile) !== undefined;
}
