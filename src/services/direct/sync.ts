/**
 * A Rhizome Direct sync with one peer, the reference's client (rhizome_direct.c,
 * rhizome_direct_http.c): walk the local store by size bin and BID, 2,047 BARs a round; send each
 * window as an enquiry; act on the answer's records in order (pull a 0x02, push a 0x01, as the
 * mode allows); on to the next window until the walk is done. The enquiries are the reference's
 * byte for byte, so a servald peer answers as it would answer servald.
 *
 * Failures of one bundle are counted and the sync goes on; a refused or unanswered enquiry stops
 * it (there is nothing to act on), reported in the summary.
 */
import { encodeBar } from '../../formats/bar.js';
import { parseRecords, RECORD_HAVE, RECORD_SEND } from '../../formats/direct-wire.js';
import type { Logger } from '../../log.js';
import { ASKER_BARS, BarCursor } from './cursor.js';
import { formatPeer, parsePeerUrl } from '../../formats/direct-peer.js';
import { DirectPeer } from './peer.js';
import { pullOne, pushOne, type Outcome, type TransferDeps } from './transfer.js';
import type { BeginImport, DirectStore, DirectSummary, DirectSyncOptions } from './types.js';

export interface SyncDeps {
  readonly store: DirectStore;
  readonly beginImport: BeginImport;
  readonly log: Logger;
}

function isAbort(err: unknown): boolean {
  return (err as Error | undefined)?.name === 'AbortError';
}

export async function runDirectSync(deps: SyncDeps, options: DirectSyncOptions): Promise<DirectSummary> {
  const address = parsePeerUrl(options.url);
  if (!address) throw new RangeError(`not a Rhizome Direct peer URL: ${options.url}`);
  const peerName = formatPeer(address);
  const started = Date.now();
  const peer = new DirectPeer(address, options.signal, options.idleTimeoutMs);
  const transfer: TransferDeps = { peer, store: deps.store, beginImport: deps.beginImport };
  const pull = options.mode !== 'push';
  const push = options.mode !== 'pull';
  const counts: Record<Outcome, number> = { sent: 0, received: 0, skipped: 0, failed: 0 };
  let compared = 0;
  let enquiries = 0;
  const total = await deps.store.bundleCount();
  const progress = (): void => options.onProgress?.({ peer: peerName, compared, total: Math.max(total, compared), ...counts });
  const log = deps.log.child({ peer: peerName, mode: options.mode });
  log.info('Rhizome Direct sync started');

  let error: string | undefined;
  const cursor = BarCursor.start();
  // A record acted on once is not acted on again in this sync: an answer naming one bundle many
  // times (a hostile peer asking for the same large bundle over and over) costs one transfer.
  const done = new Set<string>();
  try {
    while (!cursor.finished) {
      const fill = await cursor.fill((q) => deps.store.barsInRange(q), ASKER_BARS);
      const data = Buffer.concat([fill.range, ...fill.entries.map((e) => encodeBar(e.bid, e.filesize, e.version))]);
      enquiries++;
      const answer = await peer.enquiry(data);
      compared += fill.entries.length;
      for (const record of parseRecords(answer)) {
        const act = record.type === RECORD_HAVE && pull ? pullOne : record.type === RECORD_SEND && push ? pushOne : undefined;
        if (!act) continue;
        const key = `${record.type}:${record.prefix.toString('hex')}`;
        if (done.has(key)) continue;
        done.add(key);
        let outcome: Outcome;
        try {
          outcome = await act(transfer, record.prefix);
        } catch (err) {
          if (isAbort(err)) throw err;
          log.info({ err: (err as Error).message, prefix: record.prefix.toString('hex') }, 'Rhizome Direct transfer failed');
          outcome = 'failed';
        }
        counts[outcome]++;
        progress();
      }
      progress();
    }
  } catch (err) {
    error = isAbort(err) ? 'cancelled' : (err as Error).message;
  }
  const summary: DirectSummary = {
    peer: peerName,
    mode: options.mode,
    ...counts,
    ...(error === undefined ? {} : { error }),
    stats: {
      roundTrips: peer.counters.roundTrips,
      enquiries,
      bars: compared,
      bytesSent: peer.counters.bytesSent,
      bytesReceived: peer.counters.bytesReceived,
      durationMs: Date.now() - started,
    },
  };
  log[error === undefined ? 'info' : 'warn']({ ...counts, error, ...summary.stats }, 'Rhizome Direct sync ended');
  return summary;
}
