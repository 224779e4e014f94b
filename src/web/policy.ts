/**
 * From a web server's mode to the access rules the pipeline applies (src/http/access.ts). The same
 * rules serve a server embedded in the node and a dedicated server in front of it: the dedicated
 * server relays its clients' connections over its link to the node (src/web/link-node.ts),
 * reporting what only it can see — the client's address and TLS certificate — and the node applies
 * the mode's rules to those facts in the pipeline's one order, so both answer alike.
 */
import type { IncomingMessage } from 'node:http';
import { openAuthenticator, type AccessPolicy, type Authenticator, type PeerFacts } from '../http/access.js';
import { LinkSocket } from './link-socket.js';
import { isMode, MODE_POLICY, type Mode } from './modes.js';

export interface Authenticators {
  /** Basic users and tokens, honouring `api.restful.authorization=noauth`. */
  readonly configured: Authenticator;
  /** Basic users and tokens, always: modes that face a network never run without credentials. */
  readonly strict: Authenticator;
}

const DEV = openAuthenticator('dev');

/** A relayed client's facts, as its dedicated web server reported them. */
function relayedPeer(req: IncomingMessage): PeerFacts {
  const socket = req.socket;
  // Anything else on a relayed server is not a client it reported: not a loopback peer either.
  return socket instanceof LinkSocket ? { address: socket.remoteAddress, clientCert: socket.clientCert } : { address: '', clientCert: 'missing' };
}

function policyFor(mode: Mode, allowedOrigins: readonly string[], auth: Authenticators, relayed: boolean): AccessPolicy {
  const p = MODE_POLICY[mode];
  return {
    localOnly: p.loopbackOnly,
    clientCerts: p.clientCerts,
    // A relayed connection's peer is the client the dedicated server reported.
    peer: relayed ? relayedPeer : undefined,
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

/**
 * The rules of a dedicated web server, from what it said when it attached; an unknown mode is
 * treated as the strictest network-facing one.
 */
export function frontPolicy(mode: string, allowedOrigins: readonly string[], auth: Authenticators): AccessPolicy {
  return policyFor(isMode(mode) ? mode : 'mtls', allowedOrigins, auth, true);
}
