/**
 * Discovery of Tendril sync peers on the local network (docs/sync.md §11): DNS-SD over multicast
 * DNS, on multicast-dns (the socket and the packet codec; the DNS-SD part is this file).
 *
 * It advertises this node's web servers that serve `sync` — announced twice when it starts,
 * answered to queries at most once a second, withdrawn by a goodbye when it stops — and browses
 * for other nodes' (a query at once, after 1 s and 3 s, then every minute; entries expire with
 * their TTL). Everything it hears is unauthenticated, so it keeps little and trusts less: only
 * responses from port 5353 and from an address on one of our own subnets (RFC 6762 §11: what is
 * not on the link is not mDNS); never our own node id; at most MAX_FOUND services; and the address
 * a peer is dialled at is the one its packet came from, never the address records it carries, so an
 * advertisement cannot point this node at a third host. It never answers a query by unicast.
 */
import { networkInterfaces } from 'node:os';
import type { RemoteInfo } from 'node:dgram';
import makeMdns from 'multicast-dns';
import type { Packet } from 'dns-packet';
import type { Logger } from '../../../log.js';
import { advertRecords, asksForUs, readResponse, SERVICE, SERVICES_ENUM } from './records.js';
import type { AdvertisedServer, DiscoveredPeer, PeerDiscovery } from './types.js';

const MDNS_PORT = 5353;
/** Services kept at once: beyond it, new ones are ignored until some expire. */
export const MAX_FOUND = 64;
const MAX_TTL_SECONDS = 4500;
/** A shorter TTL is taken as this, so a flood of short-lived services cannot churn the table fast. */
const MIN_TTL_SECONDS = 60;
const QUERY_DELAYS_MS = [0, 1_000, 3_000];
const QUERY_EVERY_MS = 60_000;
const SWEEP_EVERY_MS = 5_000;

interface Entry extends DiscoveredPeer {
  readonly instance: string;
  readonly expiresAt: number;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

function ipv4(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return undefined;
  return parts.reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
}

interface Net {
  readonly address: string;
  readonly net: number;
  readonly mask: number;
}
let nets: { at: number; list: Net[] } = { at: 0, list: [] };

/** The IPv4 addresses and netmasks of this host's interfaces other than loopback (read at most every 5 s). */
function localNets(): Net[] {
  if (Date.now() - nets.at < 5_000) return nets.list;
  const list: Net[] = [];
  for (const infos of Object.values(networkInterfaces())) {
    for (const i of infos ?? []) {
      const address = ipv4(i.address);
      const mask = ipv4(i.netmask);
      if (i.family === 'IPv4' && !i.internal && address !== undefined && mask !== undefined) list.push({ address: i.address, net: (address & mask) >>> 0, mask });
    }
  }
  nets = { at: Date.now(), list };
  return list;
}

export interface MdnsDiscoveryOptions {
  /** This node's id (hex), as its HELLO says it. */
  readonly node: string;
  readonly log: Logger;
  /** Tests only: another UDP port than 5353. */
  readonly port?: number;
}

class MdnsDiscovery implements PeerDiscovery {
  readonly #o: MdnsDiscoveryOptions;
  readonly #port: number;
  #mdns: makeMdns.MulticastDNS | undefined;
  #servers: readonly AdvertisedServer[] = [];
  readonly #found = new Map<string, Entry>();
  readonly #listeners = new Set<() => void>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #respondAt = 0;
  #responding = false;
  #warnedFullAt = 0;

  constructor(o: MdnsDiscoveryOptions) {
    this.#o = o;
    this.#port = o.port ?? MDNS_PORT;
  }

  get enabled(): boolean {
    return this.#mdns !== undefined;
  }

