/**
 * The contract of peer discovery on the local network, as the sync service sees it: what has been
 * found, and word when that changes. The sync service decides whom to dial (docs/sync.md §11).
 */
import type { Advert } from './records.js';

/** A web server of this node that serves sync, as it listens. */
export interface AdvertisedServer extends Advert {
  readonly bind: string;
}

/** A sync web server another node announced. */
export interface DiscoveredPeer {
  /** The node id it announced (unauthenticated: anyone on the link can claim any id). */
  readonly node: string;
  /** Where it would be dialled: the scheme and port announced, at the address the announcement came from. */
  readonly url: string;
  readonly address: string;
  readonly scheme: 'http' | 'https';
  /** Milliseconds since the epoch of its last announcement. */
  readonly lastSeen: number;
}

export interface PeerDiscovery {
  /** On or off (config `sync.discovery.enable`); off withdraws our announcements. */
  setEnabled(on: boolean): void;
  readonly enabled: boolean;
  /** This node's web servers that serve sync, once they listen; loopback ones are never announced. */
  advertise(servers: readonly AdvertisedServer[]): void;
  found(): DiscoveredPeer[];
  /** Calls `listener` whenever what is found changes; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
  stop(): Promise<void>;
}
