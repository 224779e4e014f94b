/**
 * What CLI commands write to and how they finish. Commands never call process.exit: they record
 * an exit code that main() returns, so a node they started can stop cleanly first.
 *
 * Like any Unix tool, the CLI may be cut off by its reader (`tendril rhizome list | head -1`): the
 * pipe's EPIPE ends its output quietly instead of a stack trace. Ctrl-C aborts `signal`, which
 * every command that waits passes on: an upload is cancelled (the node stores nothing of it), a
 * node started for the command stops, the terminal is restored, and the exit code is 130. A second
 * Ctrl-C exits at once.
 */
import { InvalidArgumentError } from 'commander';
import { forTerminal, jsonForTerminal } from '../formats/terminal-text.js';

export interface Io {
  /** One line of text on stdout, control characters escaped. */
  out(line: string): void;
  /** One line of text on stderr, control characters escaped. */
  err(line: string): void;
  /** A JSON document on stdout (one line), escaped for terminals. */
  json(value: unknown): void;
  /** Bytes on stdout as they are (a keyring dump, the OpenAPI document). */
  raw(data: Buffer | string): void;
  /** Records the command's exit code. */
  exit(code: number): void;
  readonly code: number;
  /** Aborted by Ctrl-C (SIGINT). */
  readonly signal: AbortSignal;
  /** True when stdin is a terminal a person can be asked on. */
  readonly interactive: boolean;
}

/** Shows the cursor and turns line wrapping back on, as a progress bar cut short may have left them. */
export const RESTORE_TERMINAL = '\x1b[?25h\x1b[?7h';

/** The exit code of a command interrupted by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export function consoleIo(): Io {
  let code = 0;
  let stdoutOpen = true;
  const interrupt = new AbortController();
  // The reader went away: what is still to print has nowhere to go. (Unheard, the EPIPE error
  // would be thrown at the process with a stack trace.)
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stdoutOpen = false;
    else throw err;
  });
  process.stderr.on('error', () => undefined);
  process.on('SIGINT', () => {
    if (process.stderr.isTTY) process.stderr.write(RESTORE_TERMINAL);
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    interrupt.abort();
  });
  const write = (data: string | Buffer): void => {
    if (stdoutOpen) process.stdout.write(data);
  };
  return {
    out: (line) => write(`${forTerminal(line)}\n`),
    err: (line) => process.stderr.write(`${forTerminal(line)}\n`),
    json: (value) => write(`${jsonForTerminal(value)}\n`),
    raw: (data) => write(data),
    exit: (c) => {
      code = c;
    },
    get code() {
      return code;
    },
    signal: interrupt.signal,
    interactive: process.stdin.isTTY === true,
  };
}

export function parsePortOption(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return Number(text);
}

/** For repeatable options such as --pin. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