  setEnabled(on: boolean): void {
    if (on && this.#mdns === undefined) this.#open();
    else if (!on && this.#mdns !== undefined) void this.#close();
  }

  advertise(servers: readonly AdvertisedServer[]): void {
    this.#servers = servers.filter((s) => !s.bind.startsWith('127.') && s.bind !== '::1' && s.bind !== 'localhost');
    if (this.#mdns) this.#announce();
  }

  found(): DiscoveredPeer[] {
    return [...this.#found.values()].map(({ node, url, address, scheme, lastSeen }) => ({ node, url, address, scheme, lastSeen }));
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    await this.#close();
  }

  /** Handles one packet as if it had arrived on the socket (the tests feed hostile ones here). */
  receive(packet: Packet, rinfo: Pick<RemoteInfo, 'address' | 'port'>): void {
    if (rinfo.port !== this.#port) return; // legacy unicast and anything else: not mDNS
    if (packet.type === 'query') this.#query(packet);
    else if (packet.type === 'response' && this.#onLink(rinfo.address)) this.#response(packet, rinfo.address);
  }

  #open(): void {
    const mdns = makeMdns({ port: this.#port });
    this.#mdns = mdns;
    mdns.on('error', (err: Error) => {
      this.#o.log.warn({ err: err.message }, 'sync discovery: cannot use multicast DNS; discovery is off until the next configuration change');
      void this.#close();
    });
    mdns.on('warning', (err: Error) => this.#o.log.debug({ err: err.message }, 'sync discovery: packet dropped'));
    mdns.on('query', (packet: Packet, rinfo: RemoteInfo) => this.receive(packet, rinfo));
    mdns.on('response', (packet: Packet, rinfo: RemoteInfo) => this.receive(packet, rinfo));
    mdns.on('ready', () => {
      this.#o.log.info({ advertised: this.#servers.map((s) => `${s.scheme}://${s.bind}:${s.port}`) }, 'sync discovery on');
      this.#announce();
      for (const delay of QUERY_DELAYS_MS) this.#after(delay, () => this.#browse());
      this.#every(QUERY_EVERY_MS, () => this.#browse());
      this.#every(SWEEP_EVERY_MS, () => this.#sweep());
    });
  }

  async #close(): Promise<void> {
    const mdns = this.#mdns;
    if (mdns === undefined) return;
    this.#mdns = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#servers.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        mdns.respond({ answers: advertRecords(this.#o.node, this.#servers, this.#addresses(), 0) }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    const had = this.#found.size > 0;
    this.#found.clear();
    if (had) this.#changed();
  }

  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.add(t);
  }

  /** A-record addresses: those the servers bind, or every address of the host for a wildcard bind. */
  #addresses(): string[] {
    const all = this.#servers.some((s) => WILDCARD.has(s.bind));
    const specific = this.#servers.map((s) => s.bind).filter((b) => ipv4(b) !== undefined);
    return [...new Set(all ? localNets().map((n) => n.address) : specific)];
  }

  #records(): Parameters<makeMdns.MulticastDNS['respond']>[0] {
    const answers = advertRecords(this.#o.node, this.#servers, this.#addresses());
    answers.push({ name: SERVICES_ENUM, type: 'PTR', ttl: 4500, data: SERVICE });
    return { answers };
  }

  /** Announcements (RFC 6762 §8.3): twice, a second apart. */
  #announce(): void {
    if (this.#servers.length === 0) return;
    this.#mdns?.respond(this.#records());
    this.#after(1_000, () => this.#mdns?.respond(this.#records()));
  }

  #browse(): void {
    this.#mdns?.query({ questions: [{ name: SERVICE, type: 'PTR' }] });
  }

  /** Answers a query for our service, after 20–120 ms (RFC 6762 §6) and not twice in a second. */
  #query(packet: Packet): void {
    if (this.#servers.length === 0 || this.#responding || !asksForUs(packet, this.#o.node)) return;
    this.#responding = true;
    const delay = Math.max(20 + Math.random() * 100, this.#respondAt + 1_000 - Date.now());
    this.#after(delay, () => {
      this.#responding = false;
      this.#respondAt = Date.now();
      this.#mdns?.respond(this.#records());
    });
  }

  #onLink(address: string): boolean {
    const a = ipv4(address);
    return a !== undefined && localNets().some((n) => ((a & n.mask) >>> 0) === n.net);
  }

  #response(packet: Packet, from: string): void {
    const { announced, gone } = readResponse(packet, 16);
    let changed = false;
    for (const instance of gone) changed = this.#found.delete(`${instance}@${from}`) || changed;
    const now = Date.now();
    for (const a of announced) {
      if (a.node === this.#o.node) continue;
      const key = `${a.instance}@${from}`;
      const known = this.#found.get(key);
      if (known === undefined && this.#found.size >= MAX_FOUND) {
        if (now - this.#warnedFullAt > 60_000) {
          this.#warnedFullAt = now;
          this.#o.log.warn({ max: MAX_FOUND, from }, 'sync discovery: too many services announced; new ones are ignored until some expire');
        }
        continue;
      }
      const url = `${a.scheme}://${from}:${a.port}${a.path}`;
      const ttl = Math.max(MIN_TTL_SECONDS, Math.min(a.ttl, MAX_TTL_SECONDS));
      this.#found.set(key, { instance: a.instance, node: a.node, url, address: from, scheme: a.scheme, lastSeen: now, expiresAt: now + ttl * 1000 });
      if (known?.url !== url || known.node !== a.node) {
        changed = true;
        this.#o.log.debug({ node: a.node, url }, 'sync peer announced');
      }
    }
    if (changed) this.#changed();
  }

  #sweep(): void {
    const now = Date.now();
    let changed = false;
    for (const [key, e] of this.#found) {
      if (e.expiresAt > now) continue;
      this.#found.delete(key);
      changed = true;
      this.#o.log.debug({ node: e.node, url: e.url }, 'sync peer no longer announced');
    }
    if (changed) this.#changed();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

export function createMdnsDiscovery(options: MdnsDiscoveryOptions): PeerDiscovery & { receive: MdnsDiscovery['receive'] } {
  return new MdnsDiscovery(options);
}
