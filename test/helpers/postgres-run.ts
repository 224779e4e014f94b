/**
 * One private PostgreSQL server for a whole test run (scripts/test.sh):
 *
 *   node --import tsx test/helpers/postgres-run.ts start   prints SOCKET_DIR:PORT (TENDRIL_TEST_PG)
 *   node --import tsx test/helpers/postgres-run.ts stop SOCKET_DIR:PORT
 *
 * The server outlives `start` (its directory is kept) until `stop` shuts it down and removes it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from './postgres-server.js';

const [command, arg] = process.argv.slice(2);
if (command === 'start') {
  const server = await startPostgres({ keep: true, detach: true });
  process.stdout.write(`${server.socketDir}:${server.port}\n`);
} else if (command === 'stop' && arg !== undefined) {
  const dir = arg.slice(0, arg.lastIndexOf(':'));
  const pidFile = join(dir, 'data', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    // SIGINT: a fast shutdown; waited for, so the directory is not removed under the server.
    try {
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 600 && existsSync(pidFile); i++) spawnSync('sleep', ['0.05']);
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
} else {
  process.stderr.write('usage: postgres-run.ts start | stop SOCKET_DIR:PORT\n');
  process.exit(2);
}
