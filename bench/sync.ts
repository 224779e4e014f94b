/**
 * Tendril sync between two nodes, each in its own process, over loopback (docs/sync.md):
 *
 *  (a) reconciliation of two stores of 100,000 bundles that differ by 10 (5 on each side): round
 *      trips and bytes on the wire (counted by a TCP proxy between the nodes: HTTP framing, HELLO,
 *      reconciliation, and the 10 bundles themselves), beside Rhizome Direct's cost on the same
 *      stores, computed from its protocol (⌈N/2047⌉ enquiries of 10 + 32·k bytes; its client is
 *      not part of this tree). Targets: ≤ 4 round trips, < 20 KB.
 *  (b) first sync of 10,000 small bundles (1 KiB) into an empty node: bundles/s, beside the same
 *      node build's own small-insert rate (16 connections, as bench insert). Target ≥ 0.5.
 *  (c) live propagation: 100 inserts on one node, each timed to its row in a newsince long-poll on
 *      the other; p50/p99. Target p99 < 250 ms.
 *  (d) one 256 MiB payload crossing: MB/s beside raw.bin of the sending node. Target ≥ 0.5.
 *  (e) the nodes' peak RSS during (b) and (d). Target < 200 MB.
 *
 * Stores are filled before the nodes start by bench/sync-store.ts (real signed bundles, through the
 * store's own writer and commit), so the figures measure sync, not the filling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { updateConfigFile } from '../src/config/file.js';
import { startProxy } from '../test/helpers/tcp-proxy.js';
import { fmt, HARRY, interleave, makeInstance, processCpu, removeInstance, ROOT, type LoadResult } from './harness.js';
import { MB, median, MULTIPART, percentile, smallInsertBody, timed } from './rhizome-client.js';
import { copyStore, fillStore, storeLarge } from './sync-store.js';

const ENTRY = join(ROOT, 'bin/tendril.js');
const SERVERS = 'web server --mode=upstream --port=0; web server --mode=mesh --bind=127.0.0.1 --port=0';
const LARGE = 256 * 1024 * 1024;

interface Node {
  readonly instance: string;
  readonly child: ChildProcess;
  readonly api: string;
  readonly mesh: string;
  stop(): Promise<void>;
}

async function startNode(instance: string): Promise<Node> {
  // As bench/harness.ts: with TENDRIL_BENCH_CPU_PROF=DIR the node runs under --cpu-prof.
  const profDir = process.env.TENDRIL_BENCH_CPU_PROF;
  const nodeArgs = profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
  const child = spawn(process.execPath, [...nodeArgs, ENTRY, '--instance', instance, 'start', '--port', '0', '--commands', SERVERS], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 600; i++) {
    try {
      const state = JSON.parse(readFileSync(join(instance, 'proc', 'state.json'), 'utf8')) as { pid: number; urls: string[] };
      if (state.pid === child.pid && state.urls.length === 2) {
        return {
          instance,
          child,
          api: state.urls[0]!,
          mesh: state.urls[1]!,
          stop: async () => {
            child.kill('SIGTERM');
            for (let j = 0; j < 200 && child.exitCode === null; j++) await sleep(50);
            if (child.exitCode === null) child.kill('SIGKILL');
          },
        };
      }
    } catch {
      // not yet written
    }
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error('tendril did not start');
}

function control(instance: string, method: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: join(instance, 'tendril.sock'), method, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `from` dials `to` (through `url`, default its mesh server) with a token of `to`. */
async function link(from: Node, to: Node, url = to.mesh): Promise<void> {
  const { token } = JSON.parse(await control(to.instance, 'POST', '/control/tokens?name=bench')) as { token: string };
  updateConfigFile(join(from.instance, 'tendril.conf'), 'sync.peer.bench.token', token);
  updateConfigFile(join(from.instance, 'tendril.conf'), 'sync.peer.bench.url', url);
}

