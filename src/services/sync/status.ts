/**
 * What the sync service reports: a row per peer (`GET /restful/sync/peers.json`,
 * `tendril sync status`), the routing table's rows (`GET /restful/route/all.json`), and totals for
 * `/restful/system`.
 */
import type { Identity } from '../keyring/types.js';
import type { PeerDialer } from './dialer.js';
import type { Fetcher } from './fetcher.js';
import type { Link } from './link.js';
import type { PeerSession } from './peer-session.js';
import type { Route } from './routing.js';
import type { LinkState, PeerFound, PeerStatus, RouteRow, SyncCounters } from './types.js';

function stateOf(link: Link | undefined, session: PeerSession | undefined, dialer: PeerDialer | undefined): LinkState {
  if (link === undefined || link.closed) return dialer?.state === 'connecting' ? 'connecting' : dialer ? 'waiting' : 'closed';
  if (session === undefined) return 'connecting';
  if (session.reconciling) return 'reconciling';
  return session.busy ? 'transferring' : 'idle';
}

export function peerStatus(
  address: string,
  direction: 'outgoing' | 'incoming',
  found: PeerFound,
  link: Link | undefined,
  session: PeerSession | undefined,
  fetcher: Fetcher,
  dialer: PeerDialer | undefined,
): PeerStatus {
  const s = link?.stats;
  const lag = link ? fetcher.lag(link) : { bundles: 0, since: undefined };
  const wants = session?.wantsPending ?? { count: 0, since: undefined };
  const oldest = [lag.since, wants.since].filter((t): t is number => t !== undefined);
  return {
    address,
    direction,
    found,
    node: link?.peer?.node ?? dialer?.peer.node,
    state: stateOf(link, session, dialer),
    lastContact: s?.lastContact,
    connectedSince: link?.closed === false ? s?.connectedSince : undefined,
    bundlesIn: s?.bundlesIn ?? 0,
    bundlesOut: s?.bundlesOut ?? 0,
    bytesIn: s?.bytesIn ?? 0,
    bytesOut: s?.bytesOut ?? 0,
    wireBytesIn: s?.wireIn ?? 0,
    wireBytesOut: s?.wireOut ?? 0,
    lagBundles: lag.bundles + wants.count,
    lagSeconds: oldest.length === 0 ? 0 : Math.round((Date.now() - Math.min(...oldest)) / 1000),
    rejected: s?.rejected ?? 0,
    sessions: s?.sessions ?? 0,
    lastSessionMessages: s?.lastSessionMessages,
    lastError: link?.closed === false ? undefined : (dialer?.lastError ?? link?.closeReason),
    retryAt: dialer?.state === 'waiting' ? dialer.retryAt : undefined,
  };
}

/** A row for a peer without a link: one found and not dialled, or one not found yet. */
export function unlinkedStatus(address: string, node: string, state: LinkState, lastError: string | undefined): PeerStatus {
  return {
    address,
    direction: 'outgoing',
    found: 'mdns',
    node,
    state,
    lastContact: undefined,
    connectedSince: undefined,
    bundlesIn: 0,
    bundlesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    wireBytesIn: 0,
    wireBytesOut: 0,
    lagBundles: 0,
    lagSeconds: 0,
    rejected: 0,
    sessions: 0,
    lastSessionMessages: undefined,
    lastError,
    retryAt: undefined,
  };
}

/** Our identities (hop 0), then every SID the links reach, ordered by SID as the reference orders them. */
export function routeRows(self: readonly Identity[], routes: readonly Route[]): RouteRow[] {
  const rows: RouteRow[] = self.map((id) => ({
    sid: id.sid,
    did: id.did,
    name: id.name,
    isSelf: true,
    reachableUnicast: false,
    reachableIndirect: false,
    interfaceName: undefined,
    hopCount: 0,
    firstHop: undefined,
    penultimateHop: undefined,
  }));
  for (const r of routes) {
    rows.push({
      sid: Buffer.from(r.sid, 'hex'),
      did: undefined,
      name: undefined,
      isSelf: false,
      reachableUnicast: r.unicast,
      reachableIndirect: !r.unicast,
      interfaceName: r.unicast ? r.link.address : undefined,
      hopCount: r.hops,
      firstHop: r.firstHop === undefined ? undefined : Buffer.from(r.firstHop, 'hex'),
      penultimateHop: r.penultimateHop === undefined ? undefined : Buffer.from(r.penultimateHop, 'hex'),
    });
  }
  return rows.sort((a, b) => a.sid.compare(b.sid));
}

type Moved = Pick<SyncCounters, 'bundlesIn' | 'bundlesOut' | 'bytesIn' | 'bytesOut'>;

/** Totals: links up now, plus `past` (what links that have closed moved). */
export function totals(peersConfigured: number, links: readonly Link[], past: Moved, sessions: number, rejected: number): SyncCounters {
  const sum = (f: (l: Link) => number): number => links.reduce((n, l) => n + f(l), 0);
  return {
    peersConfigured,
    linksUp: links.filter((l) => !l.closed).length,
    bundlesIn: past.bundlesIn + sum((l) => l.stats.bundlesIn),
    bundlesOut: past.bundlesOut + sum((l) => l.stats.bundlesOut),
    bytesIn: past.bytesIn + sum((l) => l.stats.bytesIn),
    bytesOut: past.bytesOut + sum((l) => l.stats.bytesOut),
    sessions,
    rejected,
  };
}
