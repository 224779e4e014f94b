/**
 * The instance directory: everything one node owns (config, keyring, store, logs, control socket,
 * run state). Chosen by `--instance DIR`, else TENDRIL_INSTANCE_PATH, else ~/.tendril.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface InstancePaths {
  readonly root: string;
  readonly configFile: string;
  readonly keyringFile: string;
  /** Hashes of the API tokens. */
  readonly tokensFile: string;
  readonly storeDir: string;
  readonly logDir: string;
  readonly logFile: string;
  /** Holds the pid of the node while it runs; also the instance lock. */
  readonly pidFile: string;
  /** Owner-only Unix socket through which the CLI and dedicated web servers reach the node. */
  readonly controlSocket: string;
  /** JSON written once the node listens: pid, version, URLs. */
  readonly stateFile: string;
  /** The chosen REST port, as the reference writes it (proc/http_port). */
  readonly portFile: string;
}

export function resolveInstanceDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.TENDRIL_INSTANCE_PATH ?? join(homedir(), '.tendril'));
}

export function instancePaths(root: string): InstancePaths {
  return {
    root,
    configFile: join(root, 'tendril.conf'),
    keyringFile: join(root, 'keyring.tdk'),
    tokensFile: join(root, 'tokens.json'),
    storeDir: join(root, 'rhizome'),
    logDir: join(root, 'logs'),
    logFile: join(root, 'logs', 'tendril.log'),
    pidFile: join(root, 'tendril.pid'),
    controlSocket: join(root, 'tendril.sock'),
    stateFile: join(root, 'proc', 'state.json'),
    portFile: join(root, 'proc', 'http_port'),
  };
}

/** Creates the instance directory owner-only: it holds secrets and the control socket. */
export function ensureInstanceDirs(paths: InstancePaths): void {
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  mkdirSync(join(paths.root, 'proc'), { recursive: true, mode: 0o700 });
  mkdirSync(paths.logDir, { recursive: true, mode: 0o700 });
}