function unlink(from: Node): void {
  for (const key of ['url', 'token']) updateConfigFile(join(from.instance, 'tendril.conf'), `sync.peer.bench.${key}`, undefined);
}

async function getJson<T>(node: Node, path: string): Promise<T> {
  const r = await timed(`${node.api}${path}`, { keep: true });
  return JSON.parse(r.body!.toString()) as T;
}

const bundleCount = async (node: Node): Promise<number> => (await getJson<{ node: { bundles: number } }>(node, '/restful/system')).node.bundles;

interface PeerRow {
  sessions: number;
  last_session_messages: number | null;
  lag_bundles: number;
}

async function peerRow(node: Node): Promise<PeerRow | undefined> {
  const t = await getJson<{ header: string[]; rows: unknown[][] }>(node, '/restful/sync/peers.json');
  const row = t.rows[0];
  return row === undefined ? undefined : (Object.fromEntries(t.header.map((h, i) => [h, row[i]])) as unknown as PeerRow);
}

async function until(what: string, check: () => Promise<boolean>, ms: number, every = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`sync bench: ${what} not within ${ms} ms`);
    await sleep(every);
  }
}

/** Peak VmRSS of each pid while `fn` runs, sampled every 50 ms. */
async function peakRss<T>(pids: readonly number[], fn: () => Promise<T>): Promise<{ value: T; peaks: number[] }> {
  const peaks = pids.map(() => 0);
  const sample = (): void =>
    pids.forEach((pid, i) => {
      try {
        const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        peaks[i] = Math.max(peaks[i]!, kb * 1024);
      } catch {
        // gone
      }
    });
  sample();
  const timer = setInterval(sample, 50);
  try {
    const value = await fn();
    sample();
    return { value, peaks };
  } finally {
    clearInterval(timer);
  }
}

/** The `bytes` of the last `sync reconciliation done` line of a node's log, if it logs to a file. */
export interface SyncBench {
  readonly recon: {
    readonly bundles: number;
    readonly differences: number;
    readonly messages: number;
    readonly roundTrips: number;
    readonly wireBytes: number;
    readonly ms: number;
    readonly identical: { readonly messages: number; readonly wireBytes: number };
    readonly direct: { readonly enquiries: number; readonly requestBytes: number; readonly roundTrips: number };
  };
  readonly first: { readonly bundles: number; readonly ms: number; readonly perSecond: number; readonly insert: LoadResult; readonly rss: readonly number[] };
  readonly live: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly fromRequestP99Ms: number };
  readonly large: {
    readonly syncMBps: number;
    readonly rawMBps: number;
    readonly rawRuns: number[];
    readonly ms: number;
    readonly rss: readonly number[];
    /** CPU ms (main thread + other threads) of the receiving and the sending node for the sync, and of the node per raw.bin download. */
    readonly cpu: { readonly receiver: number; readonly sender: number; readonly raw: number };
  };
}

