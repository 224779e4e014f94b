/**
 * The HELLO frame (docs/sync.md §4.1): the first frame each way, a JSON object. Both nodes send
 * theirs at once, without waiting for the other's. Unknown members are ignored, so later minor
 * versions can add some; the major version must match.
 */
import { FrameError } from './wire/frames.js';
import { MAX_FRAME } from './wire/frames.js';

export const PROTOCOL = 'tendril-sync';
export const PROTOCOL_MAJOR = 1;
export const PROTOCOL_MINOR = 0;

/** A route another node advertises: a SID it reaches, in so many hops from itself. */
export type RouteAdvert = readonly [sid: string, hops: number];

export interface Hello {
  readonly protocol: string;
  readonly version: readonly [number, number];
  /** The node's id: 16 bytes, hex (its store's UUID). */
  readonly node: string;
  readonly software?: string;
  /** Whether the sender takes bundles (OFFERs) from the receiver on this link. */
  readonly accepts: boolean;
  /** The SIDs of its unlocked identities, primary first. */
  readonly identities: readonly string[];
  /** SIDs it reaches through other links, with its own hop count to each. */
  readonly routes: readonly RouteAdvert[];
  /** The largest frame it accepts. */
  readonly maxFrame: number;
}

const SID_RE = /^[0-9A-F]{64}$/;
const NODE_RE = /^[0-9a-f]{32}$/;
/** At most this many identities and routes are taken from one peer. */
export const MAX_ADVERTS = 4096;

function sids(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ADVERTS) throw new FrameError(`${what}: not a list of at most ${MAX_ADVERTS}`);
  return value.map((v) => {
    if (typeof v !== 'string' || !SID_RE.test(v.toUpperCase())) throw new FrameError(`${what}: not a SID`);
    return v.toUpperCase();
  });
}

export function parseRoutes(value: unknown): RouteAdvert[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ADVERTS) throw new FrameError(`routes: not a list of at most ${MAX_ADVERTS}`);
  return value.map((r) => {
    if (!Array.isArray(r) || r.length < 2) throw new FrameError('routes: entry is not [sid, hops]');
    const [sid, hops] = r as unknown[];
    if (typeof sid !== 'string' || !SID_RE.test(sid.toUpperCase())) throw new FrameError('routes: not a SID');
    if (typeof hops !== 'number' || !Number.isInteger(hops) || hops < 1 || hops > 64) throw new FrameError('routes: hop count out of range');
    return [sid.toUpperCase(), hops] as const;
  });
}

export function parseIdentities(value: unknown): string[] {
  return sids(value, 'identities');
}

export function parseHello(json: Record<string, unknown>): Hello {
  if (json.protocol !== PROTOCOL) throw new FrameError('not a tendril-sync HELLO');
  const version = json.version;
  if (!Array.isArray(version) || version.length < 2 || !version.slice(0, 2).every((n) => Number.isInteger(n) && (n as number) >= 0)) {
    throw new FrameError('HELLO version is not [major, minor]');
  }
  if (typeof json.node !== 'string' || !NODE_RE.test(json.node)) throw new FrameError('HELLO node is not 16 bytes of hex');
  const maxFrame = json.max_frame === undefined ? MAX_FRAME : json.max_frame;
  if (typeof maxFrame !== 'number' || !Number.isInteger(maxFrame) || maxFrame < 65_536) throw new FrameError('HELLO max_frame below 65536');
  return {
    protocol: PROTOCOL,
    version: [version[0] as number, version[1] as number],
    node: json.node,
    software: typeof json.software === 'string' ? json.software.slice(0, 100) : undefined,
    accepts: json.accepts === true,
    identities: parseIdentities(json.identities),
    routes: parseRoutes(json.routes),
    maxFrame,
  };
}

/** Our HELLO as JSON. */
export function helloJson(hello: Omit<Hello, 'protocol' | 'version' | 'maxFrame'>): Record<string, unknown> {
  return {
    protocol: PROTOCOL,
    version: [PROTOCOL_MAJOR, PROTOCOL_MINOR],
    node: hello.node,
    software: hello.software,
    accepts: hello.accepts,
    identities: hello.identities,
    routes: hello.routes,
    max_frame: MAX_FRAME,
  };
}
