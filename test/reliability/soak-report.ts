/**
 * The soak's verdict and its printout. "Flat" is judged so that a loaded, shared two-core machine
 * cannot fail it while a real leak does:
 *
 * - RSS: the median of the last quarter of the load's samples against the median of its second
 *   quarter (the first is still warming up), not single samples, which garbage collection moves
 *   by tens of megabytes. A leak of a kilobyte per request is hundreds of MB over ten minutes.
 * - Descriptors: counted with the node idle (every connection closed and the count settled) after
 *   the warm-up and after the load; a descriptor leaked per request or long-poll shows as many.
 *   Counts under load move with the connections open at that instant, so they are only printed.
 * - Event-loop delay: its p99 is a time, and times are for benchmarks, so the bound is only one no
 *   healthy node comes near (a loop stuck for a second at a time), on the median of the samples.
 * - No request fails, and the node stops cleanly on SIGTERM at the end.
 */
import type { LoadOptions } from './soak-load.js';
import { OPERATIONS } from './soak-ops.js';

export const RSS_GROWTH_MB = 40;
export const RSS_GROWTH_RATIO = 0.25;
export const FD_SLACK = 10;
export const LAG_P99_MS = 1000;

export interface Sample {
  /** Since the load first started. */
  readonly seconds: number;
  readonly phase: 'warm-up' | 'load' | 'idle';
  readonly rssMb: number;
  readonly fds: number;
  /** Connections the load held open when the descriptors were counted. */
  readonly connections: number;
  /** The node's event-loop delay over its last 10 s window; null if the status request failed. */
  readonly lagP50Ms: number | null;
  readonly lagP99Ms: number | null;
  readonly lagMaxMs: number | null;
  /** Requests finished so far (long-polls included), failed ones included. */
  readonly requests: number;
  readonly failures: number;
  readonly bundles: number | null;
  readonly storeMb: number | null;
}

export interface SoakFacts {
  readonly seconds: number;
  readonly warmUpSeconds: number;
  readonly newsinceSeconds: number;
  readonly load: LoadOptions;
  readonly samples: readonly Sample[];
  readonly idle: { readonly afterWarmUp: Sample; readonly afterLoad: Sample };
  readonly operations: Record<string, number>;
  readonly requests: number;
  readonly failures: number;
  readonly firstFailures: readonly string[];
  readonly nodeExit: NodeJS.Signals | number | null;
  readonly nodeStderr: string;
}

