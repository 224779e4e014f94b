/**
 * A private PostgreSQL server for tests and benchmarks: `initdb` in a temporary directory, then
 * `postgres` listening on a Unix socket in that directory and on a free loopback port. A real
 * server (Debian's `postgresql` package), never an imitation.
 *
 * initdb and postgres refuse to run as root, and CI runs as root: then both run as the
 * unprivileged `postgres` user (setpriv execs in place, so the child is the postmaster itself
 * and signals reach it). Binaries are found under /usr/lib/postgresql/<version>/bin, where
 * Debian puts them (they are not on PATH).
 *
 * Local (socket) connections are trusted; TCP connections need the superuser's password
 * (scram-sha-256), so tests can exercise PGPASSWORD and PGPASSFILE.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PG_USER = 'tendril';
export const PG_PASSWORD = 'pg-test-secret';

export interface PostgresServer {
  /** Directory of the Unix socket (and of the data directory). */
  readonly socketDir: string;
  readonly port: number;
  /** `postgres://tendril@/postgres?host=SOCKETDIR`: the socket, no password needed. */
  readonly adminUrl: string;
  /** A URL for `database` over the socket. */
  socketUrl(database: string): string;
  /** A URL for `database` over TCP (the password must come from PGPASSWORD or PGPASSFILE). */
  tcpUrl(database: string): string;
  /** SIGQUIT: an immediate shutdown, as a crash would leave it (recovery runs at the next start). */
  crash(): Promise<void>;
  /** Starts the server again on the same directory and port (after crash() or stop()). */
  restart(): Promise<void>;
  /** A fast shutdown (SIGINT) that waits for the postmaster to exit; removes nothing. */
  stop(): Promise<void>;
  /** stop() and remove the directory. */
  destroy(): Promise<void>;
}

export interface StartOptions {
  /** Tests trade an OS crash's durability for speed (fsync=off); benchmarks keep the default. */
  readonly durable?: boolean;
  /** Leave the directory when the process exits. */
  readonly keep?: boolean;
  /** Leave the server running when the process exits (another process stops it). */
  readonly detach?: boolean;
}

/** The newest Debian PostgreSQL binary of this name. */
export function postgresBinary(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`PostgreSQL's ${name} not found under ${root} (apt-get install postgresql)`);
  return join(root, versions[0]!, 'bin', name);
}

const asRoot = process.getuid?.() === 0;

/** argv that runs `bin` as the unprivileged postgres user when we are root. */
function unprivileged(bin: string, args: string[]): [string, string[]] {
  if (!asRoot) return [bin, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', bin, ...args]];
}

function postgresUid(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startPostgres(options: StartOptions = {}): Promise<PostgresServer> {
  const root = mkdtempSync(join(tmpdir(), 'tendril-pg-'));
  const data = join(root, 'data');
  const pwfile = join(root, 'pwfile');
  writeFileSync(pwfile, `${PG_PASSWORD}\n`, { mode: 0o600 });
  if (asRoot) {
    const { uid, gid } = postgresUid();
    chownSync(root, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const [initdb, initArgs] = unprivileged(postgresBinary('initdb'), [
    '-D', data, '-U', PG_USER, '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256',
    '--encoding=UTF8', '--locale=C', '--no-sync',
  ]);
  const init = spawnSync(initdb, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }
  rmSync(pwfile);
  const port = await freePort();
  const settings = [
    '-D', data, '-k', root, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
    '-c', 'max_connections=300', '-c', 'shared_buffers=64MB', '-c', 'log_min_messages=fatal',
    ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'full_page_writes=off']),
  ];
  let postmaster: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const logFile = join(root, 'postgres.log');
  const start = async (): Promise<void> => {
    const [bin, args] = unprivileged(postgresBinary('postgres'), settings);
    // The server's log goes to a file, and the child is not waited for: a test process whose
    // work is done exits (and takes the server down with it, below).
    const out = openSync(logFile, 'a');
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', out], detached: options.detach === true });
    closeSync(out);
    child.unref();
    postmaster = child;
    const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '');
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // Ready once the socket file exists and pg_isready says so.
    const isready = postgresBinary('pg_isready');
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`postgres exited: ${log()}`);
      if (spawnSync(isready, ['-q', '-h', root, '-p', String(port)]).status === 0) return;
      if (i > 600) throw new Error(`postgres did not start: ${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (postmaster?.exitCode === null && postmaster.signalCode === null) {
      postmaster.ref(); // waited for: the process must not exit meanwhile
      postmaster.kill(sig);
    }
    await exited;
  };
  await start();
  // The server goes with the process that started it, however that process ends.
  const onExit = (): void => {
    if (postmaster?.exitCode === null) postmaster.kill('SIGQUIT');
    if (!options.keep) rmSync(root, { recursive: true, force: true });
  };
  if (!options.detach) process.once('exit', onExit);

  const url = (database: string, host: string): string => `postgres://${PG_USER}@${host}/${database}`;
  return {
    socketDir: root,
    port,
    adminUrl: `${url('postgres', 'localhost')}?host=${encodeURIComponent(root)}&port=${port}`,
    socketUrl: (database) => `${url(database, 'localhost')}?host=${encodeURIComponent(root)}&port=${port}`,
    tcpUrl: (database) => url(database, `127.0.0.1:${port}`),
    crash: () => signal('SIGQUIT'),
    restart: start,
    stop: () => signal('SIGINT'),
    destroy: async () => {
      await signal('SIGINT');
      process.removeListener('exit', onExit);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
