/**
 * One process at a time owns an instance: the pid file is created exclusively and names its
 * owner. A pid file whose process is gone (a crash, SIGKILL) is stale and is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { fail } from '../errors.js';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the pid file if that process is alive, else undefined. */
export function runningPid(pidFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Takes the instance lock for this process; returns its release. */
export function acquirePidLock(pidFile: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(pidFile, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (runningPid(pidFile) === process.pid) unlinkSync(pidFile);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = runningPid(pidFile);
      if (owner !== undefined) fail('INSTANCE_LOCKED', { arg: `process ${owner} holds it` });
      try {
        unlinkSync(pidFile);
      } catch {
        // Another process took it over first; the next attempt will see it.
      }
    }
  }
  fail('INSTANCE_LOCKED', { arg: 'could not take the pid file' });
}
