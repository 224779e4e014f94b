/**
 * JSON as the Serval REST API writes it (spec §1.11.3, §1.11.4, §1.12).
 *
 * Clients of the reference compare bytes in places, so Tendril renders JSON itself rather than with
 * JSON.stringify: every non-ASCII code point is escaped as uppercase `\uXXXX` (surrogate pairs above
 * U+FFFF), control characters use the short escapes where JSON has them, `/` is left alone, and a
 * string stops at an embedded NUL as a C string would.
 */
import type { JsonValue } from '../errors.js';

const HEX = '0123456789ABCDEF';
const SHORT_ESCAPES: Record<number, string> = {
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0c: '\\f',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};
// Anything outside printable ASCII, or a quote or backslash, needs escaping.
const NEEDS_ESCAPE = /[^\x20-\x21\x23-\x5b\x5d-\x7e]/;

function u4(code: number): string {
  return `\\u${HEX[(code >> 12) & 15]}${HEX[(code >> 8) & 15]}${HEX[(code >> 4) & 15]}${HEX[code & 15]}`;
}

/** A JSON string literal with Serval escaping; `null` for null or undefined. */
export function jsonString(value: string | null | undefined): string {
  if (value === null || value === undefined) return 'null';
  const nul = value.indexOf('\0');
  const text = nul === -1 ? value : value.slice(0, nul);
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const short = SHORT_ESCAPES[code];
    if (short !== undefined) out += short;
    else if (code < 0x20 || code >= 0x7f) out += u4(code); // UTF-16 units: surrogate pairs come out as pairs
    else out += text[i];
  }
  return `${out}"`;
}

/** Compact JSON of any value (no spaces), as used inside rows and nested result members. */
export function jsonValue(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(jsonValue).join(',')}]`;
  const members: string[] = [];
  for (const [key, member] of Object.entries(value as Record<string, JsonValue | undefined>)) {
    if (member !== undefined) members.push(`${jsonString(key)}:${jsonValue(member)}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * The JSON result object (spec §1.11.3): one space of indentation, `": "` separators, no trailing
 * newline, extra members in the order given.
 */
export function jsonResult(
  status: number,
  reason: string,
  members: ReadonlyArray<readonly [string, JsonValue]> = [],
): string {
  let out = `{\n "http_status_code": ${status},\n "http_status_message": ${jsonString(reason)}`;
  for (const [key, value] of members) out += `,\n ${jsonString(key)}: ${jsonValue(value)}`;
  return `${out}\n}`;
}

/** The opening of a JSON table up to and including `"rows":[` (spec §1.11.4). */
export function jsonTableHead(
  columns: readonly string[],
  prefix: ReadonlyArray<readonly [string, JsonValue]> = [],
): string {
  let out = '{\n';
  for (const [key, value] of prefix) out += `${jsonString(key)}:${jsonValue(value)},\n`;
  return `${out}"header":[${columns.map(jsonString).join(',')}],\n"rows":[`;
}

/**
 * A row already rendered, for lists whose rows are worth caching; or several rows, joined as a
 * table joins them. As bytes (ASCII, as every rendered row is), it is written without a copy.
 */
export class RenderedRow {
  constructor(readonly json: string | Buffer) {}
}

/** One row; every row but the first is preceded by a comma. */
export function jsonTableRow(row: readonly JsonValue[] | RenderedRow, first: boolean): string {
  const json = row instanceof RenderedRow ? row.json : jsonValue(row);
  return `${first ? '\n' : ',\n'}${typeof json === 'string' ? json : json.toString('latin1')}`;
}

export const JSON_TABLE_TAIL = '\n]\n}\n';
