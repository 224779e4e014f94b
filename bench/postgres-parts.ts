/**
 * Pieces of the PostgreSQL benchmark (bench/postgres.ts): a private durable server, nodes pointed
 * at one database, a bench-only bulk filler, and a 1 GiB transfer streamed both ways with the
 * node's RSS sampled meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import postgres from 'postgres';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres-server.js';
import { HARRY, makeInstance, startTendril, type Proc } from './harness.js';
import { agent, insertFrame, MB, MULTIPART } from './rhizome-client.js';

export interface Cluster {
  readonly server: PostgresServer;
  /** A new empty database; its URL (Unix socket, no password). */
  database(): Promise<string>;
  /** `count` nodes (instances of their own) on the database at `url`. */
  nodes(url: string, count: number): Promise<Array<Proc & { port: number; instance: string }>>;
  stop(): Promise<void>;
}

/** A private server with the defaults a production one has (fsync on), and nodes for it. */
export async function startCluster(): Promise<Cluster> {
  const server = await startPostgres({ durable: true });
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => undefined });
  const started: Array<Proc & { instance: string }> = [];
  let n = 0;
  return {
    server,
    async database() {
      const name = `bench_${n++}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      return server.socketUrl(name);
    },
    async nodes(url, count) {
      const out: Array<Proc & { port: number; instance: string }> = [];
      for (let i = 0; i < count; i++) {
        const instance = await makeInstance({ 'rhizome.store.url': url, 'rhizome.store.backend': 'postgres', 'log.level': 'warn', 'api.restful.newsince_timeout': '10m' });
        const node = { ...(await startTendril(instance)), instance };
        started.push(node);
        out.push(node);
      }
      return out;
    },
    async stop() {
      for (const node of started) await node.stop();
      await admin.end({ timeout: 1 });
      await server.destroy();
    },
  };
}

/**
 * Bench only: `count` rows straight into rhizome_manifests with one INSERT … SELECT (ids from the
 * store's sequence, the usage counter kept right), so that lists and inserts can be timed against
 * a store of a million bundles without signing a million manifests first. The rows are empty
 * bundles with made-up ids and manifest bytes: the store never parses them, lists show them.
 */
export async function bulkFill(url: string, count: number): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  const started = performance.now();
  try {
    await sql.begin(async (tx) => {
      await tx`
        INSERT INTO rhizome_manifests (id, bid, version, inserttime, filesize, service, name, manifest)
        SELECT nextval('rhizome_rowid'), decode(md5('bulk' || i) || md5('fill' || i), 'hex'), int8send(1::bigint),
               (extract(epoch FROM now()) * 1000)::bigint, 0, 'file', 'bulk-' || i, convert_to('service=file' || chr(10) || 'name=bulk-' || i || chr(10), 'UTF8')
        FROM generate_series(1, ${count}::int) AS i`;
      await tx`UPDATE rhizome_usage SET bundles = bundles + ${count}`;
    });
    // A store that grew to a million bundles over time has been vacuumed along the way: without
    // this, autovacuum's first pass over the new rows (and the hint bits of their first readers)
    // would run during the timed inserts, on the same two cores.
    await sql`VACUUM (ANALYZE) rhizome_manifests`;
  } finally {
    await sql.end({ timeout: 1 });
  }
  return (performance.now() - started) / 1000;
}

/** Resident set size of `pid` now, MiB. */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** Runs `fn` sampling the RSS of `pid` every 50 ms; returns the result and the peak, MiB. */
async function withRss<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; peakMiB: number }> {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
  try {
    return { value: await fn(), peakMiB: Math.max(peak, rssMiB(pid)) };
  } finally {
    clearInterval(timer);
  }
}

export interface Transfer {
  readonly mbps: number;
  readonly peakRssMiB: number;
}

const PIECE = 1024 * 1024;

/** Inserts `size` bytes made 1 MiB at a time (never held whole) and downloads them again. */
export async function largeTransfer(port: number, pid: number, size: number): Promise<{ idleRssMiB: number; insert: Transfer; download: Transfer }> {
  const idleRssMiB = rssMiB(pid);
  const piece = randomBytes(PIECE);
  const { head, tail } = insertFrame('large-1g.bin');
  const sent = await withRss(pid, () =>
    new Promise<{ ms: number; bid: string }>((resolve, reject) => {
      const started = performance.now();
      const req = request(`http://127.0.0.1:${port}/restful/rhizome/insert`, {
        method: 'POST',
        agent,
        headers: { ...HARRY, 'Content-Type': MULTIPART, 'Content-Length': head.length + size + tail.length },
      }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 201 ? resolve({ ms: performance.now() - started, bid: String(res.headers['serval-rhizome-bundle-id']) }) : reject(new Error(`1 GiB insert: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      void (async () => {
        req.write(head);
        for (let at = 0; at < size; at += PIECE) {
          piece.writeUInt32BE(at / PIECE, 0); // every piece differs
          const n = Math.min(PIECE, size - at);
          if (!req.write(Buffer.from(piece.subarray(0, n)))) await new Promise((r) => req.once('drain', r));
        }
        req.end(tail);
      })();
    }),
  );
  const got = await withRss(pid, () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      request(`http://127.0.0.1:${port}/restful/rhizome/${sent.value.bid}/raw.bin`, { agent, headers: HARRY }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('error', reject);
        res.on('end', () => (bytes === size ? resolve(performance.now() - started) : reject(new Error(`raw.bin: ${bytes} of ${size} bytes`))));
      })
        .on('error', reject)
        .end();
    }),
  );
  return {
    idleRssMiB,
    insert: { mbps: size / MB / (sent.value.ms / 1000), peakRssMiB: sent.peakMiB },
    download: { mbps: size / MB / (got.value / 1000), peakRssMiB: got.peakMiB },
  };
}
