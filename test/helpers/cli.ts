/**
 * Test support for the command line: runs the real CLI (src/cli/entry.ts) as a child process, as a
 * user would, and cleans up nodes it left running.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../../src/node/pid-lock.js';
import type { InstancePaths } from '../../src/node/instance.js';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import { newKeyringFile, writeKeyringFile } from '../../src/store/keyring-file.js';
import { makeInstance } from './node.js';

/** The repository root: the CLI runs from there so `--import tsx` resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = 'src/cli/entry.ts';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment for CLI children: the caller's, without anything that picks an instance or a PIN. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.TENDRIL_INSTANCE_PATH;
  delete env.TENDRIL_DETACHED;
  if (!('TENDRIL_PIN' in extra)) delete env.TENDRIL_PIN;
  return env;
}

/** The argv of `tendril --instance DIR ...args` for process.execPath. */
export function cliArgs(instance: string, args: readonly string[]): string[] {
  return ['--import', 'tsx', ENTRY, '--instance', instance, ...args];
}

/** Runs `tendril --instance DIR ...args` to completion. */
export function runCli(
  instance: string,
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(instance, args), {
      cwd: REPO_ROOT,
      env: cliEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Runs the CLI and fails (with its output) unless it exits 0. */
export async function cliOk(instance: string, args: readonly string[], options?: { env?: Record<string, string> }): Promise<string> {
  const r = await runCli(instance, args, options);
  if (r.code !== 0) throw new Error(`tendril ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The pid in the instance's pid file, if any. */
export function pidOf(paths: InstancePaths): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(paths.pidFile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops a node a test left running in `paths`: SIGTERM to the pid of its pid file (the node this
 * test started, and only it), SIGKILL if it lingers.
 */
export async function killInstanceNode(paths: InstancePaths): Promise<void> {
  const pid = pidOf(paths);
  if (pid === undefined || !isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** Listens on 127.0.0.1:`port` (to make it busy); resolves undefined if it is taken already. */
export function occupyPort(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.destroy());
    server.once('error', () => resolve(undefined));
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}

/** A free TCP port in [low, high) with a free neighbour above it, picked at random. */
export async function randomBusyablePort(low = 20_000, high = 60_000): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    const a = await occupyPort(port);
    const b = await occupyPort(port + 1);
    a?.close();
    b?.close();
    if (a && b) return port;
  }
  throw new Error('no free pair of ports found');
}

/** The rows of `keyring list`/`load`/`add` output as [sid, identity, did, name], header checked. */
export function parseIdentityLines(stdout: string): string[][] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  if (lines[0] !== 'sid:identity:did:name') throw new Error(`unexpected keyring output: ${stdout}`);
  return lines.slice(1).map((l) => {
    const [sid, identity, did, ...name] = l.split(':');
    return [sid!, identity!, did!, name.join(':')];
  });
}

/**
 * Instance directories for a CLI test file: `make()` gives one with the test users and a cheap
 * keyring (its PIN key derivation the cheapest, so the many one-shot commands do not each pay for
 * a production Argon2id run); `cleanUp()` (for `after`) stops what the file left running in them
 * and removes them.
 */
export function cliInstances(): { make(entries?: Record<string, string>): InstancePaths; track(stop: () => Promise<void>): void; cleanUp(): Promise<void> } {
  const made: InstancePaths[] = [];
  const stops: Array<() => Promise<void>> = [];
  return {
    make(entries = {}) {
      const paths = makeInstance(entries);
      made.push(paths);
      writeKeyringFile(paths.keyringFile, newKeyringFile(TEST_PIN_KEY_PARAMS));
      return paths;
    },
    track: (stop) => void stops.push(stop),
    async cleanUp() {
      for (const stop of stops) await stop();
      for (const paths of made) {
        await killInstanceNode(paths);
        rmSync(paths.root, { recursive: true, force: true });
      }
    },
  };
}
