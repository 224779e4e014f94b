/**
 * Test support: a node running as a separate process, started the way a user starts it
 * (`tendril --instance DIR start --port 0`), so a test can SIGKILL it or measure its memory and CPU
 * time from /proc without counting its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { InstancePaths } from '../../src/node/instance.js';
import { cliArgs, cliEnv, REPO_ROOT } from './cli.js';

export interface ChildNode {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** Resolves when the process has exited (with its signal, if killed). */
  readonly exited: Promise<NodeJS.Signals | number | null>;
  /** What the node wrote to stderr, for failure messages. */
  stderr(): string;
  /** SIGTERM, then SIGKILL if it lingers; resolves once it is gone. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A CLI process being watched: when it exits, and a stop that escalates. */
export interface Watched {
  readonly exited: Promise<NodeJS.Signals | number | null>;
  readonly gone: () => boolean;
  /** SIGTERM, then SIGKILL if it lingers; resolves once it is gone. */
  readonly stop: () => Promise<void>;
}

export function watchChild(child: ChildProcess): Watched {
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    exited,
    gone: () => gone,
    stop: async () => {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Polls `ready` until it gives a value. Fails, with what the process said (`said()`), if it exits
 * first, or is still not ready after `timeoutMs` (then it is killed).
 */
export async function waitReady<T>(child: ChildProcess, watched: Watched, ready: () => T | undefined, what: string, said: () => string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = ready();
    if (value !== undefined) return value;
    if (watched.gone()) throw new Error(`the ${what} exited before listening: ${said()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the ${what} did not listen in time: ${said()}`);
    }
    await sleep(25);
  }
}

/**
 * Starts a node in `paths` and waits until it listens (its proc/http_port file appears). A port
 * file left by a node that was killed is removed first, so the one read is this node's.
 */
export async function spawnNode(
  paths: InstancePaths,
  options: {
    env?: Record<string, string>;
    timeoutMs?: number;
    /** More `start` options, e.g. --commands. */
    args?: readonly string[];
    /** A descriptor for the node's log (stdout); by default nobody reads it. */
    stdout?: number;
    /** A command the node runs under, e.g. `ip netns exec NS` (it must exec the node, keeping its pid). */
    wrap?: readonly string[];
  } = {},
): Promise<ChildNode> {
  rmSync(paths.portFile, { force: true });
  const argv = [process.execPath, ...cliArgs(paths.root, ['start', '--port', '0', ...(options.args ?? [])])];
  const command = [...(options.wrap ?? []), ...argv];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    env: cliEnv(options.env),
    // The node logs a line per request to stdout; unless asked for, nobody reads it.
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr += text;
  });
  const watched = watchChild(child);
  const portWritten = (): number | undefined => {
    try {
      const text = readFileSync(paths.portFile, 'utf8');
      return text.endsWith('\n') ? Number.parseInt(text, 10) : undefined;
    } catch {
      return undefined; // not yet written
    }
  };
  const port = await waitReady(child, watched, portWritten, 'node', () => stderr, options.timeoutMs ?? 20_000);
  return { child, pid: child.pid!, port, exited: watched.exited, stderr: () => stderr, stop: watched.stop };
}

/** Resident set size of a process in bytes (VmRSS of /proc/PID/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** CPU time a process has used (user + system), in clock ticks (fields 14 and 15 of /proc/PID/stat). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Samples `pid`'s RSS every `everyMs` until stopped; returns the peak seen. */
export function sampleRss(pid: number, everyMs = 50): { stop(): number; peak(): number } {
  let peak = 0;
  const take = (): void => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // the process is gone
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
