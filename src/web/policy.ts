/**
 * From a web server's mode to the access rules the pipeline applies (src/http/access.ts). The same
 * rules serve a server embedded in the node and a dedicated server in front of it: the dedicated
 * server forwards every request over the owner-only control socket, naming its mode and reporting
 * what only it can see (the client's address and TLS certificate); the node applies the mode's
 * rules to those facts in the pipeline's one order, so both answer alike.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { openAuthenticator, type AccessPolicy, type Authenticator, type ClientCertStatus, type PeerFacts } from '../http/access.js';
import { isMode, isServe, MODE_POLICY, type Mode, type Serve } from './modes.js';

/** Headers a dedicated server adds when it forwards a request to the node. */
export const FORWARDED = {
  mode: 'tendril-front-mode',
  for: 'tendril-forwarded-for',
  /** `verified`, `untrusted` or `missing`: the client's TLS certificate (mtls only). */
  cert: 'tendril-front-cert',
  origins: 'tendril-front-origins',
  /** The dedicated server's own URL, for the node's status. */
  url: 'tendril-front-url',
  /** What the dedicated server serves (`--serve`), comma-separated. */
  serve: 'tendril-front-serve',
} as const;

/** True for a header a client must never be able to set through a dedicated server. */
export function isForwardingHeader(name: string): boolean {
  return name.startsWith('tendril-front') || name === FORWARDED.for;
}

export interface Authenticators {
  /** Basic users and tokens, honouring `api.restful.authorization=noauth`. */
  readonly configured: Authenticator;
  /** Basic users and tokens, always: modes that face a network never run without credentials. */
  readonly strict: Authenticator;
}

const DEV = openAuthenticator('dev');

function forwardedPeer(req: IncomingMessage): PeerFacts {
  const address = req.headers[FORWARDED.for];
  const cert = req.headers[FORWARDED.cert];
  return {
    // No address reported: not a loopback peer, so a loopback-only mode refuses it.
    address: typeof address === 'string' ? address : '',
    clientCert: cert === 'verified' || cert === 'untrusted' ? (cert satisfies ClientCertStatus) : 'missing',
  };
}

function policyFor(mode: Mode, allowedOrigins: readonly string[], auth: Authenticators, forwarded: boolean): AccessPolicy {
  const p = MODE_POLICY[mode];
  return {
    localOnly: p.loopbackOnly,
    clientCerts: p.clientCerts,
    // A forwarded request's socket peer is the dedicated server: the client is what it reports.
    peer: forwarded ? forwardedPeer : undefined,
    cors: p.corsAny ? 'any' : 'local',
    allowedOrigins,
    sameOrigin: p.tls,
    authenticator: !p.credentials ? DEV : mode === 'upstream' ? auth.configured : auth.strict,
  };
}

/** The rules of a server embedded in the node. */
export function embeddedPolicy(mode: Mode, allowedOrigins: readonly string[], auth: Authenticators): AccessPolicy {
  return policyFor(mode, allowedOrigins, auth, false);
}

// Connections on which a dedicated server has forwarded a request.
const frontConnections = new WeakSet<Socket>();

/**
 * True for a request a dedicated server forwarded, false for one straight from the owner (the
 * CLI). A connection that has carried one forwarded request carries only forwarded requests: were
 * a client ever to slip a request of its own into a dedicated server's stream to the node (request
 * smuggling), it would still get that server's rules, never the owner's.
 */
export function isForwarded(req: IncomingMessage): boolean {
  if (typeof req.headers[FORWARDED.mode] === 'string') {
    frontConnections.add(req.socket);
    return true;
  }
  return frontConnections.has(req.socket);
}

/**
 * The rules of the control socket: owner-only, so a request straight from the CLI is trusted
 * (`control`), and one a dedicated server forwarded gets the rules of that server's mode.
 */
export function controlPolicy(control: AccessPolicy, auth: Authenticators): (req: IncomingMessage) => AccessPolicy {
  return (req) => {
    if (!isForwarded(req)) return control;
    const mode = req.headers[FORWARDED.mode];
    const origins = req.headers[FORWARDED.origins];
    const allowed = typeof origins === 'string' && origins !== '' ? origins.split(',') : [];
    // An unknown or missing mode is treated as the strictest network-facing one.
    return policyFor(typeof mode === 'string' && isMode(mode) ? mode : 'mtls', allowed, auth, true);
  };
}

/** The client address a dedicated server forwarded, for the log. */
export function forwardedFor(req: IncomingMessage): string | undefined {
  const value = req.headers[FORWARDED.for];
  return typeof value === 'string' ? value : undefined;
}

/**
 * What a forwarded request's dedicated server serves, as it reported; a server that reported
 * nothing serves the API only (the default of every mode that existed before --serve).
 */
export function forwardedServes(req: IncomingMessage): readonly Serve[] {
  const value = req.headers[FORWARDED.serve];
  if (typeof value !== 'string') return ['api'];
  return value.split(',').filter(isServe);
}
