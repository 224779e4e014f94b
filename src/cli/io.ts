/**
 * What CLI commands write to and how they finish. Commands never call process.exit: they record
 * an exit code that main() returns, so a node they started can stop cleanly first.
 */
import { InvalidArgumentError } from 'commander';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Records the command's exit code. */
  exit(code: number): void;
  readonly code: number;
}

export function consoleIo(): Io {
  let code = 0;
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    exit: (c) => {
      code = c;
    },
    get code() {
      return code;
    },
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