async function benchReconcile(): Promise<SyncBench['recon']> {
  const N = 100_000;
  const a = await makeInstance();
  const b = await makeInstance();
  const nodes: Node[] = [];
  try {
    process.stderr.write('bench sync: filling two stores of 100,000 bundles…\n');
    await fillStore(a, N - 5, 0, 'common');
    copyStore(a, b);
    await fillStore(a, 5, 0, 'only-a');
    await fillStore(b, 5, 0, 'only-b');
    const [na, nb] = [await startNode(a), await startNode(b)];
    nodes.push(na, nb);
    const proxy = await startProxy(Number(new URL(nb.mesh).port));
    try {
      const started = performance.now();
      await link(na, nb, proxy.url);
      await until('convergence', async () => (await bundleCount(na)) === N + 5 && (await bundleCount(nb)) === N + 5 && (await peerRow(na))?.lag_bundles === 0, 120_000);
      const ms = performance.now() - started;
      const row = (await peerRow(na))!;
      const wireBytes = proxy.up + proxy.down;
      // Again, now that both hold the same: what a repair of identical stores costs.
      unlink(na);
      await until('link down', async () => (await peerRow(na)) === undefined, 30_000);
      proxy.resetCounters();
      await link(na, nb, proxy.url);
      await until('second session', async () => ((await peerRow(na))?.sessions ?? 0) >= 1, 30_000);
      const again = (await peerRow(na))!;
      const identical = { messages: again.last_session_messages ?? 0, wireBytes: proxy.up + proxy.down };
      const enquiries = Math.ceil((N + 5) / 2047);
      return {
        bundles: N,
        differences: 10,
        messages: row.last_session_messages ?? 0,
        roundTrips: Math.ceil((row.last_session_messages ?? 0) / 2),
        wireBytes,
        ms,
        identical,
        // Rhizome Direct sync: every BAR goes up, 2,047 to an enquiry; then per difference a
        // manifest and a payload fetch (pull) or an import (push).
        direct: { enquiries, requestBytes: enquiries * 10 + (N + 5) * 32, roundTrips: enquiries + 10 },
      };
    } finally {
      await proxy.close();
    }
  } finally {
    for (const n of nodes) await n.stop();
    removeInstance(a);
    removeInstance(b);
  }
}

/** (b) and (c): a first sync of 10,000 small bundles, then live propagation on the same link. */
async function benchFirstAndLive(seconds: number): Promise<Pick<SyncBench, 'first' | 'live'>> {
  const COUNT = 10_000;
  const a = await makeInstance();
  const b = await makeInstance();
  const c = await makeInstance();
  const nodes: Node[] = [];
  try {
    process.stderr.write('bench sync: filling a store of 10,000 small bundles…\n');
    await fillStore(a, COUNT, 1024, 'small');
    const [na, nb, nc] = [await startNode(a), await startNode(b), await startNode(c)];
    nodes.push(na, nb, nc);
    const { value: ms, peaks } = await peakRss([nb.child.pid!, na.child.pid!], async () => {
      const started = performance.now();
      await link(nb, na);
      await until('first sync', async () => (await bundleCount(nb)) === COUNT, 300_000, 50);
      return performance.now() - started;
    });
    // The node's own insert rate, on a node that syncs with nobody.
    let sequence = 0;
    const filler = 'x'.repeat(1024);
    const [insert] = await interleave(
      [
        {
          options: {
            url: `${nc.api}/restful/rhizome/insert`,
            connections: 16,
            method: 'POST',
            headers: { ...HARRY, 'Content-Type': MULTIPART },
            body: () => smallInsertBody('bench.txt', `${(sequence++).toString(36)}:${filler}`.slice(0, 1024)),
          },
          pid: nc.child.pid,
        },
      ],
      seconds,
      Math.max(1, Math.round(seconds / 2)),
    );
    const live = await benchLive(na, nb);
    return { first: { bundles: COUNT, ms, perSecond: COUNT / (ms / 1000), insert: insert!, rss: peaks }, live };
  } finally {
    for (const n of nodes) await n.stop();
    for (const i of [a, b, c]) removeInstance(i);
  }
}

