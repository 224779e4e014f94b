/**
 * A result as the reference's HTML status page (http_server.c, strbuf_status_body): what servald
 * answers on its pages outside /restful/, Rhizome Direct's among them, whose clients read only the
 * status line. Members are listed as `<dt>label</dt><dd>value</dd>`.
 */
import type { JsonValue } from '../errors.js';

export const HTML_TYPE = 'text/html; charset=utf-8';

function escapeHtml(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are escaped as the reference does
  return text.replace(/[&<>"'\x00-\x1f\x7f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#${c.charCodeAt(0)};`;
    }
  });
}

function atom(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'object') return escapeHtml(JSON.stringify(value));
  return String(value);
}

export function htmlResult(status: number, reason: string, members: ReadonlyArray<readonly [string, JsonValue]> = []): string {
  const items = members.map(([label, value]) => `\n<dt>${escapeHtml(label)}</dt><dd>${atom(value)}</dd>`).join('');
  // The reference writes the reason unescaped. Only markup is escaped here (a reason can quote a
  // client's header), which leaves every reason Rhizome Direct gives byte for byte as servald's.
  const heading = reason.replace(/[&<>]/g, (c) => escapeHtml(c));
  return `<html>\n<h1>${String(status).padStart(3, '0')} ${heading}</h1>\n<dl>${items}\n</dl>\n</html>`;
}
