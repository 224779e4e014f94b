/**
 * The Rhizome store on PostgreSQL (`npm run bench -- only postgres`), on a private durable server
 * (Debian's postgresql, fsync on) started for the run:
 *
 *   - small inserts/s (1 KiB payloads, 16 connections per node) with 1, 2 and 4 nodes on one
 *     database, beside one SQLite node measured in the same run (log.level=warn everywhere).
 *     Targets: 4 nodes ≥ 2.5 × one node; one node ≥ 0.5 × SQLite.
 *   - bundlelist.json (first and last byte) and the latency of single inserts (one at a time) with
 *     1,000 bundles, then with BENCH_PG_BUNDLES (default 1,000,000): the first 1,000 are real
 *     REST inserts, the rest bulk rows (postgres-parts.ts). Target: insert p99 at the large size
 *     within 2 × its p99 at 1,000.
 *   - cross-node newsince: a long-poll held on node B, inserts on node A one at a time; the time
 *     from A's 201 to the row on B. Target: p99 < 100 ms.
 *   - a 1 GiB payload inserted and downloaded: MB/s and the node's peak RSS.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { measureCpu, type CpuSplit } from './cpu-split.js';
import { fmt, HARRY, load, makeInstance, removeInstance, startTendril, type LoadResult } from './harness.js';
import { bulkFill, largeTransfer, startCluster, type Transfer } from './postgres-parts.js';
import { insertMany, MULTIPART, percentile, smallInsertBody, timed } from './rhizome-client.js';

const CONNECTIONS = 16;
const LARGE = Number(process.env.BENCH_PG_BUNDLES ?? 1_000_000);
const GIB = 1024 * 1024 * 1024;
const LATENCY_INSERTS = 200;
const CROSS_ROUNDS = 100;
/** Untimed inserts into a node restarted after the bulk fill. */
const WARM_UP = 20;

export interface SizeFigures {
  readonly bundles: number;
  readonly fillSeconds: number;
  readonly listFirstMs: number;
  readonly listLastMs: number;
  readonly listBytes: number;
  /** Single inserts, one at a time, ms, sorted. */
  readonly insertMs: number[];
}

export interface PostgresBench {
  readonly sqlite: LoadResult;
  readonly nodes: Array<{ readonly count: number; readonly total: number; readonly perNode: number[]; readonly p99Ms: number; readonly failed: number; readonly cpu: CpuSplit }>;
  readonly sizes: SizeFigures[];
  /** ms from A's 201 to the row on B, sorted; rows never seen. */
  readonly crossNode: { readonly latencies: number[]; readonly missing: number };
  readonly large: { readonly idleRssMiB: number; readonly insert: Transfer; readonly download: Transfer };
}

let sequence = 0;
const FILLER = 'x'.repeat(1024);
const body = (): Buffer => smallInsertBody('bench.txt', `${(sequence++).toString(36)}:${FILLER}`.slice(0, 1024));
const insertLoad = (port: number, seconds: number): Promise<LoadResult> =>
  load({ url: `http://127.0.0.1:${port}/restful/rhizome/insert`, connections: CONNECTIONS, seconds, method: 'POST', headers: { ...HARRY, 'Content-Type': MULTIPART }, body });

async function sqliteInserts(seconds: number): Promise<LoadResult> {
  const instance = await makeInstance({ 'log.level': 'warn' });
  const node = await startTendril(instance);
  try {
    await insertLoad(node.port, 2);
    return await insertLoad(node.port, seconds);
  } finally {
    await node.stop();
    removeInstance(instance);
  }
}

async function sizeFigures(port: number, bundles: number, fillSeconds: number): Promise<SizeFigures> {
  const url = `http://127.0.0.1:${port}/restful/rhizome/bundlelist.json`;
  const list = await timed(url);
  if (list.status !== 200) throw new Error(`bundlelist.json: HTTP ${list.status}`);
  const insertMs: number[] = [];
  for (let i = 0; i < LATENCY_INSERTS; i++) {
    const t = await timed(`http://127.0.0.1:${port}/restful/rhizome/insert`, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [body()] });
    if (t.status !== 201) throw new Error(`insert: HTTP ${t.status}`);
    insertMs.push(t.lastMs);
  }
  return { bundles, fillSeconds, listFirstMs: list.firstMs, listLastMs: list.lastMs, listBytes: list.bytes, insertMs: insertMs.sort((a, b) => a - b) };
}