/** 100 inserts on `from`, each timed to its row in a newsince long-poll on `to`. */
async function benchLive(from: Node, to: Node): Promise<SyncBench['live']> {
  const arrived = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  let buffer = '';
  const stream = request(`${to.api}/restful/rhizome/newsince/bundlelist.json`, { headers: HARRY }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      const now = performance.now();
      // A live row is written alone, as soon as it exists; ids are the quoted 64-digit strings
      // (the tail of the last chunk is kept in case one was split).
      buffer = buffer.slice(-200) + text;
      for (const m of buffer.matchAll(/"([0-9A-F]{64})"/g)) {
        const id = m[1]!;
        if (!arrived.has(id)) {
          arrived.set(id, now);
          waiters.get(id)?.();
        }
      }
    });
  });
  stream.end();
  await sleep(500);
  const fromAnswer: number[] = [];
  const fromRequest: number[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const sent = performance.now();
      const r = await timed(`${from.api}/restful/rhizome/insert`, { method: 'POST', headers: { 'Content-Type': MULTIPART }, body: [smallInsertBody(`live-${i}.txt`, `live ${i} ${Date.now()}`)] });
      const answered = performance.now();
      const id = String(r.headers['serval-rhizome-bundle-id']);
      if (!arrived.has(id)) await Promise.race([new Promise<void>((resolve) => waiters.set(id, resolve)), sleep(10_000)]);
      const at = arrived.get(id);
      if (at === undefined) throw new Error('sync bench: a live bundle did not arrive within 10 s');
      fromAnswer.push(at - answered);
      fromRequest.push(at - sent);
      await sleep(20);
    }
  } finally {
    stream.destroy();
  }
  const sorted = [...fromAnswer].sort((x, y) => x - y);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1)!, fromRequestP99Ms: percentile([...fromRequest].sort((x, y) => x - y), 99) };
}

async function benchLarge(): Promise<SyncBench['large']> {
  const a = await makeInstance();
  const b = await makeInstance();
  const nodes: Node[] = [];
  try {
    process.stderr.write('bench sync: a 256 MiB bundle…\n');
    const id = await storeLarge(a, LARGE);
    const [na, nb] = [await startNode(a), await startNode(b)];
    nodes.push(na, nb);
    const cpuOf = (pid: number): number => {
      const c = processCpu(pid);
      return c.main + c.other;
    };
    const rawRuns: number[] = [];
    const rawCpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = cpuOf(na.child.pid!);
      const r = await timed(`${na.api}/restful/rhizome/${id}/raw.bin`);
      if (r.bytes !== LARGE) throw new Error('sync bench: raw.bin short');
      rawRuns.push(LARGE / MB / (r.lastMs / 1000));
      rawCpu.push(cpuOf(na.child.pid!) - before);
    }
    const before = [cpuOf(nb.child.pid!), cpuOf(na.child.pid!)];
    const { value: ms, peaks } = await peakRss([nb.child.pid!, na.child.pid!], async () => {
      const started = performance.now();
      await link(nb, na);
      await until('the large bundle crossing', async () => (await bundleCount(nb)) === 1, 300_000);
      return performance.now() - started;
    });
    const cpu = { receiver: cpuOf(nb.child.pid!) - before[0]!, sender: cpuOf(na.child.pid!) - before[1]!, raw: median(rawCpu) };
    return { syncMBps: LARGE / MB / (ms / 1000), rawMBps: median(rawRuns), rawRuns, ms, rss: peaks, cpu };
  } finally {
    for (const n of nodes) await n.stop();
    removeInstance(a);
    removeInstance(b);
  }
}

/** TENDRIL_BENCH_SYNC=a,b,d runs only those parts (b includes c); the others report nothing. */
export async function benchSync(seconds: number): Promise<Partial<SyncBench>> {
  const parts = process.env.TENDRIL_BENCH_SYNC?.split(',') ?? ['a', 'b', 'd'];
  const recon = parts.includes('a') ? await benchReconcile() : undefined;
  const firstAndLive = parts.includes('b') ? await benchFirstAndLive(seconds) : undefined;
  const large = parts.includes('d') ? await benchLarge() : undefined;
  return { recon, ...firstAndLive, large };
}

const verdict = (ok: boolean): string => (ok ? '**met**' : '**missed**');
const mb = (bytes: number): string => `${fmt(bytes / 1e6, 0)} MB`;

export function reportSync(s: Partial<SyncBench>): string[] {
  const lines = ['| Figure | Tendril sync | Beside | Target | Verdict |', '|---|---:|---:|---|---|'];
  if (s.recon) lines.push(...reportRecon(s.recon));
  if (s.first && s.live) lines.push(...reportFirst(s.first, s.live));
  if (s.large) lines.push(...reportLarge(s.large));
  if (s.recon) lines.push('', reconNote(s.recon));
  return lines;
}

