/**
 * Test support: the CLI on a real pseudo-terminal (util-linux `script`), as a person at a terminal
 * runs it: its output is a terminal's (progress bars, prompts, pretty logs), keys typed go through
 * the terminal's line discipline (Ctrl-C there is a SIGINT to the command).
 */
import { spawn } from 'node:child_process';
import { cliArgs, cliEnv, REPO_ROOT } from './cli.js';
import { watchChild } from './child-node.js';

export interface TerminalRun {
  /** Everything the terminal showed so far, escape sequences included. */
  output(): string;
  /** Types `text` (e.g. '\x03' for Ctrl-C, 'secret\r' for a line). */
  type(text: string): void;
  /** Resolves once the output matches `re` (fails after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** The command's exit code (script -e passes it on; 128+N for a signal). */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

const quote = (word: string): string => `'${word.replace(/'/g, "'\\''")}'`;

/** Runs `tendril --instance DIR ...args` on a pseudo-terminal. */
export function cliInTerminal(instance: string, args: readonly string[], env: Record<string, string> = {}): TerminalRun {
  // script runs the command through $SHELL -c, or /bin/sh where SHELL is unset (as on a fresh CI
  // machine). exec makes the command the terminal's only foreground process: a dash left waiting
  // in between would die of the Ctrl-C itself and turn the command's own exit code into 130.
  const command = `exec ${[process.execPath, ...cliArgs(instance, args)].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: REPO_ROOT, env: { ...cliEnv(env), TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const watched = watchChild(child);
  let text = '';
  const waiters: Array<() => void> = [];
  const take = (c: Buffer): void => {
    text += c.toString('utf8');
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => text,
    type: (t) => void child.stdin.write(t),
    async waitFor(re, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!re.test(text)) {
        if (watched.gone()) throw new Error(`the command exited before showing ${re}: ${JSON.stringify(text)}`);
        if (Date.now() > deadline) throw new Error(`not shown within ${ms} ms: ${re}; the terminal showed ${JSON.stringify(text)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    exited,
    stop: () => watched.stop(),
  };
}
