/**
 * `POST /control/rhizome/direct/{push|pull|sync}[?url=…]`: the CLI's `rhizome direct` runs here, in
 * the node that owns the store. The answer is a live table: a `running` row whenever the counts
 * have moved (at most a few a second), then one `done` (or `failed`) row per peer with its
 * summary and its cost on the wire. Without a URL, the configured peers are synced in turn.
 */
import { fail } from '../../errors.js';
import { parsePeerUrl } from '../../formats/direct-peer.js';
import type { DirectMode, DirectProgress, DirectService, DirectSummary } from '../../services/direct/types.js';
import type { Handler, Row } from '../types.js';

export const DIRECT_SYNC_COLUMNS = [
  'peer',
  'state',
  'compared',
  'total',
  'sent',
  'received',
  'skipped',
  'failed',
  'round_trips',
  'bytes_sent',
  'bytes_received',
  'error',
] as const;

/** Progress rows are written at most this often. */
const PROGRESS_INTERVAL_MS = 200;

function progressRow(p: DirectProgress): Row {
  return [p.peer, 'running', p.compared, p.total, p.sent, p.received, p.skipped, p.failed, null, null, null, null];
}

function summaryRow(s: DirectSummary): Row {
  const { stats } = s;
  const state = s.error === undefined ? 'done' : 'failed';
  return [s.peer, state, stats.bars, null, s.sent, s.received, s.skipped, s.failed, stats.roundTrips, stats.bytesSent, stats.bytesReceived, s.error ?? null];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function* syncRows(direct: DirectService, urls: readonly string[], mode: DirectMode, signal: AbortSignal): AsyncGenerator<Row> {
  for (const url of urls) {
    if (signal.aborted) return;
    let latest: DirectProgress | undefined;
    let wake: (() => void) | undefined;
    const running = direct.sync({
      url,
      mode,
      signal,
      onProgress: (p) => {
        latest = p;
        wake?.();
      },
    });
    let finished = false;
    void running.finally(() => {
      finished = true;
      wake?.();
    });
    // Waits for news (progress or the end), then lets a little time pass before the next row.
    while (!finished) {
      if (latest === undefined) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      if (latest !== undefined && !finished) {
        yield progressRow(latest);
        latest = undefined;
        await Promise.race([running.then(() => undefined, () => undefined), sleep(PROGRESS_INTERVAL_MS)]);
      }
    }
    yield summaryRow(await running);
  }
}

export function directSyncHandler(direct: DirectService, configuredPeers: () => readonly string[]): Handler {
  return (ctx) => {
    const mode = ctx.params.mode;
    if (mode !== 'push' && mode !== 'pull' && mode !== 'sync') fail('HTTP_NOT_FOUND');
    const url = ctx.queryValue('url');
    const urls = url !== undefined ? [url] : configuredPeers();
    if (urls.length === 0) fail('USAGE', { arg: 'no Rhizome Direct peer: give a URL, or set rhizome.direct.peer.0' });
    for (const u of urls) if (!parsePeerUrl(u)) fail('USAGE', { arg: `invalid Rhizome Direct peer URL ${JSON.stringify(u)} (host[:port] or http://host[:port])` });
    return { kind: 'table', columns: DIRECT_SYNC_COLUMNS, rows: syncRows(direct, urls, mode, ctx.signal), live: true };
  };
}
