/**
 * The access step, run for every API request in a fixed order: Host (403), peer address (403),
 * then the browser checks — Fetch Metadata and Origin (403) — then the OPTIONS preflight, then
 * credentials (401, or 429 while failures are being paid for). Which rules apply is an
 * AccessPolicy, so the embedded servers, the control socket and the dedicated servers' forwarded
 * requests differ only in the policy they pass, and authentication is a pluggable Authenticator.
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
  /**
   * Why these credentials were refused, for the log (`unknown user`, `wrong password for user
   * NAME`, `expired token ID`…); undefined when they are not of this authenticator's scheme.
   * Only called on the way to a 401, so it may be slow. Never returns a secret.
   */
  refusal?(credentials: Credentials): string | undefined;
}

/** Failed authentications paid for by the client and the user that failed (src/http/auth-guard.ts). */
export interface AuthGuard {
  /** Throws 429 while the client or the user these credentials name must wait. */
  before(credentials: Credentials, client: string): void;
  /** Counts a failure against them. */
  failed(credentials: Credentials, client: string, why: string): void;
}

export interface AccessPolicy {
  /** Refuse peers that are not on this host (403), as the reference does. */
  readonly localOnly: boolean;
  /** `local`: local pages and allowedOrigins; `any`: every origin (dev mode with --allowed-origin=*). */
  readonly cors: 'local' | 'any';
  /** Origins allowed beside the local ones (`scheme://host[:port]`, exact; `null` for opaque ones). */
  readonly allowedOrigins?: readonly string[];
  /** Refuse TLS clients without a certificate the server's CA verified (403). */
  readonly clientCerts?: boolean;
  /** Accept pages from the server's own origin, as the Host header names it (which checkHost vouches for). */
  readonly sameOrigin?: boolean;
  readonly authenticator: Authenticator;
  /**
   * Where the peer facts come from when the socket's peer is not the client: a dedicated web
   * server in front reports the client's address and certificate (default: the socket's own).
   */
  readonly peer?: (req: IncomingMessage) => PeerFacts;
  /** Throws 403 for a Host header naming another host (src/http/host.ts); absent: no check. */
  readonly checkHost?: (host: string | undefined) => void;
  /** Serve the legacy GET forms of writes, as the reference does (off by default). */
  readonly getWrites?: boolean;
  /** Limits failed authentications; absent: none (the control socket, open modes). */
  readonly guard?: AuthGuard;
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
  const address = peer ? peer.address : req.socket.remoteAddress;
  if (policy.localOnly && !isLoopback(address)) fail('ACCESS_NOT_LOCAL', { why: `peer ${address ?? '?'} is not on this host` });
  if (policy.clientCerts) {
    const status = peer ? peer.clientCert : clientCertStatus(req.socket);
    if (status !== 'verified') fail(status === 'untrusted' ? 'ACCESS_CLIENT_CERT_UNTRUSTED' : 'ACCESS_CLIENT_CERT_MISSING', { why: `client certificate ${status}` });
  }
}

/** What the TLS peer's certificate proved; a plain socket has none. */
export function clientCertStatus(socket: IncomingMessage['socket']): ClientCertStatus {
  const tls = socket as TLSSocket;
  if (tls.authorized === true) return 'verified';
  const presented = typeof tls.getPeerCertificate === 'function' && Object.keys(tls.getPeerCertificate()).length > 0;
  return presented ? 'untrusted' : 'missing';
}

/**
 * The browser checks, and the CORS response headers for this request; throws 403 for a request
 * another site's page made without an origin this policy allows.
 *
 * Browsers since 2020-2023 say where a request comes from in `Sec-Fetch-Site`, including on the
 * requests that carry no Origin (an `<img>`, a link, a form GET): anything but `same-origin` or
 * `none` (typed by the user) must then be vouched for by an allowed Origin. Without Fetch
 * Metadata (older browsers, every non-browser client) the Origin alone decides, where sent.
 * `publicPage`: a GET of the docs, which another site may link to (a navigation cannot read it).
 */
export function corsHeaders(req: IncomingMessage, policy: AccessPolicy, publicPage = false): Record<string, string> | undefined {
  const headers = req.headers;
  const site = headers['sec-fetch-site'];
  const origin = parseOrigin(headers.origin);
  if (origin === undefined) {
    if (site === undefined || site === 'same-origin' || site === 'none') return undefined;
    if (publicPage && headers['sec-fetch-mode'] === 'navigate' && req.method === 'GET') return undefined;
    fail('ACCESS_CROSS_SITE', { why: `Sec-Fetch-Site: ${String(site).slice(0, 20)} without an Origin` });
  }
  // A page served by this very server (the docs page) is its own origin: nothing to share. The
  // Host it names is one of this server's (checkHost), so a rebound name cannot pass as it.
  if (site === 'same-origin') return undefined;
  if (policy.sameOrigin && origin.kind === 'url' && headers.host !== undefined && sameHost(origin, headers.host)) return undefined;
  const allowed =
    policy.cors === 'any' ||
    (origin.kind === 'null' ? policy.allowedOrigins?.includes('null') === true : isLocalOrigin(origin) || policy.allowedOrigins?.includes(formatOrigin(origin)) === true);
  if (!allowed) fail('ACCESS_ORIGIN_FORBIDDEN', { why: `origin ${formatOrigin(origin).slice(0, 100)} is not allowed` });
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

/**
 * The credentials' principal, or 401 (with why in the log). With a guard, a client or user that
 * failed too often gets 429 first, before its credentials are even looked at: an answer that
 * said whether they were right would let guessing go on at full speed.
 */
export function authenticate(credentials: Credentials | undefined, policy: AccessPolicy, client: string): Principal {
  const guard = credentials && policy.guard;
  if (guard) guard.before(credentials, client);
  const principal = policy.authenticator.authenticate(credentials);
  if (principal) return principal;
  const why = credentials ? (policy.authenticator.refusal?.(credentials) ?? 'credentials refused') : 'credentials missing';
  if (guard) guard.failed(credentials, client, why);
  fail('ACCESS_UNAUTHORIZED', { headers: { 'WWW-Authenticate': WWW_AUTHENTICATE }, why });
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
    refusal(credentials) {
      if (credentials.scheme !== 'basic') return undefined;
      // A name that is no user is not logged: it may be a password typed in the wrong field.
      return Object.hasOwn(users(), credentials.user) ? `wrong password for user ${credentials.user}` : 'unknown user';
    },
  };
}

const MAX_PROVEN = 64;

/** Tokens proven by `check`: read-only ones may not write. `explain` says why one was refused. */
export function tokenAuthenticator(
  check: (token: string) => { id: string; readOnly: boolean } | undefined,
  explain?: (token: string) => string,
): Authenticator {
  return {
    authenticate(credentials) {
      if (credentials?.scheme !== 'token') return undefined;
      const token = check(credentials.token);
      return token && principalFor(`token:${token.id}`, !token.readOnly, false);
    },
    refusal(credentials) {
      if (credentials.scheme !== 'token') return undefined;
      return explain?.(credentials.token) ?? 'unknown token';
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
    refusal(credentials) {
      for (const a of authenticators) {
        const why = a.refusal?.(credentials);
        if (why !== undefined) return why;
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
