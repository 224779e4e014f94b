/**
 * What only the SQLite store has: its directory (owner-only, WAL), payloads inline up to
 * max_blob_size and files beyond, temporary files while writing, used bytes counted as pages plus
 * files, freed pages returned, and what start-up does with leftovers and with a damaged database.
 * The contract every backend shares is tested by the shared suite (rhizome-sqlite.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isTendrilError } from '../../src/errors.js';
import { drain, insert, openTestStore, payloadFiles, readAll, tempDir } from './rhizome-helpers.js';

const K = 1000;

describe('Rhizome store (sqlite): payloads inline and in files', () => {
  it('keeps up to max_blob_size in memory, then moves to a temporary file that becomes the payload file', async () => {
    const { dir, cleanup } = tempDir();
    const tmp = join(dir, 'rhizome', 'tmp');
    const store = await openTestStore(dir, { maxBlobSize: 8192 });
    try {
      const writer = store.createPayloadWriter();
      await writer.write(randomBytes(8192));
      assert.deepEqual(readdirSync(tmp), []);
      await writer.write(randomBytes(1));
      assert.equal(readdirSync(tmp).length, 1);
      await writer.abort();
      assert.deepEqual(readdirSync(tmp), []);

      const small = await insert(store, { payload: randomBytes(8192) });
      const large = await insert(store, { payload: randomBytes(8193) });
      assert.deepEqual(payloadFiles(join(dir, 'rhizome')), [large.bundle.filehash!.toString('hex')]);
      assert.ok(!payloadFiles(join(dir, 'rhizome')).includes(small.bundle.filehash!.toString('hex')));
      // Deduplicated temporary files go too.
      const payload = randomBytes(50_000);
      await Promise.all([insert(store, { payload }), insert(store, { payload }), insert(store, { payload })]);
      assert.deepEqual(readdirSync(tmp), []);
    } finally {
      await store.close();
      cleanup();
    }
  });

  it('a truncated payload file fails any read that reaches past its end', async () => {
    const { dir, cleanup } = tempDir();
    const store = await openTestStore(dir, { maxBlobSize: 8192 });
    try {
      const { bundle } = await insert(store, { payload: randomBytes(200_000) });
      const hex = bundle.filehash!.toString('hex');
      const file = join(dir, 'rhizome', 'payloads', hex.slice(0, 2), hex);
      writeFileSync(file, readFileSync(file).subarray(0, 150_000));
      const truncated = await drain((await store.readPayload(bundle.filehash!, 100_000, 160_000))!);
      assert.ok(isTendrilError(truncated.error) && truncated.error.code === 'RHIZOME_STORE_CORRUPT');
    } finally {
      await store.close();
      cleanup();
    }
  });
});

describe('Rhizome store (sqlite): space', () => {
  it('counts used bytes as database pages in use plus payload files', async () => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    const store = await openTestStore(dir);
    try {
      for (const size of [300, 100, 300]) await insert(store, { payload: randomBytes(size * K) });
      const files = payloadFiles(storeDir).reduce((sum, name) => sum + statSync(join(storeDir, 'payloads', name.slice(0, 2), name)).size, 0);
      assert.equal(files, 700 * K);
      const db = new Database(join(storeDir, 'rhizome.db'), { readonly: true });
      const pages = Number(db.pragma('page_size', { simple: true })) * (Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true })));
      db.close();
      assert.equal(await store.usedBytes(), pages + files);
    } finally {
      await store.close();
      cleanup();
    }
  });

  it('returns freed database pages to the filesystem off the request path', async () => {
    const { dir, cleanup } = tempDir();
    const store = await openTestStore(dir, { maxBlobSize: 100 * K, databaseSize: 10n ** 12n });
    const bundles = await Promise.all(Array.from({ length: 40 }, () => insert(store, { payload: randomBytes(50 * K) })));
    const raw = new Database(join(dir, 'rhizome', 'rhizome.db'), { readonly: true });
    const pages = (): number[] => [Number(raw.pragma('page_count', { simple: true })), Number(raw.pragma('freelist_count', { simple: true }))];
    const [fullPages] = pages();
    await Promise.all(bundles.map((o) => insert(store, { bid: o.bundle.bid, version: 2n })));
    const [, freeAfterDelete] = pages();
    assert.ok(freeAfterDelete! > fullPages! / 2, 'the replaced inline payloads freed their pages');
    await new Promise((resolve) => setImmediate(resolve));
    const [pageCount, freeCount] = pages();
    assert.equal(freeCount, 0);
    assert.ok(pageCount! < fullPages! / 4);
    raw.close();
    await store.close();
    cleanup();
  });
});

describe('Rhizome store (sqlite): opening', () => {
  it('creates an owner-only directory with payloads/ and tmp/, in WAL mode', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await (await openTestStore(dir)).close();
      const storeDir = join(dir, 'rhizome');
      const db = new Database(join(storeDir, 'rhizome.db'), { readonly: true });
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), 2);
      db.close();
      assert.equal(statSync(storeDir).mode & 0o777, 0o700);
      assert.ok(existsSync(join(storeDir, 'payloads', 'ff')));
      assert.ok(existsSync(join(storeDir, 'tmp')));
    } finally {
      cleanup();
    }
  });

  it('sweeps leftovers: temporary files, unreferenced payload files and rows, lost payload files', async () => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    try {
      let store = await openTestStore(dir);
      const kept = await insert(store, { payload: randomBytes(3000) });
      const lost = await insert(store, { payload: randomBytes(3000) });
      await store.close();
      writeFileSync(join(storeDir, 'tmp', 'abc.part'), 'half a payload');
      const orphan = randomBytes(64);
      writeFileSync(join(storeDir, 'payloads', orphan.toString('hex', 0, 1), orphan.toString('hex')), 'orphan');
      writeFileSync(join(storeDir, 'payloads', '00', 'junk'), 'junk');
      const db = new Database(join(storeDir, 'rhizome.db'));
      db.prepare('INSERT INTO payloads (hash, length, inserttime, data) VALUES (?, 3, 0, ?)').run(randomBytes(64), Buffer.from('abc'));
      db.close();
      const lostHex = lost.bundle.filehash!.toString('hex');
      writeFileSync(join(storeDir, 'payloads', lostHex.slice(0, 2), lostHex), 'truncated');

      store = await openTestStore(dir);
      assert.deepEqual(readdirSync(join(storeDir, 'tmp')), []);
      assert.deepEqual(payloadFiles(storeDir), [kept.bundle.filehash!.toString('hex')]);
      assert.equal(await store.payloadLength(lost.bundle.filehash!), undefined);
      assert.ok(await store.get(lost.bundle.bid), 'the manifest stays, like after an eviction');
      assert.equal((await readAll((await store.readPayload(kept.bundle.filehash!))!)).length, 3000);
      await store.close();
      const check = new Database(join(storeDir, 'rhizome.db'), { readonly: true });
      assert.deepEqual(check.prepare('SELECT count(*) AS n FROM payloads').get(), { n: 1 });
      check.close();
    } finally {
      cleanup();
    }
  });

  it('refuses a damaged database with RHIZOME_STORE_CORRUPT and leaves it as it was', async () => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    const dbFile = join(storeDir, 'rhizome.db');
    const isCorrupt = (err: unknown): boolean => isTendrilError(err) && err.code === 'RHIZOME_STORE_CORRUPT';
    try {
      const store = await openTestStore(dir);
      await Promise.all(Array.from({ length: 200 }, () => insert(store, { payload: randomBytes(900), name: 'x'.repeat(500) })));
      await store.close();
      // Damage every page but the first (the header and schema root survive).
      const bytes = readFileSync(dbFile);
      for (let off = 4096; off < bytes.length; off += 4096) randomBytes(4096).copy(bytes, off);
      writeFileSync(dbFile, bytes);
      await assert.rejects(openTestStore(dir), isCorrupt);
      assert.deepEqual(readFileSync(dbFile), bytes);

      writeFileSync(dbFile, 'this is not a database, and it must not be replaced by an empty one');
      await assert.rejects(openTestStore(dir), isCorrupt);
      assert.match(readFileSync(dbFile, 'utf8'), /^this is not a database/);
    } finally {
      cleanup();
    }
  });
});

describe('Rhizome store (sqlite): the Rhizome Direct index on a store made before it', () => {
  it('is added when the store is opened (schema 1 → 2), and the walk works', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const old = await openTestStore(dir);
      const outcome = await insert(old, { payload: Buffer.from('old store') });
      await old.close();
      const file = join(dir, 'rhizome', 'rhizome.db');
      const db = new Database(file);
      db.exec('DROP INDEX manifests_filesize_bid');
      db.pragma('user_version = 1');
      db.close();
      const store = await openTestStore(dir);
      const rows = await store.barsInRange({ sizeLow: 0n, sizeHigh: 1024n, bidLow: Buffer.alloc(32), bidHigh: Buffer.alloc(32, 0xff), limit: 10 });
      assert.deepEqual(
        rows.map((r) => r.bid.toString('hex')),
        [outcome.bundle.bid.toString('hex')],
      );
      await store.close();
      const check = new Database(file, { readonly: true });
      assert.equal(check.pragma('user_version', { simple: true }), 2);
      assert.ok(check.prepare("SELECT 1 FROM sqlite_master WHERE name = 'manifests_filesize_bid'").get());
      check.close();
    } finally {
      cleanup();
    }
  });
});
