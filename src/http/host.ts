/**
 * The Host check: a listener answers only to the names it is known by. A page on
 * `http://evil.example:4110` whose name an attacker re-points at 127.0.0.1 (DNS rebinding) is, to
 * the browser, of the same origin as the API it then calls, so no CORS rule stops it; only the
 * Host header it must send, `evil.example:4110`, gives it away.
 *
 * Every listener accepts `localhost` and IP address literals (a page can only be rebound through a
 * DNS name, never through an address), plus the names its web server lists (`--host-name`, and in
 * server mode the names of its certificate). Ports are not compared: rebinding changes the name,
 * and clients (the reference's tests among them) name the port they were told about, which a
 * proxy in front may change. A request without a Host header (HTTP/1.0, scripts) did not come
 * from a browser and passes.
 */
import { isIP } from 'node:net';
import { fail } from '../errors.js';

export interface HostRule {
  /** Any name at all (mtls without --host-name, or `--host-name=*`). */
  readonly any: boolean;
  /** Lower-case names without port; `*.example.org` matches one or more labels before it. */
  readonly names: readonly string[];
}

/** The rule that accepts any name: the control socket's, and where the check is switched off. */
export const ANY_HOST: HostRule = Object.freeze({ any: true, names: [] });

/**
 * The name part of a Host header value, lower-cased, without port; `[::1]:80` gives `::1`.
 * Undefined for a value that is not `host[:port]`.
 */
export function hostName(header: string): string | undefined {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end === -1 || (end + 1 < value.length && !/^:\d{0,5}$/.test(value.slice(end + 1)))) return undefined;
    return value.slice(1, end);
  }
  const colon = value.indexOf(':');
  const name = colon === -1 ? value : value.slice(0, colon);
  if (colon !== -1 && !/^\d{0,5}$/.test(value.slice(colon + 1))) return undefined;
  // A trailing dot names the same host (`localhost.`).
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function matches(name: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
  return name === pattern;
}

/** True when `header` names this listener under `rule`. */
export function hostAllowed(header: string, rule: HostRule): boolean {
  if (rule.any) return true;
  const name = hostName(header);
  if (name === undefined || name === '') return false;
  if (name === 'localhost' || isIP(name) !== 0) return true;
  return rule.names.some((pattern) => matches(name, pattern));
}

/**
 * A checker for one rule that remembers its verdicts: clients send the same Host on every
 * request, so after the first one the check is a map lookup.
 */
export function hostChecker(rule: HostRule): (header: string | undefined) => void {
  if (rule.any) return () => undefined;
  const verdicts = new Map<string, boolean>();
  return (header) => {
    if (header === undefined) return;
    let ok = verdicts.get(header);
    if (ok === undefined) {
      ok = hostAllowed(header, rule);
      // Bounded: a client sending a new name every time gets the slow path, not more memory.
      if (verdicts.size < 64) verdicts.set(header, ok);
    }
    if (!ok) fail('ACCESS_HOST_FORBIDDEN', { why: `host name ${JSON.stringify(header.slice(0, 100))} is not one of this server's names (see --host-name)` });
  };
}
