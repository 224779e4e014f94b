/**
 * The four security modes of a web server (after VAST's `web` plugin, with its gaps closed): what
 * each listens with and what it asks of clients. The table is the whole policy; nothing else
 * decides per mode.
 */

export const MODES = ['dev', 'server', 'upstream', 'mtls', 'mesh'] as const;
export type Mode = (typeof MODES)[number];

/**
 * What a web server may serve (`web server --serve=LIST`): `api`, the REST API with its docs;
 * `metrics`, Prometheus metrics at /metrics (behind the API's credentials; `--serve=metrics` alone
 * gives them a listener of their own); `sync`, Tendril sync between nodes (credentials: an API
 * token of this node); `direct`, Rhizome Direct, the reference's node-to-node HTTP sync, which its
 * clients use without credentials. /healthz is served by every server.
 */
export const SERVES = ['api', 'metrics', 'sync', 'direct'] as const;
export type Serve = (typeof SERVES)[number];

export interface ModePolicy {
  /** HTTPS with --certfile/--keyfile. */
  readonly tls: boolean;
  /** Clients must present a certificate signed by --clientca. */
  readonly clientCerts: boolean;
  /** Requests need credentials (Basic user or token). */
  readonly credentials: boolean;
  /** Only a loopback bind address is allowed; peers that are not on this host get 403. */
  readonly loopbackOnly: boolean;
  /** What it serves when --serve is not given. */
  readonly serveDefault: readonly Serve[];
  /** False: the REST API is never served in this mode, whatever --serve says. */
  readonly api: boolean;
}

// Browser pages of other origins are refused in every mode unless a server allows them
// (--allowed-origin, src/http/access.ts); every server checks the Host (src/web/hosts.ts).

export const MODE_POLICY: Readonly<Record<Mode, ModePolicy>> = {
  // Local development: plain HTTP, no credentials, loopback only, local pages only.
  dev: { tls: false, clientCerts: false, credentials: false, loopbackOnly: true, serveDefault: ['api', 'metrics'], api: true },
  // Facing a network: HTTPS only, credentials required, any bind address.
  server: { tls: true, clientCerts: false, credentials: true, loopbackOnly: false, serveDefault: ['api', 'metrics'], api: true },
  // Behind a TLS terminator on this host (nginx): plain HTTP on loopback, credentials required.
  // The node's embedded default, and the reference's own behaviour.
  upstream: { tls: false, clientCerts: false, credentials: true, loopbackOnly: true, serveDefault: ['api', 'metrics'], api: true },
  // Behind a load balancer elsewhere: HTTPS, client certificates from --clientca, credentials.
  mtls: { tls: true, clientCerts: true, credentials: true, loopbackOnly: false, serveDefault: ['api', 'metrics'], api: true },
  // Between nodes of a LAN mesh: plain HTTP on any address, for node-to-node sync alone. The REST
  // API (identities, PINs, passwords) never crosses a network in the clear, so this mode refuses
  // `--serve=api`; Tendril sync still needs a token, Rhizome Direct carries only signed bundles.
  mesh: { tls: false, clientCerts: false, credentials: true, loopbackOnly: false, serveDefault: ['sync', 'direct'], api: false },
};

export function isMode(text: string): text is Mode {
  return (MODES as readonly string[]).includes(text);
}

export function isServe(text: string): text is Serve {
  return (SERVES as readonly string[]).includes(text);
}
