/**
 * A progress bar on stderr for a large transfer to or from a person at a terminal; nothing
 * otherwise. stop() may be called more than once; it restores the cursor and line wrapping.
 */
import { Presets, SingleBar } from 'cli-progress';

/** Transfers at least this large show a progress bar. */
const PROGRESS_MIN_BYTES = 1024 * 1024;
const MiB = 1024 * 1024;

export interface Progress {
  /** Bytes done so far. */
  update(done: number): void;
  stop(): void;
}

export function progress(label: string, total: number): Progress {
  if (!process.stderr.isTTY || total < PROGRESS_MIN_BYTES) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {value}/{total} MiB, {eta_formatted} left`,
      stream: process.stderr,
      formatValue: (v, _options, type) => (type === 'value' || type === 'total' ? (v / MiB).toFixed(1) : String(v)),
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  let stopped = false;
  return {
    update: (done) => bar.update(Math.min(done, total)),
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
