/**
 * identities.json through each kind of web server, 16 connections, beside a bare node:http
 * hello-world measured in the same run (the HTTP ceiling):
 *
 *   embedded   the node's own server, upstream mode (plain HTTP on loopback, credentials)
 *   dedicated  a `tendril web server --mode=upstream` process in front of the same node, which
 *              forwards each request over the node's control socket
 *   TLS        the node's own server in server mode (HTTPS, a throwaway self-signed certificate)
 *
 * One node serves all three; log.level=warn, so no per-request log line is counted. All are measured
 * in alternating rounds (harness.ts interleave), with their CPU per request (the dedicated server's:
 * node and web server together). Target: the dedicated server at least 0.6 of the embedded one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fmt, HARRY, interleave, makeInstance, removeInstance, ROOT, startHello, tendril, type LoadResult, type LoadSubject } from './harness.js';

const ENTRY = join(ROOT, 'bin/tendril.js');
const CONNECTIONS = 16;
const DEDICATED_TARGET = 0.6;

export interface WebBench {
  readonly ceiling: LoadResult;
  readonly embedded: LoadResult;
  readonly dedicated: LoadResult;
  /** undefined when openssl is missing (no certificate could be made). */
  readonly tls: LoadResult | undefined;
}

interface Running {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

function running(child: ChildProcess): Running {
  return {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && child.exitCode === null && child.signalCode === null; i++) await sleep(50);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** A self-signed certificate for 127.0.0.1, or undefined without openssl. */
function makeCertificate(dir: string): { certfile: string; keyfile: string } | undefined {
  const certfile = join(dir, 'cert.pem');
  const keyfile = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyfile, '-out', certfile],
    { stdio: 'ignore' },
  );
  return made.status === 0 ? { certfile, keyfile } : undefined;
}

/** Starts the node with `commands`; returns its URLs in the order of the commands. */
async function startNode(instance: string, commands: string): Promise<Running & { urls: string[] }> {
  const child = spawn(process.execPath, [ENTRY, '--instance', instance, 'start', '--commands', commands], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const proc = running(child);
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    try {
      const state = JSON.parse(readFileSync(join(instance, 'proc', 'state.json'), 'utf8')) as { pid: number; urls: string[] };
      if (state.pid === child.pid) return { ...proc, urls: state.urls };
    } catch {
      // not written yet
    }
    await sleep(50);
  }
  await proc.stop();
  throw new Error('tendril did not start');
}

/** Starts `tendril web server ARGS` in front of the node of `instance`; returns its URL. */
async function startDedicated(instance: string, args: readonly string[]): Promise<Running & { url: string }> {
  const child = spawn(process.execPath, [ENTRY, '--instance', instance, 'web', 'server', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const proc = running(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = / listening on (\S+?)\/restful\//.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`the dedicated web server exited: ${out}`)));
  });
  child.stdout.resume();
  return { ...proc, url };
}

const subject = (url: string, pid: number | number[] | undefined): LoadSubject => ({ options: { url, connections: CONNECTIONS, headers: HARRY }, pid });

export async function benchWeb(seconds: number): Promise<WebBench> {
  const hello = await startHello();
  const instance = await makeInstance({ 'log.level': 'warn' });
  const certDir = mkdtempSync(join(tmpdir(), 'tendril-bench-cert-'));
  try {
    for (const name of ['Alice', 'Bob', 'Carol', 'Dave']) await tendril(instance, ['keyring', 'add', '--name', name, '--did', '5551234']);
    const cert = makeCertificate(certDir);
    const commands = ['web server --mode=upstream --port=0'];
    if (cert) commands.push(`web server --mode=server --port=0 --certfile=${cert.certfile} --keyfile=${cert.keyfile}`);
    const node = await startNode(instance, commands.join('; '));
    try {
      const path = '/restful/keyring/identities.json';
      const front = await startDedicated(instance, ['--mode=upstream', '--port=0']);
      try {
        const pid = node.child.pid!;
        const [ceiling, embedded, dedicated, tls] = await interleave(
          [
            { options: { url: `http://127.0.0.1:${hello.port}/`, connections: CONNECTIONS }, pid: hello.child.pid },
            subject(`${node.urls[0]}${path}`, pid),
            subject(`${front.url}${path}`, [pid, front.child.pid!]),
            ...(cert ? [subject(`${node.urls[1]}${path}`, pid)] : []),
          ],
          seconds,
          Math.max(1, Math.round(seconds / 2)),
        );
        return { ceiling: ceiling!, embedded: embedded!, dedicated: dedicated!, tls };
      } finally {
        await front.stop();
      }
    } finally {
      await node.stop();
    }
  } finally {
    await hello.stop();
    removeInstance(instance);
    rmSync(certDir, { recursive: true, force: true });
  }
}

export function reportWeb(b: WebBench): string[] {
  const cpu = (r: LoadResult): string => (r.cpuUs === undefined ? '' : fmt(r.cpuUs.main + r.cpuUs.other));
  const row = (label: string, r: LoadResult | undefined): string =>
    r === undefined
      ? `| ${label} | n/a (no openssl) | | | | | |`
      : `| ${label} | ${fmt(r.requestsPerSecond)} | ${r.p50Ms} | ${r.p99Ms} | ${cpu(r)} | ${r.errors} / ${r.non2xx} | ${fmt(r.requestsPerSecond / b.ceiling.requestsPerSecond, 2)} |`;
  const ratio = b.dedicated.requestsPerSecond / b.embedded.requestsPerSecond;
  const rounds = (b.dedicated.rounds ?? []).map((v, i) => v / (b.embedded.rounds?.[i] ?? NaN));
  return [
    `| identities.json (4 identities), ${CONNECTIONS} connections, log.level=warn | req/s | p50 ms | p99 ms | server CPU µs/req | errors / non-2xx | ratio to ceiling |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    row('bare node:http hello-world (ceiling)', b.ceiling),
    row('embedded: the node\'s own server, upstream mode (plain HTTP)', b.embedded),
    row('dedicated: `tendril web server --mode=upstream` in front, over the control socket', b.dedicated),
    row('TLS: the node\'s own server in server mode (HTTPS, keep-alive)', b.tls),
    '',
    `Dedicated / embedded: ${fmt(ratio, 2)} (rounds ${fmt(Math.min(...rounds), 2)}–${fmt(Math.max(...rounds), 2)}); target at least ${DEDICATED_TARGET}: **${ratio >= DEDICATED_TARGET ? 'met' : 'missed'}**. ` +
      `Measured in ${b.embedded.rounds?.length ?? 1} alternating rounds; the dedicated server's CPU is the node's and the web server's together.`,
  ];
}
