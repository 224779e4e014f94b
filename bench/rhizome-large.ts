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
 *
 * Each figure alternates with its ceiling, run by run. Beside them, what the work costs in CPU
 * time: the node's (main thread, other threads) and this process's (the client) per transfer, and
 * two pieces of unavoidable work measured here on the same bytes: SHA-512, and writing 64 MiB to
 * a file in 1 MiB writes then fsync (what the store must do to keep the payload). With two cores
 * shared by client and node, their sum bounds what any implementation can reach.
 *
 * With --reference, the reference's insert of the same payload and its raw.bin join each run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, makeInstance, removeInstance, startServer, startTendril, withCpu } from './harness.js';
import { insertFrame, MB, median, MULTIPART, timed } from './rhizome-client.js';
import type { Reference } from './reference.js';

const SIZE = 64 * 1024 * 1024;
const PIECE = 64 * 1024;
const WRITE = 1024 * 1024;

export interface Rate {
  /** MB/s (10^6 bytes) of each run. */
  readonly runs: number[];
  readonly median: number;
}

/** Median CPU time (ms) per 64 MiB transfer. */
export interface TransferCpu {
  readonly main: number;
  readonly other: number;
  readonly client: number;
}

export interface LargeBench {
  readonly sha512: Rate;
  readonly insert: Rate;
  readonly loopback: Rate;
  readonly raw: Rate;
  readonly insertCpu: TransferCpu;
  readonly rawCpu: TransferCpu;
  /** CPU ms of SHA-512 over 64 MiB, and of writing 64 MiB plus fsync (median), and that write's wall ms. */
  readonly unavoidable: { readonly sha512Ms: number; readonly writeCpuMs: number; readonly writeWallMs: number };
  /** The reference's insert and raw.bin of the same payloads (--reference), and its CPU per transfer. */
  readonly reference?: { readonly insert: Rate; readonly raw: Rate; readonly insertCpu: TransferCpu; readonly rawCpu: TransferCpu };
}

const rate = (runs: number[]): Rate => ({ runs, median: median(runs) });
const mbps = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);

function sha512Once(data: Buffer): { mbps: number; cpuMs: number } {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const hash = createHash('sha512');
  for (let at = 0; at < data.length; at += PIECE) hash.update(data.subarray(at, at + PIECE));
  hash.digest();
  const used = process.cpuUsage(cpu);
  return { mbps: mbps(data.length, performance.now() - started), cpuMs: (used.user + used.system) / 1000 };
}

/**
 * 64 MiB into a new file in 1 MiB writes, then fsync: CPU and wall time (ms). The file is kept
 * (removed with the directory at the end), as the store keeps its payloads: on the benchmark VM,
 * writing while the page cache grows costs several times what writing into pages just freed does.
 */
function writeOnce(dir: string, data: Buffer, r: number): { cpuMs: number; wallMs: number } {
  const path = join(dir, `write-${r}.bin`);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const fd = openSync(path, 'w');
  for (let at = 0; at < data.length; at += WRITE) writeSync(fd, data, at, WRITE, at);
  fsyncSync(fd);
  closeSync(fd);
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started };
}

const medianCpu = (samples: TransferCpu[]): TransferCpu => ({
  main: median(samples.map((s) => s.main)),
  other: median(samples.map((s) => s.other)),
  client: median(samples.map((s) => s.client)),
});

