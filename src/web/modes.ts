/**
 * The four security modes of a web server (after VAST's `web` plugin, with its gaps closed): what
 * each listens with and what it asks of clients. The table is the whole policy; nothing else
 * decides per mode.
 */

export const MODES = ['dev', 'server', 'upstream', 'mtls'] as const;
export type Mode = (typeof MODES)[number];

export interface ModePolicy {
  /** HTTPS with --certfile/--keyfile. */
  readonly tls: boolean;
  /** Clients must present a certificate signed by --clientca. */
  readonly clientCerts: boolean;
  /** Requests need credentials (Basic user or token). */
  readonly credentials: boolean;
  /** Only a loopback bind address is allowed; peers that are not on this host get 403. */
  readonly loopbackOnly: boolean;
  /** Browsers from any origin may call it (dev) or only local pages and --allowed-origin. */
  readonly corsAny: boolean;
}

export const MODE_POLICY: Readonly<Record<Mode, ModePolicy>> = {
  // Local development: plain HTTP, no credentials, any browser origin, loopback only.
  dev: { tls: false, clientCerts: false, credentials: false, loopbackOnly: true, corsAny: true },
  // Facing a network: HTTPS only, credentials required, any bind address.
  server: { tls: true, clientCerts: false, credentials: true, loopbackOnly: false, corsAny: false },
  // Behind a TLS terminator on this host (nginx): plain HTTP on loopback, credentials required.
  // The node's embedded default, and the reference's own behaviour.
  upstream: { tls: false, clientCerts: false, credentials: true, loopbackOnly: true, corsAny: false },
  // Behind a load balancer elsewhere: HTTPS, client certificates from --clientca, credentials.
  mtls: { tls: true, clientCerts: true, credentials: true, loopbackOnly: false, corsAny: false },
};

export function isMode(text: string): text is Mode {
  return (MODES as readonly string[]).includes(text);
}
