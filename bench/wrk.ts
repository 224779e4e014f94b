/**
 * Load from wrk (https://github.com/wg/wrk, Debian package `wrk`), for the comparisons with a
 * reference server: Serval DNA closes every connection after its response and ends the body by
 * closing (no Content-Length, no chunks), which autocannon cannot count. wrk counts such
 * responses, so with --reference both Tendril and the reference are driven by wrk, in the same
 * alternating rounds; the ceilings keep autocannon, as without --reference.
 *
 * wrk reports every close by the server as a read error: against a server that closes each
 * connection that is one per response, not a failure, so only connect, write and timeout errors
 * count as errors here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A body made new for every request: head, then `bytes` bytes of payload that start with a counter, then tail. */
export interface DistinctBody {
  readonly head: Buffer;
  readonly tail: Buffer;
  readonly bytes: number;
}

let counter = 0;
const FILLER = 'x'.repeat(64 * 1024);

/** One body of `d` (autocannon makes one per request with this). */
export function makeDistinct(d: DistinctBody): Buffer {
  return Buffer.concat([d.head, Buffer.from(`${(counter++).toString(36)}:${FILLER}`.slice(0, d.bytes)), d.tail]);
}

export interface WrkOptions {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly headers?: Record<string, string>;
  readonly method?: 'GET' | 'POST';
  readonly body?: Buffer | DistinctBody;
}

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
}

export function haveWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** A Lua string literal holding exactly these bytes. */
function luaString(b: Buffer | string): string {
  let out = '"';
  for (const byte of Buffer.from(b)) {
    out += (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x20 ? String.fromCharCode(byte) : `\\${byte}`;
  }
  return `${out}"`;
}

function script(o: WrkOptions): string {
  const path = new URL(o.url);
  const lines = [`wrk.method = ${luaString(o.method ?? 'GET')}`];
  for (const [k, v] of Object.entries(o.headers ?? {})) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  const body = o.body;
  if (Buffer.isBuffer(body)) lines.push(`wrk.body = ${luaString(body)}`);
  else if (body !== undefined) {
    lines.push(
      `local head, tail, filler, n = ${luaString(body.head)}, ${luaString(body.tail)}, string.rep("x", ${body.bytes}), 0`,
      'request = function()',
      '  n = n + 1',
      `  local payload = string.sub(string.format("w%x:", n) .. filler, 1, ${body.bytes})`,
      `  return wrk.format(nil, ${luaString(path.pathname + path.search)}, nil, head .. payload .. tail)`,
      'end',
    );
  }
  return lines.join('\n');
}

function parseMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

export async function wrk(o: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tendril-bench-wrk-'));
  const file = join(dir, 'load.lua');
  writeFileSync(file, script(o));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '--timeout', '10s', '-s', file, o.url], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
    });
    const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
    const pct = (p: string): number => {
      const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
      return m ? parseMs(m[1]!, m[2]!) : NaN;
    };
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    return {
      requestsPerSecond: num(/Requests\/sec:\s+([\d.]+)/),
      requests: num(/(\d+) requests in/),
      p50Ms: pct('50'),
      p99Ms: pct('99'),
      errors: socket ? Number(socket[1]) + Number(socket[3]) + Number(socket[4]) : 0,
      non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time (ms) of this process's children that have ended (wrk runs), from /proc/self/stat. */
export function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // cutime and cstime, in clock ticks (USER_HZ, 100 on Linux).
  return (Number(fields[13]) + Number(fields[14])) * 10;
}
