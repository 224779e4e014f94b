/**
 * Log lines for people: what the node writes as JSON, shown on a terminal as
 * `2026-12-07 02:17:21.253 INFO  request completed method=GET url=/restful/system status=200 ms=2`
 * (the node's own log on a terminal, and `tendril logs` there). Written here rather than with
 * pino-pretty: it is short, has no dependencies, and, unlike pino-pretty, escapes control
 * characters in every value, so a request line cannot drive the reader's terminal.
 */
import { forTerminal } from './formats/terminal-text.js';

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO ', color: '32' },
  40: { name: 'WARN ', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
};

/** Fields every line has, shown in their own places or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? forTerminal(v) : forTerminal(JSON.stringify(v));
  return forTerminal(JSON.stringify(v) ?? String(v));
}

/** One JSON log line as text (a line that is not JSON is shown as it is, escaped). */
export function prettyLogLine(line: string, color: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
    if (record === null || typeof record !== 'object') return forTerminal(line);
  } catch {
    return forTerminal(line);
  }
  const level = LEVELS[record.level as number] ?? { name: value(record.level ?? '?').padEnd(5), color: '0' };
  const time = typeof record.time === 'number' ? localTime(record.time) : typeof record.time === 'string' ? forTerminal(record.time) : '';
  const paint = (code: string, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  let out = `${paint('90', time)} ${paint(level.color, level.name)} ${typeof record.msg === 'string' ? forTerminal(record.msg) : value(record.msg ?? '')}`;
  let stack: string | undefined;
  for (const [key, v] of Object.entries(record)) {
    if (HIDDEN.has(key)) continue;
    if (key === 'err' && v !== null && typeof v === 'object') {
      const err = v as { type?: string; message?: string; stack?: string };
      out += ` ${paint('90', 'err=')}${value(`${err.type ?? 'Error'}: ${err.message ?? ''}`)}`;
      stack = err.stack;
      continue;
    }
    out += ` ${paint('90', `${forTerminal(key)}=`)}${value(v)}`;
  }
  if (stack !== undefined) out += stack.split('\n').slice(1).map((l) => `\n    ${forTerminal(l.trim())}`).join('');
  return out;
}
