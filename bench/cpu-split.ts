/**
 * Where the CPU of a load test goes: the machine's busy time (/proc/stat) and the CPU time of the
 * node processes, of the PostgreSQL server's processes and of this benchmark process (the load
 * generator), between two snapshots. On a machine with few cores, a throughput figure means little
 * without it: when the cores are all busy, more node processes only share them.
 */
import { readFileSync } from 'node:fs';
import { readProcs } from './machine.js';

interface Snapshot {
  readonly at: number;
  readonly machineBusyMs: number;
  readonly nodesMs: number;
  readonly postgresMs: number;
  readonly benchMs: number;
}

export interface CpuSplit {
  readonly seconds: number;
  /** Cores kept busy on average, by everything on the machine. */
  readonly busyCores: number;
  readonly cores: number;
  /** CPU ms used in the window by the nodes, the PostgreSQL server, and the load generator. */
  readonly nodesMs: number;
  readonly postgresMs: number;
  readonly benchMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function machineBusyMs(): { busy: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const total = lines[0]!.split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const busy = total[0]! + total[1]! + total[2]! + total[5]! + total[6]! + total[7]!;
  return { busy: busy * TICK_MS, cores: lines.filter((l) => /^cpu\d/.test(l)).length };
}

function snapshot(nodePids: readonly number[], postmaster: number): Snapshot {
  const procs = readProcs();
  let nodesMs = 0;
  let postgresMs = 0;
  for (const [pid, p] of procs) {
    if (nodePids.includes(pid)) nodesMs += p.cpuMs;
    // The postmaster and its children: the backends serving the nodes, the WAL writer, etc.
    else if (pid === postmaster || p.ppid === postmaster) postgresMs += p.cpuMs;
  }
  const usage = process.cpuUsage();
  return { at: performance.now(), machineBusyMs: machineBusyMs().busy, nodesMs, postgresMs, benchMs: (usage.user + usage.system) / 1000 };
}

/** Starts measuring; the returned function ends the window and gives the split. */
export function measureCpu(nodePids: readonly number[], postmaster: number): () => CpuSplit {
  const before = snapshot(nodePids, postmaster);
  return () => {
    const after = snapshot(nodePids, postmaster);
    const seconds = (after.at - before.at) / 1000;
    return {
      seconds,
      busyCores: (after.machineBusyMs - before.machineBusyMs) / 1000 / seconds,
      cores: machineBusyMs().cores,
      nodesMs: after.nodesMs - before.nodesMs,
      postgresMs: after.postgresMs - before.postgresMs,
      benchMs: after.benchMs - before.benchMs,
    };
  };
}