export interface SoakReport extends SoakFacts {
  readonly rss: { readonly secondQuarterMb: number; readonly lastQuarterMb: number; readonly growthMb: number; readonly allowedMb: number };
  readonly lagP99MedianMs: number | null;
  readonly problems: readonly string[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function judge(facts: SoakFacts): SoakReport {
  const problems: string[] = [];
  if (facts.failures > 0) problems.push(`${facts.failures} requests failed, first: ${facts.firstFailures.join(' | ')}`);
  if (facts.nodeExit !== 0) problems.push(`the node did not stop cleanly on SIGTERM: ${String(facts.nodeExit)}`);
  const expected = [...OPERATIONS.map((op) => op.name), 'newsince bundlelist', 'newsince meshms', 'newsince meshmb', 'keyring add'];
  const missing = expected.filter((name) => !facts.operations[name]);
  if (missing.length) problems.push(`never done: ${missing.join(', ')}`);

  const loaded = facts.samples.filter((s) => s.phase === 'load');
  const n = loaded.length;
  const tenth = (v: number): number => Math.round(v * 10) / 10;
  const second = tenth(median(loaded.slice(n >> 2, n >> 1).map((s) => s.rssMb)));
  const last = tenth(median(loaded.slice((3 * n) >> 2).map((s) => s.rssMb)));
  const rss = { secondQuarterMb: second, lastQuarterMb: last, growthMb: tenth(last - second), allowedMb: Math.max(RSS_GROWTH_MB, Math.round(second * RSS_GROWTH_RATIO)) };
  if (n < 8) problems.push(`only ${n} samples under load: too few to judge`);
  else if (rss.growthMb > rss.allowedMb) problems.push(`RSS grew ${rss.growthMb} MB under load (${second} → ${last} MB), more than ${rss.allowedMb} MB`);

  const { afterWarmUp, afterLoad } = facts.idle;
  if (afterLoad.fds > afterWarmUp.fds + FD_SLACK) problems.push(`the idle node holds ${afterLoad.fds} descriptors after the load, ${afterWarmUp.fds} after the warm-up`);

  const lags = loaded.map((s) => s.lagP99Ms).filter((v): v is number => v !== null);
  const lagP99MedianMs = lags.length ? median(lags) : null;
  if (lagP99MedianMs !== null && lagP99MedianMs > LAG_P99_MS) problems.push(`event-loop delay p99 of ${lagP99MedianMs} ms (median of the samples), over ${LAG_P99_MS} ms`);
  return { ...facts, rss, lagP99MedianMs, problems };
}

const COLUMNS: ReadonlyArray<[string, number]> = [
  ['s', 7],
  ['phase', 8],
  ['RSS MB', 8],
  ['fds', 5],
  ['conns', 6],
  ['lag p50', 8],
  ['lag p99', 8],
  ['lag max', 8],
  ['requests', 9],
  ['req/s', 6],
  ['failed', 7],
  ['bundles', 8],
  ['store MB', 9],
];

const cell = (value: string | number | null, width: number): string => (value === null ? '-' : String(value)).padStart(width);

export function curveHeader(): string {
  return COLUMNS.map(([name, width]) => cell(name, width)).join(' ');
}

/** One line of the curve; req/s over the time since `previous`. */
export function curveRow(s: Sample, previous: Sample | undefined): string {
  const rate = previous && s.seconds > previous.seconds ? Math.round((s.requests - previous.requests) / (s.seconds - previous.seconds)) : null;
  const values = [s.seconds.toFixed(1), s.phase, s.rssMb.toFixed(1), s.fds, s.connections, s.lagP50Ms, s.lagP99Ms, s.lagMaxMs, s.requests, rate, s.failures, s.bundles, s.storeMb];
  return values.map((v, i) => cell(v, COLUMNS[i]![1])).join(' ');
}

export function formatCurve(report: SoakReport): string {
  return [curveHeader(), ...report.samples.map((s, i) => curveRow(s, report.samples[i - 1]))].join('\n');
}

export function formatSummary(r: SoakReport): string {
  const { afterWarmUp, afterLoad } = r.idle;
  const lagMax = Math.max(...r.samples.map((s) => s.lagMaxMs ?? 0));
  const lagP99 = Math.max(...r.samples.filter((s) => s.phase === 'load').map((s) => s.lagP99Ms ?? 0));
  return [
    `soak: ${r.seconds} s (${r.warmUpSeconds} s warm-up), ${r.load.workers} workers (think ${r.load.thinkMs} ms), ${r.load.longPolls} long-polls of ${r.newsinceSeconds} s`,
    `requests: ${r.requests}, failed: ${r.failures}`,
    `operations: ${Object.entries(r.operations).map(([name, count]) => `${name} ${count}`).join(', ')}`,
    `RSS under load: median ${r.rss.secondQuarterMb} MB (2nd quarter) → ${r.rss.lastQuarterMb} MB (last quarter), growth ${r.rss.growthMb} MB (allowed ${r.rss.allowedMb}); idle ${afterWarmUp.rssMb} → ${afterLoad.rssMb} MB`,
    `descriptors idle: ${afterWarmUp.fds} after warm-up → ${afterLoad.fds} after load (allowed +${FD_SLACK})`,
    `event-loop delay under load: p99 median ${r.lagP99MedianMs} ms, worst window p99 ${lagP99} ms, max ${lagMax} ms (bound: p99 median ≤ ${LAG_P99_MS})`,
    `node exit on SIGTERM: ${String(r.nodeExit)}${r.nodeStderr.trim() ? `; stderr: ${r.nodeStderr.trim().slice(0, 500)}` : ''}`,
    r.problems.length ? `PROBLEMS:\n  ${r.problems.join('\n  ')}` : 'verdict: flat, no request failed',
  ].join('\n');
}
