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
  /** Stops `node` and starts its instance again (a new process and port). */
  restart(node: Proc & { instance: string }): Promise<Proc & { port: number; instance: string }>;
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
    async restart(node) {
      await node.stop();
      started.splice(started.indexOf(node), 1);
      const again = { ...(await startTendril(node.instance)), instance: node.instance };
      started.push(again);
      return again;
    },
    async stop() {
      for (const node of started) await node.stop();
      await admin.end({ timeout: 1 });
      await server.destroy();
    },
  };
}

/**
 * Bench only: `count` bundles written straight into the store's tables with INSERT … SELECT (ids
 * from the store's sequence, the usage counter kept right), so that lists and inserts can be timed
 * against a store of a million bundles without signing a million manifests first. The rows are
 * shaped like a mesh's store, so that every index a commit touches is as large and as random as
 * there: distinct BIDs; 40 % files (names, sizes 1 B–8 KiB, half of them with an author and
 * sender), 40 % MeshMS2 conversations and 20 % MeshMB1 feeds (journals: tail, sender, recipient
 * for MeshMS2, payloads of 64 B–1 KiB) among 10,007 identities; 3 % of the files empty; versions
 * and dates in milliseconds; a payload row for every non-empty bundle (distinct hashes; the bytes
 * are filler, nothing reads them); manifest text with every field a real one has, and 97 bytes of
 * signature block (about 330–520 bytes). Nothing parses or verifies these rows; lists show them.
 */
export async function bulkFill(url: string, count: number): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  const started = performance.now();
  try {
    await sql.begin(async (tx) => {
      const [{ last } = { last: '0' }] = await tx<Array<{ last: string }>>`SELECT COALESCE(max(id), 0)::text AS last FROM rhizome_manifests`;
      await tx`
        INSERT INTO rhizome_manifests (id, bid, version, inserttime, filesize, filehash, tail, service, name, sender, recipient, date, author, manifest)
        SELECT nextval('rhizome_rowid'), bid, int8send(version), inserttime, filesize, filehash, int8send(tail), service, name, sender, recipient, date, author,
               convert_to(concat_ws(chr(10),
                 'id=' || upper(encode(bid, 'hex')), 'version=' || version, 'filesize=' || filesize,
                 'filehash=' || upper(encode(filehash, 'hex')), 'tail=' || tail, 'service=' || service, 'name=' || name,
                 'sender=' || upper(encode(sender, 'hex')), 'recipient=' || upper(encode(recipient, 'hex')),
                 'crypt=' || CASE WHEN service = 'MeshMS2' THEN 1 END, 'date=' || date) || chr(10), 'UTF8')
                 || decode('00' || '17' || repeat(md5('signature' || i), 4) || md5('key' || i) || md5('key-' || i), 'hex')
        FROM (
          SELECT i, bid, kind, filesize, CASE WHEN filesize > 0 THEN filehash END AS filehash, inserttime, date,
                 CASE WHEN kind = 'file' THEN date ELSE tail + filesize END AS version,
                 CASE WHEN kind = 'file' THEN NULL ELSE tail END AS tail,
                 kind AS service,
                 CASE kind WHEN 'file' THEN 'file-' || i || (ARRAY['.txt', '.jpg', '.pdf', '.apk'])[1 + i % 4] WHEN 'MeshMB1' THEN 'feed-' || (i % 10007) END AS name,
                 CASE WHEN kind <> 'file' OR i % 2 = 0 THEN decode(md5('sid' || (i % 10007)) || md5('sid-' || (i % 10007)), 'hex') END AS sender,
                 CASE WHEN kind = 'MeshMS2' THEN decode(md5('sid' || ((i * 31 + 7) % 10007)) || md5('sid-' || ((i * 31 + 7) % 10007)), 'hex') END AS recipient,
                 CASE WHEN kind <> 'file' OR i % 2 = 0 THEN decode(md5('sid' || (i % 10007)) || md5('sid-' || (i % 10007)), 'hex') END AS author
          FROM (
            SELECT i, decode(md5('bulk' || i) || md5('fill' || i), 'hex') AS bid,
                   CASE WHEN i % 5 < 2 THEN 'file' WHEN i % 5 < 4 THEN 'MeshMS2' ELSE 'MeshMB1' END AS kind,
                   CASE WHEN i % 5 < 2 THEN CASE WHEN i % 33 = 0 THEN 0 ELSE 1 + (hashint4(i) & 8191) END ELSE 64 + (hashint4(-i) & 1023) END AS filesize,
                   sha512(int8send(i)) AS filehash,
                   ((hashint4(i + 1) & 65535) * 37)::bigint AS tail,
                   now_ms - (${count}::bigint - i) * 1000 AS inserttime,
                   now_ms - (${count}::bigint - i) * 1000 - (hashint4(i + 2) & 4095) AS date
            FROM generate_series(1, ${count}::int) AS i, (SELECT (extract(epoch FROM now()) * 1000)::bigint AS now_ms) AS clock
          ) AS base
        ) AS row
        ORDER BY i`;
      await tx`
        INSERT INTO rhizome_payloads (hash, length, inserttime, data)
        SELECT filehash, filesize, inserttime, substring(decode(repeat(md5(encode(filehash, 'hex')), (filesize / 16 + 1)::int), 'hex') FOR filesize::int)
        FROM rhizome_manifests WHERE id > ${last}::bigint AND filehash IS NOT NULL`;
      await tx`
        UPDATE rhizome_usage SET bundles = bundles + ${count},
          bytes = bytes + (SELECT sum(length(manifest)) + sum(filesize) FROM rhizome_manifests WHERE id > ${last}::bigint)`;
    });
    // A store that grew to a million bundles over time has been vacuumed and checkpointed along
    // the way: without this, autovacuum's first pass over the new rows (and the hint bits of their
    // first readers) and the checkpoint of everything just written would run during the timed
    // inserts, on the same two cores and disk.
    await sql`VACUUM (ANALYZE) rhizome_manifests, rhizome_payloads`;
    await sql`CHECKPOINT`;
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