/** A long-poll on `bPort`; inserts on `aPort` one at a time; A's 201 to B's row, ms. */
async function crossNode(aPort: number, bPort: number): Promise<PostgresBench['crossNode']> {
  const first = await timed(`http://127.0.0.1:${aPort}/restful/rhizome/bundlelist.json`, { keep: true });
  const token = (JSON.parse(first.body!.toString('utf8')) as { rows: unknown[][] }).rows[0]![0] as string;
  const socket = connect(bPort, '127.0.0.1');
  socket.setEncoding('latin1');
  socket.setNoDelay(true);
  let text = '';
  let wake: () => void = () => undefined;
  socket.on('data', (c: string) => {
    text += c;
    wake();
  });
  socket.write(`GET /restful/rhizome/newsince/${token}/bundlelist.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${HARRY.Authorization}\r\n\r\n`);
  const seen = (marker: string, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      const check = (): void => {
        if (!text.includes(marker)) return;
        clearTimeout(timer);
        resolve(true);
      };
      wake = check;
      check();
    });
  const latencies: number[] = [];
  let missing = 0;
  try {
    for (let r = -5; r < CROSS_ROUNDS; r++) {
      const marker = `cross-${r}-${Math.random().toString(36).slice(2)}`;
      const arrived = seen(marker, 10_000).then((ok) => (ok ? performance.now() : undefined));
      const t = await timed(`http://127.0.0.1:${aPort}/restful/rhizome/insert`, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [smallInsertBody(marker, `${marker}:${FILLER}`)] });
      const answered = performance.now();
      if (t.status !== 201) throw new Error(`insert: HTTP ${t.status}`);
      const at = await arrived;
      if (r < 0) continue; // warm-up
      if (at === undefined) missing++;
      else latencies.push(Math.max(0, at - answered));
    }
  } finally {
    socket.destroy();
  }
  return { latencies: latencies.sort((a, b) => a - b), missing };
}

export async function benchPostgres(seconds: number): Promise<PostgresBench> {
  const sqlite = await sqliteInserts(seconds);
  const cluster = await startCluster();
  try {
    const nodes: PostgresBench['nodes'] = [];
    // The postmaster's pid is the first line of its socket's lock file.
    const postmaster = Number(readFileSync(join(cluster.server.socketDir, `.s.PGSQL.${cluster.server.port}.lock`), 'utf8').split('\n')[0]);
    for (const count of [1, 2, 4]) {
      const running = await cluster.nodes(await cluster.database(), count);
      await Promise.all(running.map((n) => insertLoad(n.port, 2)));
      const cpuEnd = measureCpu(running.map((n) => n.child.pid!), postmaster);
      const results = await Promise.all(running.map((n) => insertLoad(n.port, seconds)));
      const cpu = cpuEnd();
      nodes.push({
        count,
        total: results.reduce((s, r) => s + r.requestsPerSecond, 0),
        perNode: results.map((r) => r.requestsPerSecond),
        p99Ms: Math.max(...results.map((r) => r.p99Ms)),
        failed: results.reduce((s, r) => s + r.errors + r.non2xx, 0),
        cpu,
      });
      for (const n of running) await n.stop();
    }

    const url = await cluster.database();
    const [a, b] = await cluster.nodes(url, 2);
    const started = performance.now();
    if ((await insertMany(a!.port, 1000, 16)).refused > 0) throw new Error('inserts refused while filling');
    const sizes = [await sizeFigures(a!.port, 1000, (performance.now() - started) / 1000)];
    const crossNodeFigures = await crossNode(a!.port, b!.port);
    let [a2, b2] = [a!, b!];
    const made = 1000 + LATENCY_INSERTS + CROSS_ROUNDS + 5 + WARM_UP;
    if (LARGE > made) {
      const fill = await bulkFill(url, LARGE - made);
      // Rows written behind the nodes' backs were never notified: a running node would find the
      // gap at its next commit and read and announce all of them (remote-bundles.ts) during the
      // timed inserts. Nodes of a store that grew over time heard of each row as it came; nodes
      // started on it begin at its highest row id. So: restarted, and warmed up by a few inserts.
      [a2, b2] = [await cluster.restart(a2), await cluster.restart(b2)];
      if ((await insertMany(a2.port, WARM_UP, 1, { from: 1_000_000 })).refused > 0) throw new Error('warm-up inserts refused');
      sizes.push(await sizeFigures(a2.port, LARGE, fill));
    }
    const large = await largeTransfer(b2.port, b2.child.pid!, GIB);
    return { sqlite, nodes, sizes, crossNode: crossNodeFigures, large };
  } finally {
    await cluster.stop();
  }
}

