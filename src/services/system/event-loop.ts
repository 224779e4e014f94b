/**
 * Event-loop delay for GET /restful/system: how late the node's event loop runs its timers, the
 * first sign of a node too busy to answer (a long synchronous job, a garbage-collection storm)
 * before any client times out. Only the process itself can measure it.
 *
 * node:perf_hooks samples the loop with a libuv timer every RESOLUTION_MS; each sample is the time
 * between two firings, so the resolution itself is subtracted to leave the delay. Figures cover
 * the last complete window of WINDOW_MS (the histogram is reset at each window's end, so a spike
 * is reported for one window, then forgotten), or the time since start until a window completes.
 * Readers do not reset anything: any number of clients may poll the status.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 20;
const WINDOW_MS = 10_000;

/** Delays in milliseconds over a window of `windowSeconds`. */
export interface EventLoopDelay {
  readonly windowSeconds: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface EventLoopMonitor {
  delay(): EventLoopDelay;
  stop(): void;
}

const toDelayMs = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);

function summarize(h: IntervalHistogram, windowMs: number): EventLoopDelay {
  const windowSeconds = Math.round(windowMs / 100) / 10;
  // An empty histogram's mean is NaN and its min a huge sentinel: no sample, no delay.
  if (h.count === 0) return { windowSeconds, meanMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  return { windowSeconds, meanMs: toDelayMs(h.mean), p50Ms: toDelayMs(h.percentile(50)), p99Ms: toDelayMs(h.percentile(99)), maxMs: toDelayMs(h.max) };
}

export function monitorEventLoop(): EventLoopMonitor {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let windowStart = performance.now();
  let last: EventLoopDelay | undefined;
  const timer = setInterval(() => {
    const now = performance.now();
    last = summarize(histogram, now - windowStart);
    histogram.reset();
    windowStart = now;
  }, WINDOW_MS);
  // The monitor never keeps a stopping node alive.
  timer.unref();
  return {
    delay: () => last ?? summarize(histogram, performance.now() - windowStart),
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
