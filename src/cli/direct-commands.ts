/**
 * `tendril rhizome direct push|pull|sync [URL]`: Rhizome Direct with a peer (servald or Tendril),
 * run by the node that owns the store (POST /control/rhizome/direct/MODE on the control socket);
 * without a URL, with the peers of rhizome.direct.peer.0 … 9 in turn. A progress bar on a
 * terminal, then per peer its summary (sent, received, skipped, failed, and what it cost on the
 * wire) as `key:value` lines, or all of it as JSON with --json. Exits 1 when a sync could not be
 * completed (peer unreachable, enquiry refused).
 */
import { request } from 'node:http';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { fail } from '../errors.js';
import type { InstancePaths } from '../node/instance.js';
import { withNode } from './client.js';
import type { Io } from './io.js';

type Row = ReadonlyArray<string | number | null>;

/** Calls `onRow` for each row of a live JSON table as it arrives (rows are one per line). */
function streamTable(socketPath: string, path: string, onRow: (columns: readonly string[], row: Row) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path }, (res) => {
      const chunks: Buffer[] = [];
      if (res.statusCode !== 200) {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const reason = (JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { http_status_message?: string }).http_status_message;
          reject(new Error(reason ?? `${res.statusCode} ${res.statusMessage}`));
        });
        return;
      }
      let pending = '';
      let columns: string[] = [];
      // A row is complete when it parses: the separator before the next one comes with the next.
      let shown = '';
      const take = (line: string): void => {
        const text = line.replace(/^,/, '').replace(/,$/, '');
        if (text.startsWith('"header":')) columns = JSON.parse(text.slice('"header":'.length)) as string[];
        if (!text.startsWith('[') || text === shown) return;
        try {
          onRow(columns, JSON.parse(text) as Row);
          shown = text;
        } catch {
          // Not complete yet.
        }
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) take(line);
        take(pending);
      });
      res.on('end', () => resolve());
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface PeerSummary {
  readonly [column: string]: string | number | null;
}

function progressBar(): { update(row: PeerSummary): void; stop(): void } {
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
      const payload = { peer: row.peer, sent: row.sent, received: row.received, skipped: row.skipped, failed: row.failed };
      if (!started) bar.start(Number(row.total), Number(row.compared), payload);
      else bar.update(Number(row.compared), { ...payload, total: row.total });
      bar.setTotal(Number(row.total));
      started = true;
    },
    stop: () => bar.stop(),
  };
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
      const p = paths();
      const summaries: PeerSummary[] = [];
      const bar = opts.json ? { update: () => undefined, stop: () => undefined } : progressBar();
      const target = `/control/rhizome/direct/${mode}${url === undefined ? '' : `?url=${encodeURIComponent(url)}`}`;
      try {
        await withNode(p, () =>
          streamTable(p.controlSocket, target, (columns, row) => {
            const named: PeerSummary = Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null]));
            if (named.state === 'running') bar.update(named);
            else summaries.push(named);
          }),
        );
      } finally {
        bar.stop();
      }
      if (opts.json) io.out(JSON.stringify(summaries.map(({ state: _state, total: _total, ...rest }) => rest)));
      else {
        for (const s of summaries) {
          for (const [key, value] of Object.entries(s)) if (key !== 'state' && key !== 'total' && value !== null) io.out(`${key}:${value}`);
        }
      }
      if (summaries.some((s) => s.state !== 'done')) io.exit(1);
    });
}
