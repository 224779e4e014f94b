/**
 * The access step, run for every API request in a fixed order (spec §1.10): peer address, then
 * Origin (CORS), then the OPTIONS preflight, then credentials. Which rules apply is an
 * AccessPolicy, so the embedded server, the control socket and later security modes differ only
 * in the policy they pass, and authentication is a pluggable Authenticator.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { fail } from '../errors.js';
import type { Credentials } from './credentials.js';
import { formatOrigin, isLocalOrigin, parseOrigin, type Origin } from './origin.js';
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
  /** Origins allowed beside the local ones (`scheme://host[:port]`, exact). */
  readonly allowedOrigins?: readonly string[];
  /** Refuse TLS clients without a certificate the server's CA verified (403). */
  readonly clientCerts?: boolean;
  /** Accept pages from the server's own origin (TLS servers only, see corsHeaders). */
  readonly sameOrigin?: boolean;
  readonly authenticator: Authenticator;
  /**
   * Where the peer facts come from when the socket's peer is not the client: a dedicated web
   * server in front reports the client's address and certificate (default: the socket's own).
   */
  readonly peer?: (req: IncomingMessage) => PeerFacts;
}

/** What a TLS client's certificate proved: signed by the client CA, by someone else, or absent. */
export type ClientCertStatus = 'verified' | 'untrusted' | 'missing';

export interface PeerFacts {
  readonly address: string | undefined;
  readonly clientCert: ClientCertStatus;
}

export const WWW_AUTHENTICATE = 'Basic realm="Serval RESTful API"';

/** IPv4 127.0.0.0/8, IPv6 ::1 and IPv4-mapped loopback; a Unix socket has no address and is local. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** 403 for a peer that is not on this host, or without a certificate the client CA verified. */
export function checkPeer(req: IncomingMessage, policy: AccessPolicy): void {
  if (!policy.localOnly && !policy.clientCerts) return;
  const peer = policy.peer?.(req);
  if (policy.localOnly && !isLoopback(peer ? peer.address : req.socket.remoteAddress)) fail('ACCESS_NOT_LOCAL');
  if (policy.clientCerts) {
    const status = peer ? peer.clientCert : clientCertStatus(req.socket);
    if (status !== 'verified') fail(status === 'untrusted' ? 'ACCESS_CLIENT_CERT_UNTRUSTED' : 'ACCESS_CLIENT_CERT_MISSING');
  }
}

/** What the TLS peer's certificate proved; a plain socket has none. */
export function clientCertStatus(socket: IncomingMessage['socket']): ClientCertStatus {
  const tls = socket as TLSSocket;
  if (tls.authorized === true) return 'verified';
  const presented = typeof tls.getPeerCertificate === 'function' && Object.keys(tls.getPeerCertificate()).length > 0;
  return presented ? 'untrusted' : 'missing';
}

/** The CORS response headers for this request; throws 403 for an origin the policy refuses. */
export function corsHeaders(req: IncomingMessage, policy: AccessPolicy): Record<string, string> | undefined {
  const origin = parseOrigin(req.headers.origin);
  if (origin === undefined) return undefined;
  // A page served by this very server (the docs page) is its own origin: nothing to share. Only
  // over TLS: on plain HTTP a page on any host name can be served from here by DNS rebinding,
  // which is exactly what the local-origin rule stops.
  if (policy.sameOrigin && origin.kind === 'url' && req.headers.host !== undefined && sameHost(origin, req.headers.host)) {
    return undefined;
  }
  if (policy.cors === 'local' && !isLocalOrigin(origin) && !policy.allowedOrigins?.includes(formatOrigin(origin))) {
    fail('ACCESS_ORIGIN_FORBIDDEN');
  }
  return {
    'Access-Control-Allow-Origin': policy.cors === 'any' ? '*' : formatOrigin(origin),
    'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    'Access-Control-Allow-Headers': policy.cors === 'any' ? 'Authorization, X-Tendril-Token, Content-Type' : 'Authorization',
  };
}

/** True when an origin names the host and port the request was sent to. */
function sameHost(origin: Extract<Origin, { kind: 'url' }>, host: string): boolean {
  return `${origin.host}${origin.port ? `:${origin.port}` : ''}` === host.toLowerCase() && origin.scheme !== 'file';
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
      const principal = principalFor(`basic:${match}`, true, true);
      if (proven.size < MAX_PROVEN) proven.set(key, principal);
      return principal;
    },
  };
}

const MAX_PROVEN = 64;

/** Tokens proven by `check`: read-only ones may not write. */
export function tokenAuthenticator(check: (token: string) => { id: string; readOnly: boolean } | undefined): Authenticator {
  return {
    authenticate(credentials) {
      if (credentials?.scheme !== 'token') return undefined;
      const token = check(credentials.token);
      return token && principalFor(`token:${token.id}`, !token.readOnly, false);
    },
  };
}

/** The first authenticator that accepts the credentials decides. */
export function anyOf(...authenticators: readonly Authenticator[]): Authenticator {
  return {
    authenticate(credentials) {
      for (const a of authenticators) {
        const principal = a.authenticate(credentials);
        if (principal) return principal;
      }
      return undefined;
    },
  };
}
const principals = new Map<string, Principal>();
/** Principals are immutable and few; sharing them saves an allocation per request. */
function principalFor(id: string, canWrite: boolean, canManage: boolean): Principal {
  const key = `${canWrite ? 'w' : 'r'}${canManage ? 'm' : '-'}${id}`;
  let p = principals.get(key);
  if (!p) {
    p = Object.freeze({ id, canWrite, canManage });
    principals.set(key, p);
  }
  return p;
}

/** Accepts every request, as `api.restful.authorization=noauth` and the control socket do. */
export function openAuthenticator(id: string): Authenticator {
  const principal: Principal = { id, canWrite: true, canManage: true };
  return { authenticate: () => principal };
}
