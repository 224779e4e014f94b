/**
 * From a web server's mode to the access rules the pipeline applies (src/http/access.ts). The same
 * rules serve a server embedded in the node and a dedicated server in front of it: the dedicated
 * server checks what only it can see (the peer address, the client certificate) and forwards the
 * request over the owner-only control socket, naming its mode; the node applies the rest.
 */
import type { IncomingMessage } from 'node:http';
import { openAuthenticator, type AccessPolicy, type Authenticator } from '../http/access.js';
import { isMode, MODE_POLICY, type Mode } from './modes.js';

/** Headers a dedicated server adds when it forwards a request to the node. */
export const FORWARDED = {
  mode: 'tendril-front-mode',
  for: 'tendril-forwarded-for',
  origins: 'tendril-front-origins',
  /** The dedicated server's own URL, for the node's status. */
  url: 'tendril-front-url',
} as const;

export interface Authenticators {
  /** Basic users and tokens, honouring `api.restful.authorization=noauth`. */
  readonly configured: Authenticator;
  /** Basic users and tokens, always: modes that face a network never run without credentials. */
  readonly strict: Authenticator;
}

const DEV = openAuthenticator('dev');

function policyFor(mode: Mode, allowedOrigins: readonly string[], auth: Authenticators, forwarded: boolean): AccessPolicy {
  const p = MODE_POLICY[mode];
  return {
    // A forwarded request's peer is the local proxy: the proxy checked the real peer already.
    localOnly: p.loopbackOnly && !forwarded,
    clientCerts: p.clientCerts && !forwarded,
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
 * The rules of the control socket: owner-only, so a request straight from the CLI is trusted
 * (`control`), and one a dedicated server forwarded gets the rules of that server's mode.
 */
export function controlPolicy(control: AccessPolicy, auth: Authenticators): (req: IncomingMessage) => AccessPolicy {
  return (req) => {
    const mode = req.headers[FORWARDED.mode];
    if (typeof mode !== 'string') return control;
    const origins = req.headers[FORWARDED.origins];
    const allowed = typeof origins === 'string' && origins !== '' ? origins.split(',') : [];
    // An unknown mode is treated as the strictest network-facing one.
    return policyFor(isMode(mode) ? mode : 'server', allowed, auth, true);
  };
}

/** The client address a dedicated server forwarded, for the log. */
export function forwardedFor(req: IncomingMessage): string | undefined {
  const value = req.headers[FORWARDED.for];
  return typeof value === 'string' ? value : undefined;
}