export function reportPostgres(b: PostgresBench): string[] {
  const one = b.nodes[0]!.total;
  const four = b.nodes.find((n) => n.count === 4)?.total ?? NaN;
  const verdict = (ok: boolean): string => (ok ? 'met' : 'missed');
  const [small, big] = b.sizes;
  const p99 = (s: SizeFigures): number => percentile(s.insertMs, 99);
  const cross99 = percentile(b.crossNode.latencies, 99);
  return [
    `| small inserts (1 KiB payload), ${CONNECTIONS} connections per node | inserts/s, all nodes | per node | × one PostgreSQL node | worst p99 ms | errors / non-2xx |`,
    '|---|---:|---|---:|---:|---:|',
    `| SQLite, one node (same run) | ${fmt(b.sqlite.requestsPerSecond)} | | | ${b.sqlite.p99Ms} | ${b.sqlite.errors + b.sqlite.non2xx} |`,
    ...b.nodes.map((n) => `| PostgreSQL, ${n.count} node${n.count > 1 ? 's' : ''}, one database | ${fmt(n.total)} | ${n.perNode.map((v) => fmt(v)).join(', ')} | ${fmt(n.total / one, 2)} | ${n.p99Ms} | ${n.failed} |`),
    '',
    `Targets: 4 nodes ≥ 2.5 × one node: ${fmt(four / one, 2)} × — **${verdict(four >= 2.5 * one)}**; one node ≥ 0.5 × SQLite: ${fmt(one / b.sqlite.requestsPerSecond, 2)} × — **${verdict(one >= 0.5 * b.sqlite.requestsPerSecond)}**.`,
    '',
    ...cpuTable(b.nodes),
    '',
    '| bundles in the store | filled in | bundlelist.json first byte ms | last byte ms | bytes | single insert p50 ms | p99 ms |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...b.sizes.map(
      (s, i) =>
        `| ${fmt(s.bundles)} | ${fmt(s.fillSeconds, 1)} s (${i === 0 ? 'REST inserts' : 'bulk rows'}) | ${fmt(s.listFirstMs, 1)} | ${fmt(s.listLastMs, 0)} | ${fmt(s.listBytes)} | ${fmt(percentile(s.insertMs, 50), 1)} | ${fmt(p99(s), 1)} |`,
    ),
    '',
    big === undefined
      ? 'Insert p99 at a million: not measured (BENCH_PG_BUNDLES ≤ 1,000).'
      : `Target: insert p99 with ${fmt(big.bundles)} bundles within 2 × its p99 with ${fmt(small!.bundles)}: ${fmt(p99(big) / p99(small!), 2)} × — **${verdict(p99(big) <= 2 * p99(small!))}**.`,
    '',
    `Cross-node newsince (long-poll on node B, ${CROSS_ROUNDS} inserts on node A one at a time, from A's 201 to the row on B): p50 ${fmt(percentile(b.crossNode.latencies, 50), 1)} ms, p99 ${fmt(cross99, 1)} ms, max ${fmt(b.crossNode.latencies.at(-1) ?? NaN, 1)} ms, ${b.crossNode.missing} never seen. Target p99 < 100 ms: **${verdict(cross99 < 100 && b.crossNode.missing === 0)}**.`,
    '',
    `1 GiB payload: insert ${fmt(b.large.insert.mbps, 1)} MB/s (node peak RSS ${fmt(b.large.insert.peakRssMiB)} MiB), raw.bin ${fmt(b.large.download.mbps, 1)} MB/s (peak RSS ${fmt(b.large.download.peakRssMiB)} MiB); RSS before: ${fmt(b.large.idleRssMiB)} MiB.`,
  ];
}

/**
 * Where the CPU went in each run of small inserts, per insert. When the machine's cores are all
 * busy, the sum bounds the figure: more node processes then only share the same cores, and a
 * scale-out figure needs the nodes, the load generators and the database on machines of their own.
 */
function cpuTable(nodes: PostgresBench['nodes']): string[] {
  const perInsert = (ms: number, n: PostgresBench['nodes'][number]): number => ms / (n.total * n.cpu.seconds);
  return [
    '| CPU during the small inserts | machine busy, cores | nodes ms/insert | PostgreSQL ms/insert | load generator ms/insert | sum ms/insert | inserts/s all cores could give at that cost |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...nodes.map((n) => {
      const parts = [n.cpu.nodesMs, n.cpu.postgresMs, n.cpu.benchMs].map((ms) => perInsert(ms, n));
      const sum = parts.reduce((a, b) => a + b, 0);
      return `| ${n.count} node${n.count > 1 ? 's' : ''} | ${fmt(n.cpu.busyCores, 2)} of ${n.cpu.cores} | ${parts.map((v) => fmt(v, 2)).join(' | ')} | ${fmt(sum, 2)} | ${fmt((n.cpu.cores * 1000) / sum)} |`;
    }),
  ];
}
