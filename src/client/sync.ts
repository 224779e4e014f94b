/**
 * Tendril sync as a client sees it (docs/sync.md §10): the peers and their links, the node's sync
 * totals since it started, and the routing table the links feed. Peers are added and removed in
 * the node's configuration (`tendril sync peer add|remove`), not over the REST API.
 */
import type { SystemStatus } from './client.js';
import { ok, type Core } from './core.js';
import type { Route, SyncPeer } from './rows.js';
import { tableObjects } from './table.js';

export type SyncTotals = NonNullable<SystemStatus['node']['sync']>;

export interface SyncApi {
  /** One row per configured peer, per link another node opened, and per node found on the LAN that no peer names. */
  peers(): Promise<SyncPeer[]>;
  /** Totals since the node started (`node.sync` of GET /restful/system); undefined on a node without sync. */
  status(): Promise<SyncTotals | undefined>;
  /** This node's identities (hop 0), then those its sync links reach. */
  routes(): Promise<Route[]>;
}

export function syncApi(core: Core, system: () => Promise<SystemStatus>): SyncApi {
  const { api } = core;
  return {
    async peers() {
      return tableObjects<SyncPeer>(await ok(api.GET('/restful/sync/peers.json')));
    },
    async status() {
      return (await system()).node.sync;
    },
    async routes() {
      return tableObjects<Route>(await ok(api.GET('/restful/route/all.json')));
    },
  };
}
