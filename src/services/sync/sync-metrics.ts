/**
 * Tendril sync's figures on the node's Prometheus registry (GET /metrics), read from the service
 * when scraped: totals since start, links up, and each peer's lag.
 */
import { Gauge, type Registry } from 'prom-client';
import type { SyncCounters, SyncService } from './types.js';

const TOTALS: ReadonlyArray<readonly [keyof SyncCounters, string, string]> = [
  ['peersConfigured', 'tendril_sync_peers_configured', 'Sync peers in the configuration'],
  ['linksUp', 'tendril_sync_links_up', 'Sync links up, both directions'],
  ['bundlesIn', 'tendril_sync_bundles_in', 'Bundles imported from sync peers since start'],
  ['bundlesOut', 'tendril_sync_bundles_out', 'Bundles served whole to sync peers since start'],
  ['bytesIn', 'tendril_sync_payload_bytes_in', 'Payload bytes received from sync peers since start'],
  ['bytesOut', 'tendril_sync_payload_bytes_out', 'Payload bytes sent to sync peers since start'],
  ['sessions', 'tendril_sync_reconciliations', 'Reconciliation sessions completed since start'],
  ['rejected', 'tendril_sync_rejected_bundles', 'Bundles from peers that failed verification since start'],
];

export function registerSyncMetrics(registry: Registry, sync: SyncService): void {
  for (const [field, name, help] of TOTALS) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(sync.counters()[field]);
      },
    });
  }
  new Gauge({
    name: 'tendril_sync_peer_lag_bundles',
    help: 'Bundles a peer holds that are still to come here',
    labelNames: ['peer', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of sync.peers()) this.set({ peer: p.address, direction: p.direction }, p.lagBundles);
    },
  });
}
