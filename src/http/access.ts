/**
 * The access step, run for every API request in a fixed order (spec §1.10): peer address, then
 * Origin (CORS), then the OPTIONS preflight, then credentials. Which rules apply is an
 * AccessPolicy, so the embedded server, the control socket and later security modes differ only
 * in the policy they pass, and authentication is a pluggable Authenticator.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { fail } from '../errors.js';
import type { Credentials } from './credentials.js';
import { formatOrigin, isLocalOrigin, parseOrigin } from './origin.js';
import type { Principal } from './types.js';

export interface Authenticator {
  /** The principal these credentials prove, or undefined to refuse the request with 401. */
  authenticate(credentials: Credentials | undefined): Principal | undefined;
}

export interface AccessPolicy {
  /** Refuse peers that are not on this host (403), as the reference does. */
  readonly localOnly: boolean;
  /** `local`: the reference's localhost-only CORS rule; `any`: every origin (dev mode). */
  readonly cors: 'local' | 'any';
  readonly authenticator: Authenticator;
}

export const WWW_AUTHENTICATE = 'Basic realm="Serval RESTful API"';

/** IPv4 127.0.0.0/8, IPv6 ::1 and IPv4-mapped loopback; a Unix socket has no address and is local. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

export function checkPeer(req: IncomingMessage, policy: AccessPolicy): void {
  if (policy.localOnly && !isLoopback(req.socket.remoteAddress)) fail('ACCESS_NOT_LOCAL');
}

/** The CORS response headers for this request; throws 403 for an origin the policy refuses. */
export function corsHeaders(req: IncomingMessage, policy: AccessPolicy): Record<string, string> | undefined {
  const origin = parseOrigin(req.headers.origin);
  if (origin === undefined) return undefined;
  if (policy.cors === 'local' && !isLocalOrigin(origin)) fail('ACCESS_ORIGIN_FORBIDDEN');
  return {
    'Access-Control-Allow-Origin': policy.cors === 'any' ? '*' : formatOrigin(origin),
    'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    'Access-Control-Allow-Headers': policy.cors === 'any' ? 'Authorization, X-Tendril-Token, Content-Type' : 'Authorization',
  };
}

export function authenticate(credentials: Credentials | undefined, policy: AccessPolicy): Principal {
  const principal = policy.authenticator.authenticate(credentials);
  if (!principal) fail('ACCESS_UNAUTHORIZED', { headers: { 'WWW-Authenticate': WWW_AUTHENTICATE } });
  return principal;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * HTTP Basic against the configured users (api.restful.users.NAME.password). `users` is read on
 * every request so a reloaded config takes effect without a restart; the digests of the
 * configured credentials are recomputed only when it changes. One digest of the presented
 * credentials is compared with every user's in constant time, so the time taken tells nothing
 * about which names exist or how much of a password was right.
 */
export function basicAuthenticator(users: () => Readonly<Record<string, string>>): Authenticator {
  let source: Readonly<Record<string, string>> | undefined;
  let digests: Array<readonly [string, Buffer]> = [];
  // Credentials already proven, so a client sending the same header on every request costs a
  // map lookup rather than a hash; emptied whenever the users change.
  const proven = new Map<string, Principal>();
  return {
    authenticate(credentials) {
      if (credentials?.scheme !== 'basic') return undefined;
      const current = users();
      if (current !== source) {
        source = current;
        proven.clear();
        digests = Object.entries(current).map(([name, password]) => [name, digest(`${name}\0${password}`)] as const);
      }
      const key = `${credentials.user}\0${credentials.password}`;
      const known = proven.get(key);
      if (known) return known;
      const presented = digest(key);
      let match: string | undefined;
      for (const [name, expected] of digests) if (timingSafeEqual(presented, expected)) match = name;
      if (match === undefined) return undefined;
      const principal = principalFor(`basic:${match}`);
      if (proven.size < MAX_PROVEN) proven.set(key, principal);
      return principal;
    },
  };
}

const MAX_PROVEN = 64;
const principals = new Map<string, Principal>();
/** Principals are immutable and few; sharing them saves an allocation per request. */
function principalFor(id: string): Principal {
  let p = principals.get(id);
  if (!p) {
    p = Object.freeze({ id, canWrite: true });
    principals.set(id, p);
  }
  return p;
}

/** Accepts every request, as `api.restful.authorization=noauth` and the control socket do. */
export function openAuthenticator(id: string): Authenticator {
  const principal: Principal = { id, canWrite: true };
  return { authenticate: () => principal };
}
