/**
 * The DNS-SD records of Tendril sync (RFC 6763 over multicast DNS, RFC 6762), and the reading of
 * other nodes' records. Service type `_tendril-sync._tcp`; one instance per web server that serves
 * `sync`, named after the node id and port so that two nodes never share a name and no probing is
 * needed; TXT: `txtvers=1`, `node=ID` (the node id of the HELLO), `v=1` (the protocol's major
 * version), `scheme=http|https`, `path=/base` when the server is under a path.
 *
 * Reading is strict and bounded: an answer that does not make a whole, valid service (PTR, SRV and
 * TXT together) is dropped, and no host name or address record is ever read — the caller dials the
 * address the packet came from (docs/sync.md §11.2).
 */
import type { Answer, Packet, TxtData } from 'dns-packet';

export const SERVICE = '_tendril-sync._tcp.local';
/** DNS-SD service enumeration (RFC 6763 §9): browsers that list every type ask for this. */
export const SERVICES_ENUM = '_services._dns-sd._udp.local';
/** Record lifetime: how long a node that vanished without a goodbye stays listed. */
export const TTL_SECONDS = 120;
const NODE_RE = /^[0-9a-f]{32}$/;
const PATH_RE = /^\/[A-Za-z0-9._~\-/]{0,100}$/;

/** One web server this node advertises. */
export interface Advert {
  readonly scheme: 'http' | 'https';
  readonly port: number;
  readonly path?: string;
}

/** A service another node advertised, as read from one packet. */
export interface Announcement {
  readonly instance: string;
  readonly node: string;
  readonly scheme: 'http' | 'https';
  readonly port: number;
  readonly path: string;
  readonly ttl: number;
}

const instanceName = (node: string, a: Advert): string => `tendril-${node}-${a.port}.${SERVICE}`;
const hostName = (node: string): string => `tendril-${node}.local`;

/**
 * Our records: PTR, SRV, TXT per server, and A records of `addresses` for the host name the SRVs
 * name (for other DNS-SD browsers: Tendril dials the sender's address); `ttl` 0 says goodbye.
 */
export function advertRecords(node: string, adverts: readonly Advert[], addresses: readonly string[], ttl = TTL_SECONDS): Answer[] {
  const records: Answer[] = [];
  for (const a of adverts) {
    const instance = instanceName(node, a);
    const txt = [`txtvers=1`, `node=${node}`, `v=1`, `scheme=${a.scheme}`, ...(a.path ? [`path=${a.path}`] : [])];
    records.push(
      { name: SERVICE, type: 'PTR', ttl, data: instance },
      { name: instance, type: 'SRV', ttl, flush: true, data: { target: hostName(node), port: a.port, priority: 0, weight: 0 } },
      { name: instance, type: 'TXT', ttl, flush: true, data: txt },
    );
  }
  for (const address of addresses) records.push({ name: hostName(node), type: 'A', ttl, flush: true, data: address });
  return records;
}

/** Whether a query asks for anything we answer: our service type, the type list, our names. */
export function asksForUs(query: Packet, node: string): boolean {
  const ours = (name: string): boolean => {
    const n = name.toLowerCase();
    return n === SERVICE || n === SERVICES_ENUM || (n.startsWith(`tendril-${node}`) && n.endsWith('.local'));
  };
  return (query.questions ?? []).some((q) => ours(q.name));
}

function txtPairs(data: TxtData): Map<string, string> {
  const strings = Array.isArray(data) ? data : [data];
  const pairs = new Map<string, string>();
  for (const s of strings.slice(0, 16)) {
    const text = Buffer.isBuffer(s) ? s.toString('utf8') : s;
    const eq = text.indexOf('=');
    // RFC 6763 §6.4: keys are case-insensitive, and only the first of a repeated key counts.
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase();
    if (!pairs.has(key)) pairs.set(key, eq < 0 ? '' : text.slice(eq + 1));
  }
  return pairs;
}

/**
 * What a response packet says of Tendril sync services: those it announces (at most `max`), and
 * the instance names it says goodbye to (a PTR with TTL 0, RFC 6762 §10.1).
 */
export function readResponse(packet: Packet, max: number): { announced: Announcement[]; gone: string[] } {
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
  const byName = (type: string, name: string): Answer | undefined =>
    records.find((r) => r.type === type && r.name.toLowerCase() === name.toLowerCase());
  const announced: Announcement[] = [];
  const gone: string[] = [];
  for (const ptr of records) {
    if (announced.length + gone.length >= max) break;
    if (ptr.type !== 'PTR' || ptr.name.toLowerCase() !== SERVICE || typeof ptr.data !== 'string') continue;
    if ((ptr.ttl ?? 0) === 0) {
      gone.push(ptr.data.toLowerCase());
      continue;
    }
    const srv = byName('SRV', ptr.data);
    const txt = byName('TXT', ptr.data);
    if (srv?.type !== 'SRV' || txt?.type !== 'TXT') continue;
    const pairs = txtPairs(txt.data);
    const node = pairs.get('node') ?? '';
    const scheme = pairs.get('scheme') ?? 'http';
    const path = pairs.get('path') ?? '';
    const port = srv.data.port;
    if (!NODE_RE.test(node) || pairs.get('v') !== '1' || (scheme !== 'http' && scheme !== 'https')) continue;
    if (path !== '' && !PATH_RE.test(path)) continue;
    if (!Number.isInteger(port) || port < 1 || port > 65_535) continue;
    announced.push({ instance: ptr.data.toLowerCase(), node, scheme, port, path, ttl: Math.min(ptr.ttl ?? 0, srv.ttl ?? 0) });
  }
  return { announced, gone };
}
