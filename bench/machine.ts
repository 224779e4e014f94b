/**
 * What else the machine is doing while the benchmarks run: every 2 s, the CPU time used by
 * processes that are neither this benchmark nor its children (the nodes and ceiling servers), read
 * from /proc. Reported per section as the mean and the peak share of one core, and how many
 * samples saw a foreign process above half a core: the load average alone does not tell whether
 * the benchmark's own processes or someone else's kept the cores busy.
 */
import { readdirSync, readFileSync } from 'node:fs';

const INTERVAL_MS = 2000;

export interface ProcStat {
  readonly ppid: number;
  /** utime + stime, ms. */
  readonly cpuMs: number;
  readonly name: string;
}

/** Every process's parent, CPU time and name, from /proc. */
export function readProcs(): Map<number, ProcStat> {
  const procs = new Map<number, ProcStat>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return procs;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(entry), {
        ppid: Number(fields[1]),
        cpuMs: (Number(fields[11]) + Number(fields[12])) * 10,
        name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      });
    } catch {
      // gone meanwhile
    }
  }
  return procs;
}

export interface ForeignLoad {
  readonly samples: number;
  /** Mean and peak CPU of foreign processes over the samples, in percent of one core. */
  readonly meanPercent: number;
  readonly peakPercent: number;
  /** Samples in which one foreign process used more than half a core. */
  readonly busySamples: number;
  /** The foreign processes seen busiest, by name. */
  readonly top: string[];
}

export class MachineMonitor {
  #timer: NodeJS.Timeout | undefined;
  #last = readProcs();
  #lastAt = performance.now();
  #shares: number[] = [];
  #busy = 0;
  readonly #byName = new Map<string, number>();
  /** Processes that belong to the benchmark without being its children (the --reference server). */
  readonly #ours = new Set<number>();

  exclude(pid: number): void {
    this.#ours.add(pid);
  }

  start(): void {
    this.#timer = setInterval(() => this.#sample(), INTERVAL_MS);
    this.#timer.unref();
  }

  /** The figures since the last call, and a fresh start. */
  take(): ForeignLoad {
    const shares = this.#shares;
    const result: ForeignLoad = {
      samples: shares.length,
      meanPercent: shares.length === 0 ? 0 : shares.reduce((a, b) => a + b, 0) / shares.length,
      peakPercent: shares.length === 0 ? 0 : Math.max(...shares),
      busySamples: this.#busy,
      top: [...this.#byName].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([name]) => name),
    };
    this.#shares = [];
    this.#busy = 0;
    this.#byName.clear();
    return result;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  #sample(): void {
    const now = readProcs();
    const at = performance.now();
    const elapsed = at - this.#lastAt;
    const ours = new Set<number>([process.pid, ...this.#ours]);
    // Descendants of this process: parents are listed before their children often enough that a
    // few passes settle it.
    for (let pass = 0; pass < 4; pass++) for (const [pid, p] of now) if (ours.has(p.ppid)) ours.add(pid);
    let foreign = 0;
    let busiest = 0;
    for (const [pid, p] of now) {
      if (ours.has(pid)) continue;
      const before = this.#last.get(pid);
      const used = before === undefined ? 0 : p.cpuMs - before.cpuMs;
      if (used <= 0) continue;
      foreign += used;
      busiest = Math.max(busiest, used);
      this.#byName.set(p.name, (this.#byName.get(p.name) ?? 0) + used);
    }
    this.#shares.push((100 * foreign) / elapsed);
    if (busiest > elapsed / 2) this.#busy++;
    this.#last = now;
    this.#lastAt = at;
  }
}
