/**
 * The names a web server answers to (src/http/host.ts checks them): `localhost` and IP addresses
 * always; the `--host-name` values; with TLS also the names its certificate is valid for, since a
 * client that verifies the certificate can only have reached it by one of those. In mtls mode,
 * without --host-name, any name: the client certificate already proves the client is the load
 * balancer, which passes on whatever name its own clients used. Likewise in mesh mode: its
 * clients are other nodes of the LAN, which may name it as they like, and it never serves the
 * REST API a rebound page would be after.
 */
import { X509Certificate } from 'node:crypto';
import { ANY_HOST, type HostRule } from '../http/host.js';
import type { ServerSpec, TlsMaterial } from './spec.js';

/** A --host-name value: a DNS name, optionally `*.` in front, or `*` for any name. */
export const HOST_NAME_RE = /^(\*|(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?)$/;

/** The DNS names (SAN, else the CN) of the first certificate in a PEM chain. */
export function certificateNames(pem: Buffer): string[] {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return [];
  }
  const san = cert.subjectAltName;
  if (san) {
    return san
      .split(/,\s*/)
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4).toLowerCase());
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/** The Host rule of a server spec (with its TLS material, once read). */
export function hostRule(spec: ServerSpec, tls?: TlsMaterial): HostRule {
  const given = (spec.hostNames ?? []).map((n) => (n.endsWith('.') ? n.slice(0, -1) : n));
  if (given.includes('*') || ((spec.mode === 'mtls' || spec.mode === 'mesh') && given.length === 0)) return ANY_HOST;
  const fromCert = tls ? certificateNames(tls.cert) : [];
  return Object.freeze({ any: false, names: Object.freeze([...new Set([...given, ...fromCert])]) });
}

/** The rule as one header value (forwarded by a dedicated server): `*`, or names joined by commas. */
export function formatHostRule(rule: HostRule): string {
  return rule.any ? '*' : rule.names.join(',');
}

/** The inverse of formatHostRule; anything malformed names no extra host. */
export function parseHostRule(text: string | undefined): HostRule {
  if (text === '*') return ANY_HOST;
  const names = (text ?? '').split(',').filter((n) => HOST_NAME_RE.test(n) && n !== '*');
  return Object.freeze({ any: false, names: Object.freeze(names) });
}