export async function benchLarge(seconds: number, reference?: Reference): Promise<LargeBench> {
  const runs = Math.max(3, Math.min(10, Math.round(seconds / 2)));
  const data = randomBytes(SIZE);
  const dir = mkdtempSync(join(tmpdir(), 'tendril-bench-file-'));
  const instance = await makeInstance();
  const node = await startTendril(instance);
  const sha: number[] = [];
  const shaCpu: number[] = [];
  const insertRuns: number[] = [];
  const insertCpu: TransferCpu[] = [];
  const rawRuns: number[] = [];
  const rawCpu: TransferCpu[] = [];
  const loopbackRuns: number[] = [];
  const writes: Array<{ cpuMs: number; wallMs: number }> = [];
  const ref = { insert: [] as number[], raw: [] as number[], insertCpu: [] as TransferCpu[], rawCpu: [] as TransferCpu[], bid: '' };
  try {
    const url = `http://127.0.0.1:${node.port}/restful/rhizome/insert`;
    let bid = '';
    // One extra run first, not counted: it warms the connection, the code and the disk.
    for (let r = 0; r <= runs; r++) {
      const hashed = sha512Once(data);
      data.writeUInt32BE(r, 0); // a new payload each time
      const { head, tail } = insertFrame(`large-${r}.bin`);
      const t = await withCpu(node.child.pid, () => timed(url, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [head, data, tail] }));
      if (t.value.status !== 201) throw new Error(`64 MiB insert: HTTP ${t.value.status}`);
      bid = String(t.value.headers['serval-rhizome-bundle-id']);
      if (reference) {
        const refUrl = `${reference.origin}/restful/rhizome/insert`;
        const rt = await withCpu(reference.pid, () => timed(refUrl, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [head, data, tail] }));
        if (rt.value.status !== 201 && rt.value.status !== 200) throw new Error(`64 MiB insert into the reference: HTTP ${rt.value.status}`);
        ref.bid = String(rt.value.headers['serval-rhizome-bundle-id']);
        if (r > 0) {
          ref.insert.push(mbps(SIZE, rt.value.lastMs));
          ref.insertCpu.push({ main: rt.main, other: rt.other, client: rt.self });
        }
      }
      if (r === 0) continue;
      sha.push(hashed.mbps);
      shaCpu.push(hashed.cpuMs);
      insertRuns.push(mbps(SIZE, t.value.lastMs));
      insertCpu.push({ main: t.main, other: t.other, client: t.self });
    }
    // The unavoidable write, after the inserts: it would otherwise warm the disk for them.
    for (let r = 0; r < runs; r++) writes.push(writeOnce(dir, data, r));

    // The same bytes as the last bundle's payload, from a file, by a bare server.
    const file = join(dir, 'payload.bin');
    writeFileSync(file, data);
    const server = await startServer('ceiling', [file]);
    try {
      const rawUrl = `http://127.0.0.1:${node.port}/restful/rhizome/${bid}/raw.bin`;
      const fileUrl = `http://127.0.0.1:${server.port}/file`;
      await timed(rawUrl); // warm-up: page cache, connection
      await timed(fileUrl);
      for (let r = 0; r < runs; r++) {
        const t = await withCpu(node.child.pid, () => timed(rawUrl));
        if (t.value.status !== 200 || t.value.bytes !== SIZE) throw new Error(`raw.bin: ${t.value.status}, ${t.value.bytes} bytes`);
        rawRuns.push(mbps(SIZE, t.value.lastMs));
        rawCpu.push({ main: t.main, other: t.other, client: t.self });
        const c = await timed(fileUrl);
        if (c.bytes !== SIZE) throw new Error('ceiling: short body');
        loopbackRuns.push(mbps(SIZE, c.lastMs));
        if (reference) {
          const rt = await withCpu(reference.pid, () => timed(`${reference.origin}/restful/rhizome/${ref.bid}/raw.bin`));
          if (rt.value.status !== 200 || rt.value.bytes !== SIZE) throw new Error(`reference raw.bin: ${rt.value.status}, ${rt.value.bytes} bytes`);
          ref.raw.push(mbps(SIZE, rt.value.lastMs));
          ref.rawCpu.push({ main: rt.main, other: rt.other, client: rt.self });
        }
      }
    } finally {
      await server.stop();
    }
  } finally {
    await node.stop();
    removeInstance(instance);
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    sha512: rate(sha),
    insert: rate(insertRuns),
    loopback: rate(loopbackRuns),
    raw: rate(rawRuns),
    insertCpu: medianCpu(insertCpu),
    rawCpu: medianCpu(rawCpu),
    unavoidable: {
      sha512Ms: median(shaCpu),
      writeCpuMs: median(writes.map((w) => w.cpuMs)),
      writeWallMs: median(writes.map((w) => w.wallMs)),
    },
    reference: reference
      ? { insert: rate(ref.insert), raw: rate(ref.raw), insertCpu: medianCpu(ref.insertCpu), rawCpu: medianCpu(ref.rawCpu) }
      : undefined,
  };
}

