/**
 * Host facts for GET /restful/system, the figures RaspAP's /system reports, computed from the
 * operating system's own interfaces (node:os, /proc, /sys, statfs) rather than by running shell
 * commands: no process is spawned per request and no command line can be injected.
 */
import { readFileSync, statfsSync } from 'node:fs';
import { availableParallelism, cpus, freemem, hostname, loadavg, release, totalmem, type as osType, uptime } from 'node:os';

export interface HostFacts {
  readonly hostname: string;
  readonly uptimeSeconds: number;
  /** Like `uptime -p`: "up 3 days, 2 hours, 5 minutes". */
  readonly uptime: string;
  readonly systemTime: string;
  readonly usedMemoryPercent: number;
  readonly usedDiskPercent: number | null;
  readonly processorCount: number;
  readonly loadAverage1Min: number;
  readonly systemLoadPercent: number;
  /** Degrees Celsius from the first thermal zone, or null where there is none. */
  readonly temperatureCelsius: number | null;
  readonly operatingSystem: string;
  readonly kernelVersion: string;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function describeUptime(seconds: number): string {
  const parts: string[] = [];
  const units: Array<[string, number]> = [
    ['week', 604800],
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  let rest = Math.floor(seconds);
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  return `up ${parts.length ? parts.join(', ') : '0 minutes'}`;
}

/** Memory in use, counting reclaimable cache as free (MemAvailable) where the kernel says it. */
function usedMemoryPercent(): number {
  const info = readText('/proc/meminfo');
  const total = Number(/MemTotal:\s+(\d+)/.exec(info ?? '')?.[1]);
  const available = Number(/MemAvailable:\s+(\d+)/.exec(info ?? '')?.[1]);
  if (total > 0 && Number.isFinite(available)) return round2(((total - available) / total) * 100);
  return round2(((totalmem() - freemem()) / totalmem()) * 100);
}

function usedDiskPercent(path: string): number | null {
  try {
    const s = statfsSync(path);
    const total = s.blocks * s.bsize;
    return total > 0 ? round2(((s.blocks - s.bavail) * s.bsize * 100) / total) : null;
  } catch {
    return null;
  }
}

function temperature(): number | null {
  const text = readText('/sys/class/thermal/thermal_zone0/temp');
  const milli = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(milli) ? round2(milli / 1000) : null;
}

/** PRETTY_NAME of os-release(5), which names the distribution; else the kernel's name. */
function operatingSystem(): string {
  const text = readText('/etc/os-release') ?? readText('/usr/lib/os-release') ?? '';
  const m = /^PRETTY_NAME=(["']?)(.*)\1$/m.exec(text);
  return m?.[2] || osType();
}

/**
 * Processors installed, as `nproc --all` counts them (RaspAP's figure, and the divisor that makes
 * the load average a percentage). Some kernels hide /proc/cpuinfo, leaving cpus() empty; then the
 * processors this process may use.
 */
function processorCount(): number {
  return cpus().length || availableParallelism();
}

/** The facts, with disk usage of the filesystem holding `dataDir` (the node's store). */
export function hostFacts(dataDir: string): HostFacts {
  const processors = processorCount();
  const load1 = loadavg()[0] ?? 0;
  const up = uptime();
  return {
    hostname: hostname(),
    uptimeSeconds: Math.floor(up),
    uptime: describeUptime(up),
    systemTime: new Date().toISOString(),
    usedMemoryPercent: usedMemoryPercent(),
    usedDiskPercent: usedDiskPercent(dataDir),
    processorCount: processors,
    loadAverage1Min: round2(load1),
    systemLoadPercent: round2((load1 * 100) / processors),
    temperatureCelsius: temperature(),
    operatingSystem: operatingSystem(),
    kernelVersion: release(),
  };
}
