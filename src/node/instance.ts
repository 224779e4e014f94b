/**
 * The instance directory: everything one node owns (config, keyring, store, logs, control socket,
 * run state). Chosen by `--instance DIR`, else TENDRIL_INSTANCE_PATH, else ~/.tendril.
 */
import { mkdirSync, statSync, type Stats } from 'node:fs';
import { fail } from '../errors.js';
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

/**
 * Creates the instance directory owner-only (it holds secrets and the control socket), and
 * refuses one that another local user could change: one that is not the user's own, or that
 * others may write to. Another user who can write there can replace the config (`noauth`), the
 * keyring or the token file, or put a socket of their own where the CLI sends its PINs.
 */
export function ensureInstanceDirs(paths: InstancePaths): void {
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  checkOwned(paths.root, 'the instance directory');
  mkdirSync(join(paths.root, 'proc'), { recursive: true, mode: 0o700 });
  mkdirSync(paths.logDir, { recursive: true, mode: 0o700 });
  for (const [path, what] of [
    [join(paths.root, 'proc'), 'its proc directory'],
    [paths.logDir, 'its logs directory'],
    [paths.storeDir, 'its store directory'],
    [paths.configFile, 'its configuration file'],
    [paths.keyringFile, 'its keyring'],
    [paths.tokensFile, 'its token file'],
  ] as const) {
    checkOwned(path, what);
  }
}

/** A USAGE-like refusal naming the path, what is wrong and how to mend it; missing paths pass. */
function checkOwned(path: string, what: string): void {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) {
    fail('INSTANCE_UNSAFE', { arg: `${what} ${path} belongs to uid ${st.uid}, not to this user (uid ${uid}); run Tendril as its owner or choose another --instance` });
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    fail('INSTANCE_UNSAFE', { arg: `${what} ${path} may be written by other users (mode ${mode}); chmod go-w ${path}` });
  }
}
