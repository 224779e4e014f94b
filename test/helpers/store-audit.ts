/**
 * Test support for crash tests: what a Rhizome store must look like after a SIGKILL, on disk as
 * the kill left it and through the restarted node's API. The store's rule (src/store/rhizome/
 * recovery.ts) is that files are written before the transaction that names them and deleted after
 * the one that stops naming them, so at every moment each payload row has its whole file; only
 * extra files (tmp/, unnamed payload files) may be left, and the restart removes them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request, type Reply } from './node.js';

export const sha512Hex = (b: Buffer): string => createHash('sha512').update(b).digest('hex').toUpperCase();

/** A bundle as its 201 acknowledged it. */
export interface AckedBundle {
  readonly version: bigint;
  /** The signed manifest of the 201. */
  readonly signed: Buffer;
  /** The acknowledged payload: a later version (a journal grown by appends) must still start with it. */
  readonly payload?: { readonly length: number; readonly sha512: string };
}

/** One row of bundlelist.json, the columns the audits use. */
export interface ListedBundle {
  readonly id: number;
  readonly version: bigint;
  readonly filesize: number;
  readonly filehash: string | null;
}

/** The database exactly as the kill left it, before a node has recovered anything. */
export function auditStoreAsKilled(storeDir: string): void {
  const db = new Database(join(storeDir, 'rhizome.db'));
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    assert.equal(
      count('SELECT count(*) AS n FROM manifests WHERE filesize > 0 AND filehash NOT IN (SELECT hash FROM payloads)'),
      0,
      'no manifest without its payload row, even before recovery',
    );
    // The commit path removes a payload row in the transaction that stops naming it.
    assert.equal(
      count('SELECT count(*) AS n FROM payloads WHERE NOT EXISTS (SELECT 1 FROM manifests WHERE filehash = payloads.hash)'),
      0,
      'no payload row that no manifest names, even before recovery',
    );
    // Recovery would quietly drop a row whose file is missing (as after damage from outside), so
    // that case is caught here, where nothing has hidden it yet.
    const external = db.prepare('SELECT hash, length FROM payloads WHERE data IS NULL').all() as Array<{ hash: Buffer; length: number }>;
    for (const { hash, length } of external) {
      const name = hash.toString('hex');
      const stats = statSync(join(storeDir, 'payloads', name.slice(0, 2), name), { throwIfNoEntry: false });
      assert.equal(stats?.size, length, `payload ${name.slice(0, 16)}…: its file is there, whole, before recovery`);
    }
  } finally {
    db.close();
  }
}

export interface RestartAudit {
  /** Every listed bundle by BID. */
  readonly bundles: ReadonlyMap<string, ListedBundle>;
  /** The highest row id listed: payloads up to it have been read back. */
  readonly maxId: number;
}

/**
 * The checks after a restart: every listed bundle's raw.bin is there and hashes to its filehash,
 * tmp/ is empty, integrity_check is ok and payloads/ holds exactly the files the database names.
 * Payloads of rows up to `verifiedUpTo` were read back after an earlier restart and are skipped
 * (row ids only grow, and a new version gets a new one). Run it before any request that writes.
 */
export async function auditStoreAfterRestart(port: number, storeDir: string, verifiedUpTo = 0): Promise<RestartAudit> {
  const get = (path: string): Promise<Reply> => request(port, 'GET', path);
  const list = (await get('/restful/rhizome/bundlelist.json')).json<{ header: string[]; rows: unknown[][] }>();
  const col = (name: string): number => list.header.indexOf(name);
  const bundles = new Map<string, ListedBundle>();
  for (const row of list.rows) {
    const bid = row[col('id')] as string;
    assert.equal(bundles.has(bid), false, `bundle ${bid} listed once`);
    bundles.set(bid, {
      id: row[col('_id')] as number,
      version: BigInt(row[col('version')] as number),
      filesize: row[col('filesize')] as number,
      filehash: row[col('filehash')] as string | null,
    });
  }
  for (const [bid, b] of bundles) {
    if (b.id <= verifiedUpTo) continue;
    const raw = await get(`/restful/rhizome/${bid}/raw.bin`);
    assert.equal(raw.status, 200, `bundle ${bid}: payload present`);
    assert.equal(raw.body.length, b.filesize, `bundle ${bid}: whole payload`);
    assert.equal(sha512Hex(raw.body), b.filehash, `bundle ${bid}: payload intact`);
  }
  auditStoreFiles(storeDir);
  return { bundles, maxId: Math.max(0, ...[...bundles.values()].map((b) => b.id)) };
}

/** The files of a store a node has recovered: tmp/ empty, integrity_check ok, payloads/ exactly the files the database names. */
export function auditStoreFiles(storeDir: string): void {
  assert.deepEqual(readdirSync(join(storeDir, 'tmp')), [], 'tmp/ is empty');
  const db = new Database(join(storeDir, 'rhizome.db'), { readonly: true });
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    const named = (db.prepare('SELECT hash FROM payloads WHERE data IS NULL').all() as Array<{ hash: Buffer }>).map((r) => r.hash.toString('hex'));
    const files = readdirSync(join(storeDir, 'payloads')).flatMap((d) => readdirSync(join(storeDir, 'payloads', d)));
    assert.deepEqual(files.sort(), named.sort(), 'payloads/ holds exactly the files the database names');
  } finally {
    db.close();
  }
}

/**
 * Every acknowledged bundle is listed at its acknowledged version or a later one; at the same
 * version its .rhm is byte-identical to the 201's (so its payload is the one acknowledged: the
 * signed manifest names its hash); at a later one its payload still starts with the acknowledged
 * bytes. Returns how many bundles it checked.
 */
export async function checkAckedBundles(port: number, audit: RestartAudit, acked: ReadonlyMap<string, AckedBundle>): Promise<number> {
  for (const [bid, a] of acked) {
    const listed = audit.bundles.get(bid);
    assert.ok(listed, `bundle ${bid} got a 201 and is listed`);
    assert.ok(listed.version >= a.version, `bundle ${bid}: version ${listed.version} < acknowledged ${a.version}`);
    if (listed.version === a.version) {
      assert.deepEqual((await request(port, 'GET', `/restful/rhizome/${bid}.rhm`)).body, a.signed, `bundle ${bid}: the manifest of its 201`);
    } else if (a.payload) {
      const raw = await request(port, 'GET', `/restful/rhizome/${bid}/raw.bin`);
      assert.ok(raw.body.length >= a.payload.length, `bundle ${bid}: no shorter than acknowledged`);
      assert.equal(sha512Hex(raw.body.subarray(0, a.payload.length)), a.payload.sha512, `bundle ${bid}: starts with the acknowledged payload`);
    }
  }
  return acked.size;
}