export function reportLarge(b: LargeBench): string[] {
  const runs = (r: Rate): string => r.runs.map((v) => fmt(v)).join(', ');
  const verdict = (r: Rate, c: Rate): string => (r.median > c.median / 2 ? 'met' : 'missed');
  const cpu = (c: TransferCpu): string => `${fmt(c.main)} / ${fmt(c.other)} / ${fmt(c.client)}`;
  const u = b.unavoidable;
  // Two cores: the node's and the client's CPU time together, spread perfectly over both, or the
  // node's main thread alone, whichever is longer, is the least an insert can take.
  const floorMs = Math.max(b.insertCpu.main, (b.insertCpu.main + b.insertCpu.other + b.insertCpu.client) / 2);
  const unavoidableFloorMs = (u.sha512Ms + u.writeCpuMs + b.insertCpu.client) / 2;
  const ref = b.reference;
  return [
    '| 64 MiB payload, one at a time | MB/s (median) | ceiling MB/s | ratio | target | runs (MB/s) | CPU ms per transfer: node main / node other / client |',
    '|---|---:|---:|---:|---|---|---:|',
    `| insert (POST to 201), ceiling node:crypto SHA-512 in-process | ${fmt(b.insert.median)} | ${fmt(b.sha512.median)} | ${fmt(b.insert.median / b.sha512.median, 2)} | > 0.5: **${verdict(b.insert, b.sha512)}** | ${runs(b.insert)} | ${cpu(b.insertCpu)} |`,
    `| raw.bin (GET, first to last byte), ceiling bare node:http streaming the same file | ${fmt(b.raw.median)} | ${fmt(b.loopback.median)} | ${fmt(b.raw.median / b.loopback.median, 2)} | > 0.5: **${verdict(b.raw, b.loopback)}** | ${runs(b.raw)} | ${cpu(b.rawCpu)} |`,
    ...(ref
      ? [
          `| reference insert (--reference), the same payloads; ratio = Tendril / reference | ${fmt(ref.insert.median)} | | **${fmt(b.insert.median / ref.insert.median, 1)}** | | ${runs(ref.insert)} | ${cpu(ref.insertCpu)} |`,
          `| reference raw.bin; ratio = Tendril / reference | ${fmt(ref.raw.median)} | | **${fmt(b.raw.median / ref.raw.median, 1)}** | | ${runs(ref.raw)} | ${cpu(ref.rawCpu)} |`,
        ]
      : []),
    '',
    `Ceiling runs (each beside its figure's run): SHA-512 ${runs(b.sha512)}; loopback file ${runs(b.loopback)} MB/s.`,
    '',
    `Unavoidable work per 64 MiB, measured in the benchmark process on the same bytes: SHA-512 ${fmt(u.sha512Ms)} ms of CPU; ` +
      `writing it to a new file in 1 MiB writes and fsync ${fmt(u.writeCpuMs)} ms of CPU (${fmt(u.writeWallMs)} ms). ` +
      `With the client's ${fmt(b.insertCpu.client)} ms, that alone needs ${fmt(unavoidableFloorMs)} ms of two cores (${fmt(mbps(SIZE, unavoidableFloorMs))} MB/s at best; ` +
      `the target is ${fmt(b.sha512.median / 2)} MB/s). The insert's measured CPU (node and client) needs at least ${fmt(floorMs)} ms per insert on two cores ` +
      `(${fmt(mbps(SIZE, floorMs))} MB/s).`,
  ];
}
