/**
 * `npm run bench -- --reference URL`: a running Serval-compatible server (Serval DNA's servald, or
 * any other) with the same REST user (harry/potter), measured in the same rounds as Tendril so
 * that "faster than the reference" is a figure of the run, not an assumption.
 *
 * The server's pid is found from its listening port (/proc/net/tcp and /proc/PID/fd), so its CPU
 * time per request is reported too, as for Tendril; when it cannot be found (another user's
 * process, no /proc), only rates are reported.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fmt, HARRY, interleave, type LoadResult, type LoadSubject } from './harness.js';
import { haveWrk } from './wrk.js';

export interface Reference {
  /** Scheme, host and port, without a trailing slash. */
  readonly origin: string;
  readonly port: number;
  /** The server's process, when found. */
  readonly pid: number | undefined;
}

/** The `--reference URL` argument, or undefined without one. */
export function referenceArg(args: readonly string[]): Reference | undefined {
  const at = args.indexOf('--reference');
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined) throw new Error('--reference needs a URL, such as http://127.0.0.1:4110');
  const url = new URL(value);
  if (url.protocol !== 'http:') throw new Error('--reference: only http:// URLs');
  const port = Number(url.port || 80);
  return { origin: `http://${url.hostname}:${port}`, port, pid: listeningPid(port) };
}

/** The pid of the process listening on TCP `port` (IPv4 or IPv6), if this user can see it. */
export function listeningPid(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT; state 0A is LISTEN; the inode is the tenth field.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9] !== undefined) inodes.add(`socket:[${f[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

async function call(url: string, method = 'GET'): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { method, headers: HARRY });
  return { status: r.status, text: await r.text() };
}

/**
 * Makes sure the reference's keyring holds at least `names.length` identities without a PIN, adding
 * the missing ones with the names given (a reference reused from an earlier run keeps its own).
 */
export async function ensureReferenceIdentities(ref: Reference, names: readonly string[]): Promise<string[]> {
  const list = await call(`${ref.origin}/restful/keyring/identities.json`);
  if (list.status !== 200) throw new Error(`reference: identities.json answered ${list.status}: is harry/potter a user there?`);
  const rows = (JSON.parse(list.text) as { rows: string[][] }).rows;
  const sids = rows.map((r) => r[0]!);
  for (const name of names.slice(rows.length)) {
    const r = await call(`${ref.origin}/restful/keyring/add?name=${encodeURIComponent(name)}&did=5551234`, 'POST');
    if (r.status !== 201) throw new Error(`reference: keyring add answered ${r.status}`);
    sids.push((JSON.parse(r.text) as { identity: { sid: string } }).identity.sid);
  }
  return sids;
}

/** Tendril's figures and the reference's, measured with wrk in the same alternating rounds. */
export interface Versus {
  readonly what: string;
  readonly rows: ReadonlyArray<{ readonly label: string; readonly result: LoadResult }>;
  readonly reference: LoadResult;
  /** Tendril must reach this multiple of the reference's rate (its first row, when several). */
  readonly target?: number;
}

/**
 * Measures `subjects` (Tendril) and the reference's same request, with wrk, in alternating rounds:
 * the reference closes every connection, which autocannon cannot count (bench/wrk.ts).
 */
export async function versusReference(
  what: string,
  subjects: ReadonlyArray<{ readonly label: string; readonly subject: LoadSubject }>,
  reference: LoadSubject,
  seconds: number,
  target?: number,
): Promise<Versus> {
  if (!haveWrk()) throw new Error('--reference needs wrk (Debian: apt-get install wrk)');
  const wrkSubject = (s: LoadSubject): LoadSubject => ({ ...s, options: { ...s.options, client: 'wrk' } });
  const results = await interleave([...subjects.map((s) => wrkSubject(s.subject)), wrkSubject(reference)], seconds, Math.max(1, Math.round(seconds / 2)));
  return { what, rows: subjects.map((s, i) => ({ label: s.label, result: results[i]! })), reference: results[subjects.length]!, target };
}

/** Each round's ratio to the same round of `base`, as "min–max". */
export function roundRatios(r: LoadResult, base: LoadResult): string {
  const ratios = (r.rounds ?? []).map((v, i) => v / (base.rounds?.[i] ?? NaN));
  return ratios.length === 0 ? '' : `${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}`;
}

export function reportVersus(v: Versus): string[] {
  const cpu = (r: LoadResult): string => (r.cpuUs === undefined ? '' : `${fmt(r.cpuUs.main)} / ${fmt(r.cpuUs.other)}`);
  const ratio = (r: LoadResult): number => r.requestsPerSecond / v.reference.requestsPerSecond;
  const row = (label: string, r: LoadResult, times: string): string =>
    `| ${label} | ${fmt(r.requestsPerSecond, r.requestsPerSecond < 100 ? 1 : 0)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${cpu(r)} | ${fmt(r.loadgenUs ?? NaN)} | ${r.errors} / ${r.non2xx} | ${times} |`;
  const first = v.rows[0]?.result;
  return [
    `| ${v.what}, wrk | req/s | p50 ms | p99 ms | server CPU µs/req: main / other threads | wrk CPU µs/req | errors / non-2xx | × reference (rounds) |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...v.rows.map(({ label, result }) => row(label, result, `**${fmt(ratio(result), 2)}** (${roundRatios(result, v.reference)})`)),
    row('reference (--reference)', v.reference, '1'),
    '',
    ...(v.target !== undefined && first
      ? [`Target: at least ${v.target} × the reference: **${ratio(first) >= v.target ? 'met' : 'missed'}** (${fmt(ratio(first), 2)}).`, '']
      : []),
  ];
}
