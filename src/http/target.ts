/**
 * The request target: path and query decoded the way the reference decodes them, with its limits
 * (spec §1.3, §1.5).
 *
 * The reference copies the decoded path, every decoded query name and value and the Basic
 * credentials into an 8 KiB per-connection buffer, at a cost of 9 + length bytes each, and answers
 * 414 once they would exceed 7168 bytes; a request line that does not fit the buffer at all gets
 * 431. Tendril has no such buffer but keeps the same thresholds so clients see the same statuses.
 */
import { fail } from '../errors.js';

export const MAX_QUERY_PARAMETERS = 10;
const RESERVATION_OVERHEAD = 9;
const RESERVATION_LIMIT = 8192 - 1024;

export interface QueryParameter {
  readonly name: string;
  readonly value: string;
}

export interface RequestTarget {
  readonly path: string;
  readonly query: readonly QueryParameter[];
  /** Bytes this target reserves by the reference's accounting (path, names, values). */
  readonly reserved: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * application/x-www-form-urlencoded decoding: `+` is a space, `%XX` a byte, and an invalid escape
 * passes through literally (the reference does not reject it). Bytes are read as UTF-8, leniently.
 */
export function formDecode(text: string): string {
  if (!/[+%]/.test(text)) return text;
  const bytes = Buffer.from(text, 'latin1');
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x2b) {
      out[n++] = 0x20;
    } else if (b === 0x25 && i + 2 < bytes.length) {
      const hi = hexValue(bytes[i + 1]!);
      const lo = hexValue(bytes[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
      } else {
        out[n++] = b;
      }
    } else {
      out[n++] = b;
    }
  }
  return utf8.decode(out.subarray(0, n));
}

/** Bytes reserved by one copied string (its UTF-8 length plus the reference's overhead). */
export function reservationCost(text: string): number {
  return RESERVATION_OVERHEAD + Buffer.byteLength(text, 'utf8');
}

/**
 * Splits and decodes a raw request target (`/path?a=1&b`). Throws the catalogue's 400 for more than
 * ten parameters and 414 when the decoded strings exceed the reference's buffer.
 */
export function parseTarget(rawUrl: string, extraReserved = 0): RequestTarget {
  // The reference accepts only printable ASCII in the request target.
  if (!/^\/[\x21-\x7e]*$/.test(rawUrl)) fail('HTTP_BAD_REQUEST', { reason: 'Malformed request target' });
  const q = rawUrl.indexOf('?');
  const path = formDecode(q === -1 ? rawUrl : rawUrl.slice(0, q));
  let reserved = extraReserved + reservationCost(path);
  const query: QueryParameter[] = [];
  if (q !== -1) {
    const search = rawUrl.slice(q + 1);
    if (search.length > 0) {
      for (const pair of search.split('&')) {
        if (query.length === MAX_QUERY_PARAMETERS) fail('HTTP_TOO_MANY_PARAMETERS');
        const eq = pair.indexOf('=');
        const name = formDecode(eq === -1 ? pair : pair.slice(0, eq));
        const value = eq === -1 ? '' : formDecode(pair.slice(eq + 1));
        reserved += reservationCost(name) + reservationCost(value);
        query.push({ name, value });
      }
    }
  }
  if (reserved > RESERVATION_LIMIT) fail('HTTP_URI_TOO_LONG');
  return { path, query, reserved };
}

/** The first value of query parameter `name`, exact and case-sensitive (spec §1.3). */
export function queryValue(query: readonly QueryParameter[], name: string): string | undefined {
  for (const p of query) if (p.name === name) return p.value;
  return undefined;
}
