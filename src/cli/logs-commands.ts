/**
 * `tendril logs [-f] [-n N]`: the log of a node started with `start --detach` (INSTANCE/logs/
 * tendril.log), made readable on a terminal (src/log-pretty.ts) and left as JSON lines elsewhere or
 * with --json. `-f` keeps following it as it grows, until Ctrl-C, and starts over if the file is
 * truncated or replaced (log rotation). The file is read in chunks: memory does not grow with it.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { escapeJsonText, forTerminal } from '../formats/terminal-text.js';
import { prettyLogLine } from '../log-pretty.js';
import type { InstancePaths } from '../node/instance.js';
import { EXIT_INTERRUPTED, type Io } from './io.js';

/** How often -f looks for new lines. */
const FOLLOW_EVERY_MS = 250;

interface LogsOptions {
  follow?: boolean;
  lines?: string;
  json?: boolean;
}

/** Calls `onLine` for each complete line of `file` from `offset`; returns where the next read starts. */
function readLines(file: string, offset: number, onLine: (line: string) => void): number {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    let carry = Buffer.alloc(0);
    let position = offset;
    let done = offset;
    for (let n = readSync(fd, buffer, 0, buffer.length, position); n > 0; n = readSync(fd, buffer, 0, buffer.length, position)) {
      position += n;
      let data = Buffer.concat([carry, buffer.subarray(0, n)]);
      for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10)) {
        onLine(data.subarray(0, nl).toString('utf8'));
        done += nl + 1;
        data = data.subarray(nl + 1);
      }
      carry = Buffer.from(data);
    }
    return done;
  } finally {
    closeSync(fd);
  }
}

/** A log line for a program: JSON as written (escaped where needed), anything else escaped as text. */
function asJsonLine(line: string): string {
  try {
    JSON.parse(line);
    return escapeJsonText(line);
  } catch {
    return forTerminal(line);
  }
}

export function registerLogsCommand(program: Command, paths: () => InstancePaths, io: Io): void {
  program
    .command('logs')
    .description('print the log of the node started with --detach (readable on a terminal, JSON lines otherwise)')
    .option('-f, --follow', 'keep printing new lines as they are written, until Ctrl-C')
    .option('-n, --lines <n>', 'only the last N lines')
    .option('--json', 'print the JSON lines as they are, even on a terminal')
    .action(async (opts: LogsOptions) => {
      const file = paths().logFile;
      if (opts.lines !== undefined && !/^\d{1,6}$/.test(opts.lines)) fail('USAGE', { arg: `--lines expects a number, not ${opts.lines}` });
      if (!existsSync(file) && !opts.follow) fail('USAGE', { arg: `no log at ${file} (a node started in the foreground logs to its terminal)` });
      const pretty = process.stdout.isTTY === true && !opts.json;
      const color = pretty && process.stdout.hasColors?.() === true;
      // Both forms leave no raw control character: pretty lines escape their values, JSON lines
      // get JSON's escapes for what the logger left raw.
      const show = (line: string): void => io.raw(`${pretty ? prettyLogLine(line, color) : asJsonLine(line)}\n`);
      let offset = 0;
      let inode = -1;
      if (existsSync(file)) {
        const keep = opts.lines === undefined ? undefined : Number(opts.lines);
        // The last N lines, in a ring: one pass over the file, N lines in memory.
        const ring: string[] = [];
        let seen = 0;
        offset = readLines(file, 0, (line) => {
          if (keep === undefined) return show(line);
          if (keep > 0) ring[seen % keep] = line;
          seen++;
        });
        for (let i = Math.max(0, seen - (keep ?? 0)); i < seen && keep; i++) show(ring[i % keep]!);
        inode = statSync(file).ino;
      }
      while (opts.follow && !io.signal.aborted) {
        await sleep(FOLLOW_EVERY_MS, undefined, { signal: io.signal }).catch(() => undefined);
        if (!existsSync(file)) continue;
        const stat = statSync(file);
        // Rotated (another file now) or truncated: read the new one from its start.
        if (stat.ino !== inode || stat.size < offset) {
          inode = stat.ino;
          offset = 0;
        }
        offset = readLines(file, offset, show);
      }
      // Following ends only with Ctrl-C: the exit code says so, as tail -f's does.
      if (opts.follow) io.exit(EXIT_INTERRUPTED);
    });
}
