/**
 * Content-Type values as the reference daemon parses them (spec §1.6) and compares them (§1.8).
 *
 * The grammar is the reference's, not RFC 9110's: clients of the Serval API were written against
 * it. Whitespace is allowed around ";" but not around "="; only `charset`, `boundary` and `format`
 * are kept, matched case-sensitively (so `Charset=utf-8` is an unknown parameter, skipped); values
 * longer than the reference's fixed buffers are malformed, not truncated. Multipart part headers
 * use the same token, quoted-string and parameter rules (§1.7), so those are exported for
 * src/http/multipart.ts.
 */
import { fail } from '../errors.js';

export interface ContentType {
  readonly type: string;
  readonly subtype: string;
  readonly charset?: string;
  readonly boundary?: string;
  readonly format?: string;
}

// The reference keeps these in char arrays of 64, 71 and 31 bytes (http_server.h); anything that
// does not fit with its NUL is rejected as malformed.
const MAX_TYPE = 63;
const MAX_BOUNDARY = 70;
const MAX_CHARSET = 30;
const MAX_FORMAT = 30;

/** The form-part content types of §1.8, exactly as the reference defines them (httpd.c). */
export const CONTENT_TYPE_SID_HEX: ContentType = Object.freeze({ type: 'serval', subtype: 'sid', format: 'hex' });
export const CONTENT_TYPE_RHIZOME_BID_HEX: ContentType = Object.freeze({ type: 'rhizome', subtype: 'bid', format: 'hex' });
export const CONTENT_TYPE_RHIZOME_BUNDLE_SECRET_HEX: ContentType = Object.freeze({ type: 'rhizome', subtype: 'bundlesecret', format: 'hex' });
export const CONTENT_TYPE_RHIZOME_MANIFEST: ContentType = Object.freeze({ type: 'rhizome', subtype: 'manifest', format: 'text+binarysig' });
export const CONTENT_TYPE_TEXT_UTF8: ContentType = Object.freeze({ type: 'text', subtype: 'plain', charset: 'utf-8' });

/** Parses a Content-Type value; throws HTTP_MALFORMED_CONTENT_TYPE (400) if it does not parse. */
export function parseContentType(value: string): ContentType {
  return tryParseContentType(value) ?? fail('HTTP_MALFORMED_CONTENT_TYPE');
}

/** Parses a Content-Type value, or returns undefined if it is malformed. */
export function tryParseContentType(value: string): ContentType | undefined {
  const typeStart = skipSpace(value, 0);
  const typeEnd = scanToken(value, typeStart);
  if (typeEnd === typeStart || typeEnd - typeStart > MAX_TYPE || value[typeEnd] !== '/') return undefined;
  const subtypeEnd = scanToken(value, typeEnd + 1);
  if (subtypeEnd === typeEnd + 1 || subtypeEnd - typeEnd - 1 > MAX_TYPE) return undefined;
  const params = parseParams(value, subtypeEnd);
  if (params === undefined) return undefined;

  const ct: { -readonly [K in keyof ContentType]: ContentType[K] } = {
    type: value.slice(typeStart, typeEnd),
    subtype: value.slice(typeEnd + 1, subtypeEnd),
  };
  // A repeated parameter overwrites the earlier one, as in the reference.
  for (const { name, value: v } of params) {
    if (name === 'charset') {
      if (v.length > MAX_CHARSET) return undefined;
      ct.charset = v;
    } else if (name === 'boundary') {
      if (v.length > MAX_BOUNDARY) return undefined;
      ct.boundary = v;
    } else if (name === 'format') {
      if (v.length > MAX_FORMAT) return undefined;
      ct.format = v;
    }
  }
  return ct;
}

/**
 * Equality as the reference's mime_content_types_are_equal (spec §1.8): exact, case-sensitive
 * comparison of type, subtype, boundary, charset and format, an absent parameter being unequal to
 * any present one. Values are compared unquoted, so `format="hex"` equals `format=hex`.
 */
