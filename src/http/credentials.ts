/**
 * Credentials carried by a request (spec §1.4): HTTP Basic as the reference parses it, and the
 * bearer tokens Tendril adds. The access step (src/http/access.ts) decides what they are worth.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { fail } from '../errors.js';

export type Credentials =
  | { readonly scheme: 'basic'; readonly user: string; readonly password: string }
  | { readonly scheme: 'token'; readonly token: string };

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const TOKEN_RE = /^[\x21-\x7e]{1,512}$/;

/**
 * Reads the request's credentials, or undefined if it carries none. The reference treats the
 * scheme name `Basic` case-sensitively and answers 400 (not 401) for a malformed header or an
 * unknown scheme; `Digest` is ignored. `Bearer T` and `X-Tendril-Token: T` carry tokens.
 */
export function readCredentials(headers: IncomingHttpHeaders): Credentials | undefined {
  const header = headers.authorization;
  if (header !== undefined) {
    const known = parsed.get(header);
    if (known) return known;
    const credentials = parseAuthorization(header);
    if (credentials) {
      // Clients send the same header on every request; decoding it once is enough.
      if (parsed.size >= MAX_PARSED) parsed.clear();
      parsed.set(header, credentials);
      return credentials;
    }
  }
  const tokenHeader = headers['x-tendril-token'];
  if (typeof tokenHeader === 'string') {
    const token = tokenHeader.trim();
    if (!TOKEN_RE.test(token)) fail('HTTP_MALFORMED_AUTHORIZATION');
    return { scheme: 'token', token };
  }
  return undefined;
}

const MAX_PARSED = 256;
const parsed = new Map<string, Credentials>();

/** The credentials of an Authorization header; undefined for a Digest header, which is ignored. */
function parseAuthorization(header: string): Credentials | undefined {
  const m = /^(\S+) +(.*)$/.exec(header.trim());
  if (!m) fail('HTTP_MALFORMED_AUTHORIZATION');
  const [, scheme, rest] = m;
  if (scheme === 'Basic') {
    const encoded = rest!.trim();
    if (!BASE64_RE.test(encoded) || encoded.length % 4 === 1) fail('HTTP_MALFORMED_AUTHORIZATION');
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) fail('HTTP_MALFORMED_AUTHORIZATION');
    return Object.freeze({ scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) });
  }
  if (scheme!.toLowerCase() === 'bearer') {
    const token = rest!.trim();
    if (!TOKEN_RE.test(token)) fail('HTTP_MALFORMED_AUTHORIZATION');
    return Object.freeze({ scheme: 'token', token });
  }
  if (scheme !== 'Digest') fail('HTTP_MALFORMED_AUTHORIZATION');
  return undefined;
}
