/**
 * The Origin header and the reference's CORS rule (spec §1.10): only pages served from this
 * device (localhost, 127.0.0.1) may call the API from a browser. The reference also admits the
 * opaque `null` origin, which any page can give itself with a sandboxed frame; Tendril admits it
 * only where a server says so (`--allowed-origin=null`).
 */
import { fail } from '../errors.js';

export type Origin =
  | { readonly kind: 'null' }
  | { readonly kind: 'url'; readonly scheme: string; readonly host: string; readonly port: number | undefined };

const ORIGIN_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[0-9A-Fa-f:.]*\]|[^/:?#[\]]*)(?::(\d{1,5}))?(\/.*)?$/;

/**
 * Parses an Origin header. Returns undefined when there is none — and for `file://` with an empty
 * host, which the reference does not recognise as an origin at all. Throws 400 for a malformed
 * value, including one with a path after the host.
 */
export function parseOrigin(header: string | undefined): Origin | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === 'null') return { kind: 'null' };
  const m = ORIGIN_RE.exec(value);
  if (!m) fail('HTTP_MALFORMED_ORIGIN');
  const [, scheme, host, port, path] = m;
  if (path !== undefined && path !== '/') fail('HTTP_MALFORMED_ORIGIN');
  if (host === '') {
    if (scheme!.toLowerCase() === 'file' && path === undefined) return undefined;
    fail('HTTP_MALFORMED_ORIGIN');
  }
  const portNumber = port === undefined ? undefined : Number(port);
  if (portNumber !== undefined && portNumber > 65535) fail('HTTP_MALFORMED_ORIGIN');
  return { kind: 'url', scheme: scheme!.toLowerCase(), host: host!.toLowerCase(), port: portNumber };
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1']);
const LOCAL_SCHEMES = new Set(['http', 'https', 'file']);

/** True for a page served from this device (the reference's rule, without `null`). */
export function isLocalOrigin(origin: Origin): boolean {
  return origin.kind === 'url' && LOCAL_SCHEMES.has(origin.scheme) && LOCAL_HOSTS.has(origin.host);
}

/** The value echoed in Access-Control-Allow-Origin: no trailing slash, port only if non-zero. */
export function formatOrigin(origin: Origin): string {
  if (origin.kind === 'null') return 'null';
  return `${origin.scheme}://${origin.host}${origin.port ? `:${origin.port}` : ''}`;
}
