/**
 * Memory with margin: 1 GiB inserted over HTTP and downloaded again from a node of the shipped
 * build, both streamed, while the node's RSS is read from /proc every 50 ms (as
 * test/http/rhizome-rss.test.ts does with a node run from source, whose bound is 200 MB).
 * Target: the peak under 150 MB. Reported with the idle RSS and where it lies (anonymous memory,
 * and file-backed pages: the node binary and native modules).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fmt, HARRY, makeInstance, removeInstance, startTendril } from './harness.js';
import { insertFrame, MULTIPART } from './rhizome-client.js';

const SIZE = 1024 * 1024 * 1024;
const PIECE = 1024 * 1024;
const TARGET = 150e6;

export interface MemoryBench {
  readonly idle: Rss;
  readonly upload: Rss;
  readonly download: Rss;
  readonly uploadSeconds: number;
  readonly downloadSeconds: number;
}

interface Rss {
  readonly total: number;
  readonly anon: number;
  readonly file: number;
}

function rssOf(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { total: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** The highest RSS of `pid` while `fn` runs. */
async function peakWhile(pid: number, fn: () => Promise<void>): Promise<Rss> {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    const now = rssOf(pid);
    if (now.total > peak.total) peak = now;
  }, 50);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  const last = rssOf(pid);
  return last.total > peak.total ? last : peak;
}

/** One request; the body written piece by piece as the socket takes it (never held whole). */
function exchange(port: number, method: string, path: string, body?: { head: Buffer; tail: Buffer }): Promise<{ status: number; text: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...HARRY };
    if (body) Object.assign(headers, { 'Content-Type': MULTIPART, 'Content-Length': body.head.length + SIZE + body.tail.length });
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let bytes = 0;
      const kept: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (kept.length < 4) kept.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(kept).toString('latin1'), bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (!body) {
      req.end();
      return;
    }
    req.write(body.head);
    const piece = Buffer.alloc(PIECE, 0x5a);
    let sent = 0;
    const more = (): void => {
      while (sent < SIZE) {
        piece.writeUInt32BE(sent / PIECE, 0); // distinct pieces
        sent += PIECE;
        if (!req.write(Buffer.from(piece))) {
          req.once('drain', more);
          return;
        }
      }
      req.end(body.tail);
    };
    more();
  });
}

export async function benchMemory(): Promise<MemoryBench> {
  const instance = await makeInstance();
  const node = await startTendril(instance);
  try {
    const pid = node.child.pid!;
    await new Promise((r) => setTimeout(r, 1000));
    const idle = rssOf(pid);
    let bid = '';
    let started = performance.now();
    const upload = await peakWhile(pid, async () => {
      const r = await exchange(node.port, 'POST', '/restful/rhizome/insert', insertFrame('memory.bin'));
      if (r.status !== 201) throw new Error(`1 GiB insert: HTTP ${r.status}`);
      bid = /^id=([0-9A-F]{64})$/m.exec(r.text)?.[1] ?? '';
    });
    const uploadSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const download = await peakWhile(pid, async () => {
      const r = await exchange(node.port, 'GET', `/restful/rhizome/${bid}/raw.bin`);
      if (r.status !== 200 || r.bytes !== SIZE) throw new Error(`1 GiB raw.bin: HTTP ${r.status}, ${r.bytes} bytes`);
    });
    return { idle, upload, download, uploadSeconds, downloadSeconds: (performance.now() - started) / 1000 };
  } finally {
    await node.stop();
    removeInstance(instance);
  }
}

export function reportMemory(b: MemoryBench): string[] {
  const mb = (n: number): string => fmt(n / 1e6, 1);
  const row = (label: string, r: Rss, verdict: string): string => `| ${label} | ${mb(r.total)} | ${mb(r.anon)} | ${mb(r.file)} | ${verdict} |`;
  const met = (r: Rss): string => (r.total < TARGET ? '**met**' : '**missed**');
  return [
    '| node RSS, 1 GiB in and out (shipped build) | MB | anonymous MB | file-backed MB | target < 150 MB |',
    '|---|---:|---:|---:|---|',
    row('idle, before', b.idle, ''),
    row(`peak while inserting (${fmt(SIZE / 2 ** 20 / b.uploadSeconds)} MiB/s)`, b.upload, met(b.upload)),
    row(`peak while downloading raw.bin (${fmt(SIZE / 2 ** 20 / b.downloadSeconds)} MiB/s)`, b.download, met(b.download)),
  ];
}
