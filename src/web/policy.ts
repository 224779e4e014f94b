/**
 * From a web server's mode to the access rules the pipeline applies (src/http/access.ts). The same
 * rules serve a server embedded in the node and a dedicated server in front of it: the dedicated
 * server relays its clients' connections over its link to the node (src/web/link-node.ts),
 * reporting what only it can see — the client's address and TLS certificate — and its names,
 * origins and legacy GETs when it attaches; the node applies the mode's rules to those facts in
 * the pipeline's one order, so both answer alike.
 */
import type { IncomingMessage } from 'node:http';
import { openAuthenticator, type AccessPolicy, type Authenticator, type AuthGuard, type PeerFacts } from '../http/access.js';
import { hostChecker, type HostRule } from '../http/host.js';
import { formatHostRule, hostRule, parseHostRule } from './hosts.js';
import type { FrontHello } from './link-frames.js';
import { LinkSocket } from './link-socket.js';
import { isMode, MODE_POLICY, type Mode } from './modes.js';
import type { ServerSpec, TlsMaterial } from './spec.js';

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

/** What a dedicated server says of its rules when it attaches (its names as a host rule's text). */
export function helloRules(rules: ServerRules): Pick<FrontHello, 'hosts' | 'origins' | 'getWrites'> {
  return { hosts: formatHostRule(rules.hosts), origins: rules.allowedOrigins, getWrites: rules.getWrites };
}

const DEV = openAuthenticator('dev');

/** A relayed client's facts, as its dedicated web server reported them. */
function relayedPeer(req: IncomingMessage): PeerFacts {
  const socket = req.socket;
  // Anything else on a relayed server is not a client it reported: not a loopback peer either.
  return socket instanceof LinkSocket ? { address: socket.remoteAddress, clientCert: socket.clientCert } : { address: '', clientCert: 'missing' };
}

function policyFor(mode: Mode, rules: ServerRules, auth: Authenticators, relayed: boolean): AccessPolicy {
  const p = MODE_POLICY[mode];
  return {
    localOnly: p.loopbackOnly,
    clientCerts: p.clientCerts,
    // A relayed connection's peer is the client the dedicated server reported.
    peer: relayed ? relayedPeer : undefined,
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

/**
 * The rules of a dedicated web server, from what it said when it attached: an unknown mode is
 * treated as the strictest network-facing one, and a server that named no host names answers to
 * localhost and IP addresses only.
 */
export function frontPolicy(hello: FrontHello, auth: Authenticators): AccessPolicy {
  const rules: ServerRules = { hosts: parseHostRule(hello.hosts ?? ''), allowedOrigins: hello.origins, getWrites: hello.getWrites === true };
  return policyFor(isMode(hello.mode) ? hello.mode : 'mtls', rules, auth, true);
}
