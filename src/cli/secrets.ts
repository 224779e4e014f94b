/**
 * Secrets given to the CLI: PINs, passwords, bundle secrets. Anything on the command line is
 * visible to every local user in the process list, so each secret option also comes from a file
 * (`--pin-file`, `--password-file`, `--secret-file`; `-` is standard input), from the environment
 * (TENDRIL_PIN, TENDRIL_PASSWORD, TENDRIL_BUNDLE_SECRET), or from a prompt on the terminal that
 * does not echo (`--ask-pin`, `--ask-secret`; `config set` of a password asks by itself). The
 * command-line forms still work, as the reference's do, with a warning.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { EXIT_INTERRUPTED, collect, type Io } from './io.js';

/** Reads a secrets file: one secret per line (`-`: standard input). */
export function readSecretsFile(path: string): string[] {
  const text = readFileSync(path === '-' ? 0 : path, 'utf8');
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export function warnVisible(io: Io, option: string, alternatives: string): void {
  io.err(`tendril: warning: ${option} on the command line is visible to other local users (ps); prefer ${alternatives}`);
}

/**
 * Asks for a secret on the terminal without echoing it. Ctrl-C while asking is an interrupt like
 * any other (the terminal is restored and the CLI exits 130).
 */
export function promptSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) fail('USAGE', { arg: `${question.replace(/:\s*$/, '')}: standard input is not a terminal to ask on` });
  return new Promise((resolve) => {
    // No echo before the question shows: what is typed after it is never on the screen.
    stdin.setRawMode(true);
    stdin.resume();
    process.stderr.write(question);
    let text = '';
    const done = (): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
    };
    const onData = (chunk: Buffer): void => {
      for (const c of chunk.toString('utf8')) {
        if (c === '\r' || c === '\n') {
          done();
          resolve(text);
          return;
        }
        if (c === '\x03') {
          done();
          process.exit(EXIT_INTERRUPTED);
        }
        if (c === '\x7f' || c === '\b') text = text.slice(0, -1);
        else if (c >= ' ') text += c;
      }
    };
    stdin.on('data', onData);
  });
}

export interface PinOptions {
  pin?: string[];
  pinFile?: string;
  askPin?: boolean;
}

/** Adds --pin (repeatable), --pin-file and --ask-pin to a command. */
export function pinOptions(command: Command, what = 'unlock identities with this PIN first'): Command {
  return command
    .option('--pin <pin>', `${what} (repeatable; visible in the process list)`, collect)
    .option('--pin-file <file>', 'read PINs from FILE, one per line (- for standard input)')
    .option('--ask-pin', 'ask for a PIN on the terminal');
}

/** The PINs of a command, in order: --pin, --pin-file, the prompt, then TENDRIL_PIN. */
export async function pinsOf(opts: PinOptions, io: Io): Promise<string[]> {
  const pins = [...(opts.pin ?? [])];
  if (pins.length > 0) warnVisible(io, '--pin', '--pin-file, --ask-pin or TENDRIL_PIN');
  if (opts.pinFile !== undefined) pins.push(...readSecretsFile(opts.pinFile));
  if (opts.askPin) pins.push(await promptSecret('PIN: '));
  if (process.env.TENDRIL_PIN !== undefined) pins.push(process.env.TENDRIL_PIN);
  return pins;
}

/** The one PIN of a command that takes one (the first given), if any. */
export async function onePin(opts: PinOptions, io: Io): Promise<string | undefined> {
  return (await pinsOf(opts, io))[0];
}
