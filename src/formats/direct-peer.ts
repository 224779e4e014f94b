/**
 * A Rhizome Direct peer's address, as `rhizome direct push|pull|sync URL` and the config keys
 * `rhizome.direct.peer.N` take it (the reference's cf_opt_rhizome_peer_from_uri): `host[:port]`
 * or `http://host[:port]`, port 4110 when none is given; `https://` is Tendril's addition, for
 * Tendril peers behind a TLS web server.
 */

/** The reference's default HTTP port (HTTPD_PORT_DEFAULT). */
export const DEFAULT_DIRECT_PORT = 4110;

export interface PeerAddress {
  readonly protocol: 'http' | 'https';
  readonly host: string;
  readonly port: number;
}

/** The address in `text` (anything after the authority, a path, is ignored), or undefined. */
export function parsePeerUrl(text: string): PeerAddress | undefined {
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?(\[[0-9A-Fa-f:.]+\]|[^/:?#@\s[\]]+)(?::(\d{1,5}))?(?:[/?#].*)?$/.exec(text.trim());
  if (!m) return undefined;
  const protocol = (m[1] ?? 'http').toLowerCase();
  if (protocol !== 'http' && protocol !== 'https') return undefined;
  const port = m[3] === undefined ? DEFAULT_DIRECT_PORT : Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { protocol, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

export function formatPeer(address: PeerAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${address.protocol}://${host}:${address.port}`;
}