export function sameContentType(a: ContentType, b: ContentType): boolean {
  return (
    a.type === b.type &&
    a.subtype === b.subtype &&
    (a.boundary ?? '') === (b.boundary ?? '') &&
    (a.charset ?? '') === (b.charset ?? '') &&
    (a.format ?? '') === (b.format ?? '')
  );
}

/** Renders a content type as the reference does: `type/subtype; charset=…; boundary=…; format=…`. */
export function formatContentType(ct: ContentType): string {
  let text = `${ct.type}/${ct.subtype}`;
  if (ct.charset) text += `; charset=${tokenOrQuoted(ct.charset)}`;
  if (ct.boundary) text += `; boundary=${tokenOrQuoted(ct.boundary)}`;
  if (ct.format) text += `; format=${tokenOrQuoted(ct.format)}`;
  return text;
}

/** An HTTP quoted-string: wrapped in `"`, with only `"` and `\` backslash-escaped (spec §1.12). */
export function quoteString(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

function tokenOrQuoted(value: string): string {
  return value.length > 0 && scanToken(value, 0) === value.length ? value : quoteString(value);
}

/** One `name=value` header parameter; `value` is unquoted and unescaped. */
export interface HeaderParam {
  readonly name: string;
  readonly value: string;
  readonly quoted: boolean;
}

/**
 * Parses `*( OWS ";" OWS token "=" ( token / quoted-string ) ) OWS` from `at` to the end of
 * `text`, or returns undefined. Values must be non-empty (the reference treats `""` as missing).
 */
export function parseParams(text: string, at: number): HeaderParam[] | undefined {
  const params: HeaderParam[] = [];
  for (let i = skipSpace(text, at); i < text.length; i = skipSpace(text, i)) {
    if (text[i] !== ';') return undefined;
    const nameStart = skipSpace(text, i + 1);
    const nameEnd = scanToken(text, nameStart);
    if (nameEnd === nameStart || text[nameEnd] !== '=') return undefined;
    const value = scanValue(text, nameEnd + 1);
    if (value === undefined) return undefined;
    params.push({ name: text.slice(nameStart, nameEnd), value: value.value, quoted: value.quoted });
    i = value.end;
  }
  return params;
}

// tchar: visible ASCII except the separators ()<>@,;:\"/[]?={} (the reference's is_http_token).
const TOKEN_CHARS = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) TOKEN_CHARS[c] = '()<>@,;:\\"/[]?={}'.includes(String.fromCharCode(c)) ? 0 : 1;

/** The index just past the run of token characters starting at `at`. */
export function scanToken(text: string, at: number): number {
  let i = at;
  while (i < text.length && TOKEN_CHARS[text.charCodeAt(i)] === 1) i++;
  return i;
}

/** The index just past any spaces and tabs starting at `at`. */
export function skipSpace(text: string, at: number): number {
  let i = at;
  while (text[i] === ' ' || text[i] === '\t') i++;
  return i;
}

// Inside quotes the reference takes printable ASCII. Bytes 0x80-0xFF (obs-text, RFC 9110) are also
// taken so that UTF-8 file names survive; control characters, CR and LF never are.
function isQuotedChar(c: number): boolean {
  return (c >= 0x20 && c < 0x7f) || (c >= 0x80 && c <= 0xff);
}

function scanValue(text: string, at: number): { value: string; end: number; quoted: boolean } | undefined {
  if (text[at] !== '"') {
    const end = scanToken(text, at);
    return end > at ? { value: text.slice(at, end), end, quoted: false } : undefined;
  }
  const pieces: string[] = [];
  let start = at + 1;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isQuotedChar(c)) return undefined;
    if (c === 0x22) {
      pieces.push(text.slice(start, i));
      const value = pieces.join('');
      return value.length > 0 ? { value, end: i + 1, quoted: true } : undefined;
    }
    if (c === 0x5c) {
      pieces.push(text.slice(start, i));
      i++;
      if (i >= text.length || !isQuotedChar(text.charCodeAt(i))) return undefined;
      start = i; // the escaped character is kept literally
    }
  }
  return undefined; // no closing quote
}
