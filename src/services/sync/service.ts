/**
 * The sync service (docs/sync.md): links to the configured peers and from nodes that dial us, one
 * fingerprint index of our bundles shared by every reconciliation, one fetcher for everything
 * offered, one route table. New bundles are offered to every linked peer as the store commits
 * them (its subscription), so propagation needs no polling.
 */
import { PassThrough, type Readable } from 'node:stream';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import type { KeyringService } from '../keyring/types.js';
import type { RhizomeService } from '../rhizome/types.js';
import { PeerDialer, type DialPeer } from './dialer.js';
import type { PeerDiscovery } from './discovery/types.js';
import { Fetcher } from './fetcher.js';
import { helloJson } from './hello.js';
import { Link, type LinkTransport } from './link.js';
import { Partials } from './partials.js';
import { PeerSession } from './peer-session.js';
import { FingerprintIndex } from './reconcile/fingerprint-index.js';
import { RouteTable, type PeerRoutes } from './routing.js';
import type { SyncStore } from './store-view.js';
import { peerStatus, routeRows, totals, unlinkedStatus } from './status.js';
import type { ConfiguredPeer, IncomingLinkInfo, PeerStatus, RouteRow, SyncCounters, SyncService } from './types.js';

export interface SyncServiceOptions {
  readonly store: SyncStore;
  readonly rhizome: RhizomeService;
  readonly keyring: KeyringService;
  /** INSTANCE/sync: partial payloads live here. */
  readonly dir: string;
  /** The configured peers, read again when the configuration changes. */
  readonly peers: () => readonly ConfiguredPeer[];
  /** Discovery on the local network, and whether it is on (`sync.discovery.enable`). */
  readonly discovery?: PeerDiscovery;
  readonly discoveryEnabled?: () => boolean;
  /** How often a link we opened reconciles again (repair of anything live propagation missed). */
  readonly repairIntervalMs: () => number;
  /** False for a node that only serves a one-shot command: it dials nobody. */
  readonly dial: boolean;
  readonly software: string;
  readonly log: Logger;
}

class Sync implements SyncService {
  readonly #o: SyncServiceOptions;
  readonly #node: string;
  readonly #index: FingerprintIndex;
  readonly #fetcher: Fetcher;
  readonly #routes: RouteTable;
  readonly #links = new Set<Link>();
  readonly #sessions = new Map<Link, PeerSession>();
  readonly #dialers = new Map<string, PeerDialer>();
  readonly #repairs = new Map<Link, NodeJS.Timeout>();
  readonly #unsubscribe: () => void;
  readonly #unwatchDiscovery: () => void;
  readonly #unwatchKeyring: () => void;
  /** Node id → the URL a peer configured by node id alone was last dialled at (kept when its announcements stop). */
  readonly #lastFound = new Map<string, string>();
  /** Node id → the URLs it is announced at, when more than one host claims it. */
  readonly #claimedTwice = new Map<string, string[]>();
  #routesPending = false;
  #sessionCount = 0;
  #rejected = 0;
  /** What links that have closed moved, for the totals. */
  readonly #past = { bundlesIn: 0, bundlesOut: 0, bytesIn: 0, bytesOut: 0 };

