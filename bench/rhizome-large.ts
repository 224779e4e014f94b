/**
 * A 64 MiB payload in and out, one transfer at a time over one keep-alive connection.
 *
 * Insert: POST /restful/rhizome/insert with a distinct 64 MiB payload each time, from the first
 * byte sent to the 201 (streamed parse, SHA-512, temporary file, fsync, rename, commit). Ceiling:
 * node:crypto SHA-512 over the same 64 MiB in 64 KiB pieces in this process — the one piece of
 * work an insert cannot avoid. Target: over half of it.
 *
 * raw.bin: GET of the last bundle's payload (read from its file, its SHA-512 verified on the way).
 * Ceiling: a bare node:http server streaming a file of the same bytes with fs.createReadStream.
 * Target: over half of it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, makeInstance, removeInstance, startServer, startTendril } from './harness.js';
import { insertFrame, MB, median, MULTIPART, timed } from './rhizome-client.js';

const SIZE = 64 * 1024 * 1024;
const PIECE = 64 * 1024;

export interface Rate {
  /** MB/s (10^6 bytes) of each run. */
  readonly runs: number[];
  readonly median: number;
}

export interface LargeBench {
  readonly sha512: Rate;
  readonly insert: Rate;
  readonly loopback: Rate;
  readonly raw: Rate;
}

const rate = (runs: number[]): Rate => ({ runs, median: median(runs) });
const mbps = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);

function sha512Rate(data: Buffer, runs: number): Rate {
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    const hash = createHash('sha512');
    for (let at = 0; at < data.length; at += PIECE) hash.update(data.subarray(at, at + PIECE));
    hash.digest();
    out.push(mbps(data.length, performance.now() - started));
  }
  return rate(out);
}

async function downloads(url: string, runs: number): Promise<Rate> {
  await timed(url); // warm-up: page cache, connection
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = await timed(url);
    if (t.status !== 200 || t.bytes !== SIZE) throw new Error(`GET ${url}: ${t.status}, ${t.bytes} bytes`);
    out.push(mbps(t.bytes, t.lastMs));
  }
  return rate(out);
}

export async function benchLarge(seconds: number): Promise<LargeBench> {
  const runs = Math.max(3, Math.min(10, Math.round(seconds / 2)));
  const data = randomBytes(SIZE);
  const sha512 = sha512Rate(data, runs + 1);

  const instance = await makeInstance();
  const node = await startTendril(instance);
  const insertRuns: number[] = [];
  let raw: Rate;
  let bid = '';
  try {
    const url = `http://127.0.0.1:${node.port}/restful/rhizome/insert`;
    // One extra run first, not counted: it warms the connection, the code and the disk.
    for (let r = 0; r <= runs; r++) {
      data.writeUInt32BE(r, 0); // a new payload each time
      const { head, tail } = insertFrame(`large-${r}.bin`);
      const t = await timed(url, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [head, data, tail] });
      if (t.status !== 201) throw new Error(`64 MiB insert: HTTP ${t.status}`);
      if (r > 0) insertRuns.push(mbps(SIZE, t.lastMs));
      bid = String(t.headers['serval-rhizome-bundle-id']);
    }
    raw = await downloads(`http://127.0.0.1:${node.port}/restful/rhizome/${bid}/raw.bin`, runs);
  } finally {
    await node.stop();
    removeInstance(instance);
  }

  // The same bytes as the last bundle's payload, from a file, by a bare server.
  const dir = mkdtempSync(join(tmpdir(), 'tendril-bench-file-'));
  const file = join(dir, 'payload.bin');
  writeFileSync(file, data);
  const server = await startServer('ceiling', [file]);
  let loopback: Rate;
  try {
    loopback = await downloads(`http://127.0.0.1:${server.port}/file`, runs);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { sha512, insert: rate(insertRuns), loopback, raw };
}

export function reportLarge(b: LargeBench): string[] {
  const runs = (r: Rate): string => r.runs.map((v) => fmt(v)).join(', ');
  const verdict = (r: Rate, c: Rate): string => (r.median > c.median / 2 ? 'met' : 'missed');
  return [
    '| 64 MiB payload, one at a time | MB/s (median) | ceiling MB/s | ratio | target | runs (MB/s) |',
    '|---|---:|---:|---:|---|---|',
    `| insert (POST to 201), ceiling node:crypto SHA-512 in-process | ${fmt(b.insert.median)} | ${fmt(b.sha512.median)} | ${fmt(b.insert.median / b.sha512.median, 2)} | > 0.5: **${verdict(b.insert, b.sha512)}** | ${runs(b.insert)} |`,
    `| raw.bin (GET, first to last byte), ceiling bare node:http streaming the same file | ${fmt(b.raw.median)} | ${fmt(b.loopback.median)} | ${fmt(b.raw.median / b.loopback.median, 2)} | > 0.5: **${verdict(b.raw, b.loopback)}** | ${runs(b.raw)} |`,
    '',
    `Ceiling runs: SHA-512 ${runs(b.sha512)}; loopback file ${runs(b.loopback)} MB/s.`,
  ];
}
