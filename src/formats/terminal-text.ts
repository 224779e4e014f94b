/**
 * Text for a terminal (the CLI's output, pretty logs). Names, message texts and reasons come from other people (a bundle's name
 * is whatever its author wrote), and a terminal obeys control sequences in what it prints: a
 * window title, the clipboard (OSC 52), cursor movement, a screen cleared. So everything the CLI
 * prints as text goes through forTerminal, which shows control characters as escapes instead;
 * `--json` output goes through jsonForTerminal, which leaves none of them raw either.
 */

/**
 * C0 controls but TAB (a column separator of some outputs), DEL, C1 controls (U+0080–U+009F: some
 * terminals take U+009B as CSI), the line and paragraph separators, and the bidirectional
 * overrides and isolates that make text display in another order than it is (U+202A–U+202E,
 * U+2066–U+2069).
 */
// eslint-disable-next-line no-control-regex -- control characters are what this finds
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every unsafe character shown as `\xHH` or `\uHHHH`. */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, escape);
}

// JSON.stringify escapes C0 itself; what it leaves raw is escaped as JSON's \u form.
 
const JSON_UNSAFE = /[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON text with no raw control character: still valid JSON, meaning the same. */
export function jsonForTerminal(value: unknown, indent?: number): string {
  return escapeJsonText(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent));
}

/** JSON text (such as a log line) with what JSON.stringify leaves raw escaped; still the same JSON. */
export function escapeJsonText(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