  constructor(o: SyncServiceOptions) {
    this.#o = o;
    this.#node = o.store.uuid.toString('hex');
    this.#index = new FingerprintIndex(o.store.keys);
    this.#routes = new RouteTable(
      () => o.keyring.list().map((i) => i.sidHex),
      () => this.#routesChanged(),
    );
    this.#fetcher = new Fetcher({
      rhizome: o.rhizome,
      store: o.store,
      partials: new Partials(join(o.dir, 'partial')),
      log: o.log,
      recipientClass: (recipient, from) => {
        if (recipient === undefined) return 2;
        if (o.keyring.find(recipient) !== undefined) return 0;
        const via = this.#routes.via(recipient);
        return via !== undefined && via !== from ? 1 : 2;
      },
      rejected: (link, why) => this.#rejectedFrom(link, why),
    });
    this.#unsubscribe = o.store.subscribe((bundle) => {
      this.#index.touch(bundle.bid);
      for (const session of this.#sessions.values()) session.stored(bundle);
    });
    this.#unwatchDiscovery = o.discovery?.onChange(() => this.configChanged()) ?? (() => undefined);
    // An identity added, unlocked, locked or removed here reaches the peers' route tables at once.
    this.#unwatchKeyring = o.keyring.subscribe(() => this.#routes.selfChanged());
    if (o.dial) this.configChanged();
  }

  accept(input: AsyncIterable<Buffer>, info: IncomingLinkInfo, abort: () => void): Readable {
    // Room for a few DATA frames, so the sender need not wait for each one to leave.
    const output = new PassThrough({ highWaterMark: 1024 * 1024 });
    const link = this.#link(
      {
        input,
        output,
        // After a BYE the response ends by itself; otherwise the exchange is cut at once.
        destroy: () => {
          if (output.writableEnded) return;
          output.destroy();
          abort();
        },
      },
      'incoming',
      info.remote,
      info.canWrite,
    );
    void link.run();
    return output;
  }

  configChanged(): void {
    if (!this.#o.dial) return;
    this.#o.discovery?.setEnabled(this.#o.discoveryEnabled?.() === true);
    const wanted = new Map<string, DialPeer>();
    for (const p of this.#o.peers()) {
      const url = p.url ?? this.#foundUrl(p);
      if (url !== undefined) wanted.set(url, { ...p, url, found: p.url === undefined ? 'mdns' : 'config' });
    }
    for (const [url, dialer] of this.#dialers) {
      const next = wanted.get(url);
      if (next === undefined || JSON.stringify(next) !== JSON.stringify(dialer.peer)) {
        dialer.stop();
        this.#dialers.delete(url);
      }
    }
    for (const [url, peer] of wanted) {
      if (this.#dialers.has(url)) continue;
      const dialer = new PeerDialer(
        peer,
        (transport) => {
          const link = this.#link(transport, 'outgoing', url, true);
          return { done: link.run().then(() => link.closeReason), close: () => void link.bye('shutdown', 'peer removed') };
        },
        this.#o.log,
      );
      this.#dialers.set(url, dialer);
      if (peer.found === 'mdns') this.#o.log.info({ node: peer.node, url }, 'sync peer found on the local network: dialling it');
      dialer.start();
    }
  }

  /**
   * Where to dial a peer configured by node id alone: the one address discovery finds it at (HTTPS
   * if the peer has a CA or certificate configured, else HTTP), else where it was last found. When
   * two hosts claim the id, neither new address is dialled (one of them lies, and would receive
   * the peer's credentials): the last one stays, if any.
   */
  #foundUrl(peer: ConfiguredPeer): string | undefined {
    const node = peer.node;
    if (node === undefined) return undefined;
    const scheme = peer.ca !== undefined || peer.cert !== undefined ? 'https' : 'http';
    const urls = [...new Set((this.#o.discovery?.found() ?? []).filter((f) => f.node === node && f.scheme === scheme).map((f) => f.url))];
    if (urls.length > 1) this.#claimedTwice.set(node, urls);
    else this.#claimedTwice.delete(node);
    if (urls.length === 1) this.#lastFound.set(node, urls[0]!);
    return this.#lastFound.get(node);
  }

  peers(): PeerStatus[] {
    const rows: PeerStatus[] = [];
    const linked = new Set<Link>();
    for (const dialer of this.#dialers.values()) {
      const link = [...this.#links].find((l) => l.direction === 'outgoing' && l.address === dialer.peer.url && !l.closed);
      if (link) linked.add(link);
      const row = peerStatus(dialer.peer.url, 'outgoing', dialer.peer.found, link, link && this.#sessions.get(link), this.#fetcher, dialer);
      const twice = dialer.peer.node === undefined ? undefined : this.#claimedTwice.get(dialer.peer.node);
      rows.push(twice && !link ? { ...row, lastError: claimedBy(twice) } : row);
    }
    for (const link of this.#links) {
      if (!linked.has(link) && link.direction === 'incoming') rows.push(peerStatus(link.address, 'incoming', 'incoming', link, this.#sessions.get(link), this.#fetcher, undefined));
    }
    // Peers configured by node id that discovery has not found, then nodes found that no peer names.
    const configured = this.#o.dial ? this.#o.peers() : [];
    for (const p of configured) {
      if (p.url !== undefined || p.node === undefined || this.#lastFound.has(p.node)) continue;
      const twice = this.#claimedTwice.get(p.node);
      rows.push(unlinkedStatus(`node:${p.node}`, p.node, 'waiting', twice ? claimedBy(twice) : 'not found on the local network'));
    }
    const known = new Set([...configured.map((p) => p.node), ...[...this.#links].filter((l) => !l.closed).map((l) => l.peer?.node)]);
    const urls = new Set(rows.map((r) => r.address));
    for (const f of this.#o.discovery?.found() ?? []) {
      if (!known.has(f.node) && !urls.has(f.url)) rows.push(unlinkedStatus(f.url, f.node, 'discovered', undefined));
    }
    return rows;
  }

  routes(): RouteRow[] {
    return routeRows(this.#o.keyring.list(), this.#routes.routes());
  }

  counters(): SyncCounters {
    return totals(this.#dialers.size, [...this.#sessions.keys()], this.#past, this.#sessionCount, this.#rejected);
  }

  async stop(): Promise<void> {
    this.#unsubscribe();
    this.#unwatchDiscovery();
    this.#unwatchKeyring();
    await this.#o.discovery?.stop();
    for (const dialer of this.#dialers.values()) dialer.stop();
    this.#dialers.clear();
    await Promise.all([...this.#links].map((link) => link.bye('shutdown', 'node stopping')));
    for (const link of [...this.#links]) link.close('node stopping');
  }

  #link(transport: LinkTransport, direction: 'outgoing' | 'incoming', address: string, weAccept: boolean): Link {
    const advertised = new WeakMap<Link, PeerRoutes>();
    const link: Link = new Link(transport, {
      direction,
      address,
      weAccept,
      log: this.#o.log,
      localHello: () => {
        const advert = this.#routes.advertFor(link);
        advertised.set(link, advert);
        return helloJson({ node: this.#node, software: this.#o.software, accepts: weAccept, ...advert });
      },
      handlers: {
        hello: (l) => this.#hello(l, advertised.get(l)),
        frame: (l, frame) => this.#sessions.get(l)?.frame(frame),
        closed: (l) => this.#closed(l),
      },
    });
    this.#links.add(link);
    return link;
  }

  #hello(link: Link, advert: PeerRoutes | undefined): string | undefined {
    const node = link.peer!.node;
    if (node === this.#node) return 'self';
    // A peer configured with a node id (always so for one found by discovery) must be that node.
    const expected = link.direction === 'outgoing' ? this.#dialers.get(link.address)?.peer.node : undefined;
    if (expected !== undefined && expected !== node) return 'unexpected-node';
    for (const other of this.#sessions.keys()) {
      if (other.peer?.node !== node || other.closed) continue;
      // Two links to one node (both dialled, or one peer under two URLs): both ends keep the same
      // one and drop the other (docs/sync.md §4.1). A link that carries bundles one way only (a
      // read-only token) does not replace one that carries the other way: both stay.
      const carries = (l: Link): number => (l.weAccept ? 1 : 0) | (l.peerAccepts ? 2 : 0);
      const [mine, theirs] = [carries(link), carries(other)];
      if ((mine | theirs) !== mine && (mine | theirs) !== theirs) continue;
      const openerOf = (l: Link): string => (l.direction === 'outgoing' ? this.#node : node);
      const keepOther = mine !== theirs ? (mine | theirs) === theirs : openerOf(link) === openerOf(other) || openerOf(other) < openerOf(link);
      if (keepOther) return 'duplicate';
      void other.bye('duplicate', 'another link to this node is kept');
    }
    const session = new PeerSession(link, {
      store: this.#o.store,
      index: this.#index,
      fetcher: this.#fetcher,
      routes: (l, routes) => this.#routes.update(l, routes),
      sessionEnded: (l, messages, bytes, ms) => {
        this.#sessionCount++;
        l.stats.sessions++;
        l.stats.lastSessionMessages = messages;
        l.log.info({ messages, bytes, ms }, 'sync reconciliation done');
      },
    });
    if (advert) session.sendRoutes(advert);
    this.#sessions.set(link, session);
    if (link.direction === 'outgoing') {
      session.reconcile();
      const repair = setInterval(() => session.reconcile(), this.#o.repairIntervalMs());
      repair.unref();
      this.#repairs.set(link, repair);
    }
    return undefined;
  }

  #closed(link: Link): void {
    if (this.#sessions.has(link)) {
      this.#past.bundlesIn += link.stats.bundlesIn;
      this.#past.bundlesOut += link.stats.bundlesOut;
      this.#past.bytesIn += link.stats.bytesIn;
      this.#past.bytesOut += link.stats.bytesOut;
    }
    clearInterval(this.#repairs.get(link));
    this.#repairs.delete(link);
    this.#sessions.get(link)?.closed();
    this.#sessions.delete(link);
    this.#links.delete(link);
    this.#fetcher.sourceClosed(link);
    this.#routes.remove(link);
  }

  #rejectedFrom(link: Link, why: string | undefined): void {
    link.stats.rejected++;
    this.#rejected++;
    link.log.warn({ why, rejected: link.stats.rejected }, 'peer sent a bundle that fails verification; nothing of it was stored');
    if (link.stats.rejected >= 32) void link.bye('rejected', 'too many bundles that fail verification');
  }

  #routesChanged(): void {
    if (this.#routesPending) return;
    this.#routesPending = true;
    setImmediate(() => {
      this.#routesPending = false;
      for (const [link, session] of this.#sessions) session.sendRoutes(this.#routes.advertFor(link));
    });
  }
}

export function createSyncService(options: SyncServiceOptions): SyncService {
  return new Sync(options);
}

/** The status of a peer whose node id more than one host announces (none of them is dialled anew). */
function claimedBy(urls: readonly string[]): string {
  return `announced by several hosts: ${urls.join(', ')}`;
}
