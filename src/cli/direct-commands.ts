/**
 * `tendril rhizome direct push|pull|sync [URL]`: Rhizome Direct with a peer (servald or Tendril),
 * run by the node that owns the store (the typed client's `direct.sync`, on the control socket);
 * without a URL, with the peers of rhizome.direct.peer.0 … 9 in turn. A progress bar on a
 * terminal, then per peer its summary (sent, received, skipped, failed, and what it cost on the
 * wire) as `key:value` lines, or all of it as JSON with --json. Exits 1 when a sync could not be
 * completed (peer unreachable, enquiry refused).
 */
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { DirectSyncRow } from '../client/index.js';
import { fail } from '../errors.js';
import type { InstancePaths } from '../node/instance.js';
import type { Io } from './io.js';
import { withNode } from './node-client.js';

/** A bar of local bundles compared, with the counts so far; nothing unless stderr is a terminal. */
function progressBar(): { update(row: DirectSyncRow): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    {
      format: '{peer} [{bar}] {value}/{total} compared | sent {sent} received {received} skipped {skipped} failed {failed}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(row) {
      const counts = { peer: row.peer, sent: row.sent, received: row.received, skipped: row.skipped, failed: row.failed };
      if (!started) bar.start(row.total ?? row.compared, row.compared, counts);
      else bar.update(row.compared, counts);
      bar.setTotal(row.total ?? row.compared);
      started = true;
    },
    stop: () => bar.stop(),
  };
}

/** A summary without the fields that only progress rows use. */
function summary(row: DirectSyncRow): Record<string, string | number | null> {
  const { state: _state, total: _total, ...rest } = row;
  return rest;
}

export function registerDirectCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const rhizome = program.commands.find((c) => c.name() === 'rhizome');
  if (!rhizome) throw new Error('rhizome commands must be registered first');
  rhizome
    .command('direct <mode> [url]')
    .description('push, pull or sync bundles with a Rhizome Direct peer (servald or Tendril); without URL, rhizome.direct.peer.0 … 9')
    .option('--json', 'print the summaries as JSON')
    .action(async (mode: string, url: string | undefined, opts: { json?: boolean }) => {
      if (mode !== 'push' && mode !== 'pull' && mode !== 'sync') fail('USAGE', { arg: `rhizome direct: unknown mode ${JSON.stringify(mode)} (push, pull or sync)` });
      const bar = opts.json ? { update: () => undefined, stop: () => undefined } : progressBar();
      let rows: DirectSyncRow[];
      try {
        rows = await withNode(paths(), io, (client) => client.direct.sync(mode, { url, onProgress: (row) => bar.update(row), signal: io.signal }));
      } finally {
        bar.stop();
      }
      if (opts.json) io.json(rows.map(summary));
      else for (const row of rows) for (const [key, value] of Object.entries(summary(row))) if (value !== null) io.out(`${key}:${value}`);
      if (rows.some((r) => r.state !== 'done')) io.exit(1);
    });
}
