/**
 * Benchmark plumbing: servers run in their own processes (so the load generator does not share
 * their event loop), autocannon drives them over loopback, and every figure is reported beside a
 * ceiling measured in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The shipped build: `npm run bench` compiles dist/ first.
const ENTRY = join(ROOT, 'bin/tendril.js');

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
}

export async function load(options: {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  /** A body, or a function that makes a new one for every request. */
  body?: Buffer | (() => Buffer);
}): Promise<LoadResult> {
  const { body } = options;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers,
    method: options.method ?? 'GET',
    // autocannon's own idReplacement miscounts Content-Length (it assumes 33-character ids), so
    // distinct bodies are made here.
    ...(typeof body === 'function'
      ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }) }] }
      : { body }),
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export interface Proc {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    for (let i = 0; i < 100 && child.exitCode === null; i++) await sleep(50);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
}

/** Starts bench/servers/NAME.ts with `args` and returns its port (its first line of output). */
export async function startServer(name: string, args: readonly string[] = []): Promise<Proc & { port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, `bench/servers/${name}.ts`), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', () => reject(new Error(`${name} server exited`)));
  });
  return { child, port, stop: stopper(child) };
}

/** Starts bench/servers/hello.ts and returns its port. */
export function startHello(): Promise<Proc & { port: number }> {
  return startServer('hello');
}

export function tendril(instance: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY, '--instance', instance, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`tendril ${args.join(' ')}: exit ${code}`))));
  });
}

/** A fresh instance with user harry:potter and `config` applied. */
export async function makeInstance(config: Record<string, string> = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tendril-bench-'));
  const entries = { 'api.restful.users.harry.password': 'potter', ...config };
  for (const [k, v] of Object.entries(entries)) await tendril(dir, ['config', 'set', k, v]);
  return dir;
}

/**
 * Starts a Tendril node in the foreground; returns its port. With TENDRIL_BENCH_CPU_PROF=DIR in
 * the environment, the node runs under `node --cpu-prof` and leaves its profile in DIR when stopped.
 */
export async function startTendril(instance: string): Promise<Proc & { port: number }> {
  const profDir = process.env.TENDRIL_BENCH_CPU_PROF;
  const nodeArgs = profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
  const child = spawn(process.execPath, [...nodeArgs, ENTRY, '--instance', instance, 'start', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const portFile = join(instance, 'proc', 'http_port');
  for (let i = 0; i < 200; i++) {
    try {
      const port = Number(readFileSync(portFile, 'utf8').trim());
      if (port > 0) return { child, port, stop: stopper(child) };
    } catch {
      // not yet
    }
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error('tendril did not start');
}

export function removeInstance(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const HARRY = { Authorization: 'Basic ' + Buffer.from('harry:potter').toString('base64') };

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
