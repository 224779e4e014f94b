/**
 * Benchmark plumbing: servers run in their own processes (so the load generator does not share
 * their event loop), autocannon drives them over loopback, and every figure is reported beside a
 * ceiling measured in the same run.
 *
 * The machine is usually shared (docs/benchmarks.md), and what else runs changes from one
 * ten-second stretch to the next. So a figure and its ceiling are measured in alternating rounds
 * (interleave), both servers running all along, and the CPU time the node spends per request is
 * read from /proc: unlike a rate, it hardly depends on what else the machine is doing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { childrenCpuMs, makeDistinct, wrk, type DistinctBody } from './wrk.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The shipped build: `npm run bench` compiles dist/ first.
const ENTRY = join(ROOT, 'bin/tendril.js');

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
  /** Requests answered (all rounds). */
  readonly requests: number;
  /** req/s of each round, when measured in rounds. */
  readonly rounds?: number[];
  /** CPU time of the server per request, µs: its main thread and all its other threads. */
  readonly cpuUs?: { readonly main: number; readonly other: number };
  /** CPU time of the load generator (this process) per request, µs. */
  readonly loadgenUs?: number;
}

export async function load(options: {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  /** A body, or one made new for every request (by a function: autocannon only). */
  body?: Buffer | DistinctBody | (() => Buffer);
  /** The load generator: autocannon (in this process), or wrk (bench/wrk.ts) for comparisons with a reference. */
  client?: 'autocannon' | 'wrk';
}): Promise<LoadResult> {
  const { body } = options;
  if (options.client === 'wrk') {
    if (typeof body === 'function') throw new Error('wrk: bodies made by a function cannot be sent');
    return wrk({ ...options, body });
  }
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers,
    method: options.method ?? 'GET',
    // autocannon's own idReplacement miscounts Content-Length (it assumes 33-character ids), so
    // distinct bodies are made here.
    ...(body !== undefined && !Buffer.isBuffer(body)
      ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: typeof body === 'function' ? body() : makeDistinct(body) }) }] }
      : { body }),
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

/**
 * CPU time (ms) a process has used so far: its main thread, and all its other threads together;
 * for several processes (a node and a web server in front of it), their sums.
 */
export function processCpu(pids: number | readonly number[]): { main: number; other: number } {
  const cpu = { main: 0, other: 0 };
  for (const pid of typeof pids === 'number' ? [pids] : pids) {
    const one = threadsCpu(pid);
    cpu.main += one.main;
    cpu.other += one.other;
  }
  return cpu;
}

function threadsCpu(pid: number): { main: number; other: number } {
  const cpu = { main: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread has just ended
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks (USER_HZ, 100 on Linux).
    const ms = (Number(fields[11]) + Number(fields[12])) * 10;
    if (tid === String(pid)) cpu.main += ms;
    else cpu.other += ms;
  }
  return cpu;
}

/**
 * Runs `fn` and returns its result with the CPU (ms) that `pid` and the load generator (this
 * process, and children that ended meanwhile: wrk) used meanwhile.
 */
export async function withCpu<T>(pid: number | readonly number[] | undefined, fn: () => Promise<T>): Promise<{ value: T; main: number; other: number; self: number }> {
  const before = pid === undefined ? { main: 0, other: 0 } : processCpu(pid);
  const self = process.cpuUsage();
  const children = childrenCpuMs();
  const value = await fn();
  const after = pid === undefined ? { main: 0, other: 0 } : processCpu(pid);
  const used = process.cpuUsage(self);
  return { value, main: after.main - before.main, other: after.other - before.other, self: (used.user + used.system) / 1000 + childrenCpuMs() - children };
}

export interface LoadSubject {
  readonly options: Omit<Parameters<typeof load>[0], 'seconds'>;
  /** The server's pid (or the pids of its processes), for its CPU time per request. */
  readonly pid?: number | readonly number[];
}

/**
 * Measures every subject for `seconds` in all, in `rounds` alternating rounds (after a 2 s
 * warm-up each), so that a change in what else the machine runs affects them alike. req/s is the
 * mean of the rounds, p50 and p99 the medians of the rounds' figures.
 */
export async function interleave(subjects: readonly LoadSubject[], seconds: number, rounds: number): Promise<LoadResult[]> {
  for (const s of subjects) await load({ ...s.options, seconds: 2 });
  const per = subjects.map(() => ({ results: [] as LoadResult[], main: 0, other: 0, self: 0 }));
  const roundSeconds = Math.max(1, Math.round(seconds / rounds));
  for (let r = 0; r < rounds; r++) {
    for (const [i, s] of subjects.entries()) {
      const measured = await withCpu(s.pid, () => load({ ...s.options, seconds: roundSeconds }));
      const acc = per[i]!;
      acc.results.push(measured.value);
      acc.main += measured.main;
      acc.other += measured.other;
      acc.self += measured.self;
    }
  }
  return per.map((acc, i) => {
    const requests = acc.results.reduce((n, x) => n + x.requests, 0);
    const mid = (f: (x: LoadResult) => number): number => {
      const v = acc.results.map(f).sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)]!;
    };
    return {
      requestsPerSecond: acc.results.reduce((n, x) => n + x.requestsPerSecond, 0) / acc.results.length,
      p50Ms: mid((x) => x.p50Ms),
      p99Ms: mid((x) => x.p99Ms),
      errors: acc.results.reduce((n, x) => n + x.errors, 0),
      non2xx: acc.results.reduce((n, x) => n + x.non2xx, 0),
      requests,
      rounds: acc.results.map((x) => x.requestsPerSecond),
      ...(subjects[i]!.pid === undefined ? {} : { cpuUs: { main: (acc.main * 1000) / requests, other: (acc.other * 1000) / requests } }),
      loadgenUs: (acc.self * 1000) / requests,
    };
  });
}

/** The machine's load average over the last minute, as /proc/loadavg gives it. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
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

export function tendril(instance: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY, '--instance', instance, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
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
  for (const [k, v] of Object.entries(entries)) {
    // A password goes by the environment, as the CLI asks, not on the command line.
    if (k.endsWith('.password')) await tendril(dir, ['config', 'set', k], { TENDRIL_PASSWORD: v });
    else await tendril(dir, ['config', 'set', k, v]);
  }
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
