/**
 * The sync service contract: Tendril sync between nodes (docs/sync.md), as the HTTP handlers, the
 * node and the CLI see it. The service dials the peers of the configuration, accepts links other
 * nodes open, and reports what it does; the Rhizome service and the store never know it exists.
 */
import type { Readable } from 'node:stream';

/** A peer to dial: a configured one (`sync.peer.N.*`), or one found on the local network. */
export interface PeerConfig {
  /** `http://host:port[/base]` or `https://…`. */
  readonly url: string;
  /** The node id it must have (its HELLO's), when the configuration names one. */
  readonly node?: string;
  /** An API token of the other node (a secret: never logged). */
  readonly token?: string;
  /** PEM files for HTTPS peers: a CA (or the peer's own certificate) to trust, a client certificate and key. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** A peer as configured: a url, a node id (dialled where discovery finds it), or both. */
export type ConfiguredPeer = Omit<PeerConfig, 'url'> & { readonly url?: string; readonly tokenFile?: string };

/** `discovered`: found on the local network and not dialled (no configured peer names it). */
export type LinkState = 'connecting' | 'reconciling' | 'transferring' | 'idle' | 'waiting' | 'closed' | 'discovered';

/** How a peer came to be known: a configured URL, multicast DNS, or it opened a link to us. */
export type PeerFound = 'config' | 'mdns' | 'incoming';

/** One row of `GET /restful/sync/peers.json` and `tendril sync status`. */
export interface PeerStatus {
  /** The configured URL, or the remote address of a link another node opened. */
  readonly address: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly found: PeerFound;
  /** The peer's node id (hex), once its HELLO arrived (or as configured or announced). */
  readonly node: string | undefined;
  readonly state: LinkState;
  /** Milliseconds since the epoch of the last frame received, if any. */
  readonly lastContact: number | undefined;
  readonly connectedSince: number | undefined;
  readonly bundlesIn: number;
  readonly bundlesOut: number;
  /** Payload bytes (DATA) each way. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Every byte of every frame each way. */
  readonly wireBytesIn: number;
  readonly wireBytesOut: number;
  /** Bundles known to be on the peer and not yet here (offered, wanted or in transfer). */
  readonly lagBundles: number;
  /** Seconds the oldest of them has been waiting. */
  readonly lagSeconds: number;
  /** Bundles the peer sent that failed verification (bad signature, hash, size). */
  readonly rejected: number;
  /** Reconciliation sessions completed, and the messages of the last one. */
  readonly sessions: number;
  readonly lastSessionMessages: number | undefined;
  /** Why the last link ended or could not be made, if it did. */
  readonly lastError: string | undefined;
  /** When the next attempt to connect is due (outgoing peers that are waiting). */
  readonly retryAt: number | undefined;
}

/** A row of `GET /restful/route/all.json` (spec §6.1). */
export interface RouteRow {
  readonly sid: Buffer;
  readonly did: string | undefined;
  readonly name: string | undefined;
  readonly isSelf: boolean;
  readonly reachableUnicast: boolean;
  readonly reachableIndirect: boolean;
  readonly interfaceName: string | undefined;
  readonly hopCount: number;
  readonly firstHop: Buffer | undefined;
  readonly penultimateHop: Buffer | undefined;
}

/** Totals for `/restful/system`. */
export interface SyncCounters {
  readonly peersConfigured: number;
  readonly linksUp: number;
  readonly bundlesIn: number;
  readonly bundlesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly sessions: number;
  readonly rejected: number;
}

/** Who opened an incoming link, as the HTTP layer authenticated it. */
export interface IncomingLinkInfo {
  readonly remote: string;
  /** False for read-only credentials: the link may pull, never push (docs/sync.md §2.2). */
  readonly canWrite: boolean;
}

export interface SyncService {
  /**
   * Serves a link another node opened (`POST /sync/v1/link`): reads its frames from `input` and
   * returns the stream of frames to send back as the response body.
   */
  accept(input: AsyncIterable<Buffer>, info: IncomingLinkInfo, abort: () => void): Readable;
  peers(): PeerStatus[];
  routes(): RouteRow[];
  counters(): SyncCounters;
  /** The configuration may have changed (peers added or removed). */
  configChanged(): void;
  stop(): Promise<void>;
}
