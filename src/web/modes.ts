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
}

// Browser pages of other origins are refused in every mode unless a server allows them
// (--allowed-origin, src/http/access.ts); every server checks the Host (src/web/hosts.ts).

export const MODE_POLICY: Readonly<Record<Mode, ModePolicy>> = {
  // Local development: plain HTTP, no credentials, loopback only, local pages only.
  dev: { tls: false, clientCerts: false, credentials: false, loopbackOnly: true },
  // Facing a network: HTTPS only, credentials required, any bind address.
  server: { tls: true, clientCerts: false, credentials: true, loopbackOnly: false },
  // Behind a TLS terminator on this host (nginx): plain HTTP on loopback, credentials required.
  // The node's embedded default, and the reference's own behaviour.
  upstream: { tls: false, clientCerts: false, credentials: true, loopbackOnly: true },
  // Behind a load balancer elsewhere: HTTPS, client certificates from --clientca, credentials.
  mtls: { tls: true, clientCerts: true, credentials: true, loopbackOnly: false },
};

export function isMode(text: string): text is Mode {
  return (MODES as readonly string[]).includes(text);
}
