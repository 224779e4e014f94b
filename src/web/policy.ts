/**
 * From a web server's mode to the access rules the pipeline applies (src/http/access.ts). The same
 * rules serve a server embedded in the node and a dedicated server in front of it: the dedicated
 * server forwards every request over the owner-only control socket, naming its mode and reporting
 * what only it can see (the client's address and TLS certificate); the node applies the mode's
 * rules to those facts in the pipeline's one order, so both answer alike.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { openAuthenticator, type AccessPolicy, type Authenticator, type AuthGuard, type ClientCertStatus, type PeerFacts } from '../http/access.js';
import { hostChecker, type HostRule } from '../http/host.js';
import { formatHostRule, hostRule, parseHostRule } from './hosts.js';
import { isMode, isServe, MODE_POLICY, type Mode, type Serve } from './modes.js';
import type { ServerSpec, TlsMaterial } from './spec.js';

/** Headers a dedicated server adds when it forwards a request to the node. */
export const FORWARDED = {
  mode: 'tendril-front-mode',
  for: 'tendril-forwarded-for',
  /** `verified`, `untrusted` or `missing`: the client's TLS certificate (mtls only). */
  cert: 'tendril-front-cert',
  origins: 'tendril-front-origins',
  /** The names the dedicated server answers to (`*`, or names joined by commas). */
  hosts: 'tendril-front-hosts',
  /** `1` when it serves the legacy GET forms of writes. */
  getWrites: 'tendril-front-get-writes',
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
  /** Failed authentications paid for (src/http/auth-guard.ts). */
  readonly guard?: AuthGuard;
}

/** What a web server adds to its mode's rules: the names it answers to, origins, legacy GETs. */
export interface ServerRules {
  readonly hosts: HostRule;
  readonly allowedOrigins: readonly string[];
  readonly getWrites: boolean;
}

/** The rules of a server spec (with its TLS material, for the certificate's names). */
export function serverRules(spec: ServerSpec, tls?: TlsMaterial): ServerRules {
  return { hosts: hostRule(spec, tls), allowedOrigins: spec.allowedOrigins, getWrites: spec.getWrites === true };
}

/** The headers a dedicated server adds to every request it forwards, but the per-request ones. */
export function frontHeaders(mode: Mode, rules: ServerRules): Record<string, string> {
  const headers: Record<string, string> = {
    [FORWARDED.mode]: mode,
    [FORWARDED.origins]: rules.allowedOrigins.join(','),
    [FORWARDED.hosts]: formatHostRule(rules.hosts),
  };
  if (rules.getWrites) headers[FORWARDED.getWrites] = '1';
  return headers;
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

function policyFor(mode: Mode, rules: ServerRules, auth: Authenticators, forwarded: boolean): AccessPolicy {
  const p = MODE_POLICY[mode];
  return {
    localOnly: p.loopbackOnly,
    clientCerts: p.clientCerts,
    // A forwarded request's socket peer is the dedicated server: the client is what it reports.
    peer: forwarded ? forwardedPeer : undefined,
    checkHost: hostChecker(rules.hosts),
    cors: rules.allowedOrigins.includes('*') ? 'any' : 'local',
    allowedOrigins: rules.allowedOrigins,
    // The Host is checked, so a page whose origin is the Host's is one this server serves.
    sameOrigin: true,
    getWrites: rules.getWrites,
    authenticator: !p.credentials ? DEV : mode === 'upstream' ? auth.configured : auth.strict,
    guard: p.credentials ? auth.guard : undefined,
  };
}

/** The rules of a server embedded in the node. */
export function embeddedPolicy(mode: Mode, rules: ServerRules, auth: Authenticators): AccessPolicy {
  return policyFor(mode, rules, auth, false);
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
  // Dedicated servers send the same rules on every request: each distinct set is built once.
  const policies = new Map<string, AccessPolicy>();
  return (req) => {
    if (!isForwarded(req)) return control;
    const h = req.headers;
    const text = (name: string): string => {
      const value = h[name];
      return typeof value === 'string' ? value : '';
    };
    const key = `${text(FORWARDED.mode)}|${text(FORWARDED.origins)}|${text(FORWARDED.hosts)}|${text(FORWARDED.getWrites)}`;
    let policy = policies.get(key);
    if (policy === undefined) {
      const mode = text(FORWARDED.mode);
      const origins = text(FORWARDED.origins);
      const rules: ServerRules = {
        allowedOrigins: origins === '' ? [] : origins.split(','),
        // No names reported: localhost and IP addresses only.
        hosts: parseHostRule(text(FORWARDED.hosts)),
        getWrites: text(FORWARDED.getWrites) === '1',
      };
      // An unknown or missing mode is treated as the strictest network-facing one.
      policy = policyFor(isMode(mode) ? mode : 'mtls', rules, auth, true);
      if (policies.size < 64) policies.set(key, policy);
    }
    return policy;
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