function reportRecon(r: SyncBench['recon']): string[] {
  return [
    `| (a) reconcile 100,000 bundles differing by 10: round trips | **${r.roundTrips}** (${r.messages} messages) | Rhizome Direct: ${r.direct.roundTrips} (${r.direct.enquiries} enquiries + a fetch per bundle) | ≤ 4 | ${verdict(r.roundTrips <= 4)} |`,
    `| (a) bytes on the wire, both ways (HTTP, HELLO, reconciliation, the 10 bundles) | **${fmt(r.wireBytes)} B** | Rhizome Direct: ${fmt(r.direct.requestBytes)} B of enquiries alone | < 20,000 B | ${verdict(r.wireBytes < 20_000)} |`,
    `| (a) same stores again (a repair with nothing to do) | ${r.identical.messages} messages, ${fmt(r.identical.wireBytes)} B | | | |`,
  ];
}

function reportFirst(first: SyncBench['first'], live: SyncBench['live']): string[] {
  const s = { first, live };
  return [
    `| (b) first sync of 10,000 × 1 KiB into an empty node | **${fmt(s.first.perSecond)} bundles/s** (${fmt(s.first.ms / 1000, 1)} s) | insert: ${fmt(s.first.insert.requestsPerSecond)}/s → ratio **${fmt(s.first.perSecond / s.first.insert.requestsPerSecond, 2)}** | ≥ 0.5 | ${verdict(s.first.perSecond >= 0.5 * s.first.insert.requestsPerSecond)} |`,
    `| (c) live propagation, 100 inserts: p50 / p99 (max) from the insert's 201 | **${fmt(s.live.p50Ms, 1)} / ${fmt(s.live.p99Ms, 1)} ms** (${fmt(s.live.maxMs, 1)}) | from the request: p99 ${fmt(s.live.fromRequestP99Ms, 1)} ms | p99 < 250 ms | ${verdict(s.live.p99Ms < 250)} |`,
    `| (e) peak RSS, receiving / sending node, during (b) | ${mb(s.first.rss[0]!)} / ${mb(s.first.rss[1]!)} | | < 200 MB | ${verdict(Math.max(...s.first.rss) < 200e6)} |`,
  ];
}

function reportLarge(large: SyncBench['large']): string[] {
  const s = { large };
  return [
    `| (d) one 256 MiB payload crossing | **${fmt(s.large.syncMBps)} MB/s** (${fmt(s.large.ms / 1000, 2)} s) | raw.bin: ${fmt(s.large.rawMBps)} MB/s (${s.large.rawRuns.map((x) => fmt(x)).join(', ')}) → ratio **${fmt(s.large.syncMBps / s.large.rawMBps, 2)}** | ≥ 0.5 | ${verdict(s.large.syncMBps >= 0.5 * s.large.rawMBps)} |`,
    `| (d) CPU time for the 256 MiB: receiving / sending node | ${fmt(s.large.cpu.receiver)} / ${fmt(s.large.cpu.sender)} ms | raw.bin: ${fmt(s.large.cpu.raw)} ms of the node | | |`,
    `| (e) peak RSS, receiving / sending node, during (d) | ${mb(s.large.rss[0]!)} / ${mb(s.large.rss[1]!)} | | < 200 MB | ${verdict(Math.max(...s.large.rss) < 200e6)} |`,
  ];
}

function reconNote(r: SyncBench['recon']): string {
  return `Reconciliation of (a) took ${fmt(r.ms)} ms from adding the peer to both stores holding ${fmt(r.bundles + 5)} bundles (the first session builds the node's fingerprint index from the store: one pass over 100,000 keys). Rhizome Direct's figures are computed from its protocol, not measured: ⌈${fmt(r.bundles + 5)} / 2,047⌉ = ${r.direct.enquiries} enquiries of 10 + 32·k bytes each, every one a new HTTP/1.0 connection, then a manifest and a payload request per bundle pulled.`;
}
