/**
 * The store's queries for Rhizome Direct: the walk by size bin and BID (barsInRange), through
 * either plan (a sparse bin read through the size index, a dense one through the BID index) with
 * the same answer as a plain filter of everything; the manifest by BID prefix (findByBidPrefix);
 * and the schema upgrade that adds the walk's index to a store made before it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, before, describe, it } from 'node:test';
import type { BarQuery, NewBundle, RhizomeStore } from '../../src/store/rhizome/types.js';
import { makeBundle, openTestStore, tempDir, writePayload } from './rhizome-helpers.js';

const ZERO = Buffer.alloc(32);
const MAX = Buffer.alloc(32, 0xff);

/** What barsInRange must answer: the same filter over every bundle, sorted by BID. */
function expected(all: readonly NewBundle[], q: BarQuery): string[] {
  return all
    .filter((b) => b.filesize >= q.sizeLow && b.filesize <= q.sizeHigh && Buffer.compare(b.bid, q.bidLow) >= 0 && Buffer.compare(b.bid, q.bidHigh) <= 0)
    .sort((a, b) => Buffer.compare(a.bid, b.bid))
    .slice(0, q.limit)
    .map((b) => `${b.bid.toString('hex')}:${b.version}:${b.filesize}`);
}

async function got(store: RhizomeStore, q: BarQuery): Promise<string[]> {
  return (await store.barsInRange(q)).map((e) => `${e.bid.toString('hex')}:${e.version}:${e.filesize}`);
}

async function commitAll(store: RhizomeStore, bundles: readonly NewBundle[], payloadOf: (b: NewBundle) => Buffer): Promise<void> {
  for (let i = 0; i < bundles.length; i += 256) {
    await Promise.all(bundles.slice(i, i + 256).map(async (b) => store.commit(b, await writePayload(store, payloadOf(b)))));
  }
}

describe('Rhizome store: Rhizome Direct walk', () => {
  const { dir, cleanup } = tempDir();
  let store: RhizomeStore;
  const payloads = new Map<string, Buffer>();
  // 9,000 bundles of 0 to 1,024 bytes (a dense first bin) and 40 larger ones in sparse bins.
  const all: NewBundle[] = [];

  before(async () => {
    store = openTestStore(dir, { maxBlobSize: 1 << 20 });
    for (let i = 0; i < 9040; i++) {
      const size = i < 9000 ? i % 1025 : 1025 + (i - 9000) * 997;
      const payload = randomBytes(size);
      const b = makeBundle({ payload, version: BigInt(1 + (i % 7)) });
      payloads.set(b.bid.toString('hex'), payload);
      all.push(b);
    }
    await commitAll(store, all, (b) => payloads.get(b.bid.toString('hex'))!);
  });
  after(() => {
    store.close();
    cleanup();
  });

  it('answers a dense bin in BID order, window after window, as a filter of everything would', async () => {
    let bidLow = ZERO;
    let windows = 0;
    for (;;) {
      const q = { sizeLow: 0n, sizeHigh: 1024n, bidLow, bidHigh: MAX, limit: 2047 };
      const rows = await got(store, q);
      assert.deepEqual(rows, expected(all, q));
      if (rows.length < 2047) break;
      const last = Buffer.from(rows.at(-1)!.split(':')[0]!, 'hex');
      bidLow = Buffer.from((BigInt(`0x${last.toString('hex')}`) + 1n).toString(16).padStart(64, '0'), 'hex');
      windows++;
    }
    assert.equal(windows, 4, '9,000 bundles: four full windows of 2,047 and a last one');
  });

  it('answers sparse bins, BID windows and limits', async () => {
    const mid = Buffer.alloc(32, 0x80);
    const queries: BarQuery[] = [
      { sizeLow: 1025n, sizeHigh: 2048n, bidLow: ZERO, bidHigh: MAX, limit: 4095 },
      { sizeLow: 2049n, sizeHigh: 65536n, bidLow: ZERO, bidHigh: MAX, limit: 4095 },
      { sizeLow: 2049n, sizeHigh: 65536n, bidLow: mid, bidHigh: MAX, limit: 3 },
      { sizeLow: 0n, sizeHigh: 1024n, bidLow: ZERO, bidHigh: mid, limit: 10 },
      { sizeLow: 0n, sizeHigh: 2n ** 200n, bidLow: mid, bidHigh: MAX, limit: 100 },
      { sizeLow: 2n ** 60n, sizeHigh: 2n ** 61n, bidLow: ZERO, bidHigh: MAX, limit: 100 },
      { sizeLow: 5n, sizeHigh: 4n, bidLow: ZERO, bidHigh: MAX, limit: 100 },
      { sizeLow: 0n, sizeHigh: 1024n, bidLow: MAX, bidHigh: ZERO, limit: 100 },
    ];
    for (const q of queries) assert.deepEqual(await got(store, q), expected(all, q), JSON.stringify({ ...q, bidLow: q.bidLow.toString('hex'), bidHigh: q.bidHigh.toString('hex') }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  });

  it('finds a bundle by BID prefix, the one stored first when several share it', async () => {
    const some = all[1234]!;
    for (const n of [32, 15, 4]) assert.ok((await store.findByBidPrefix(some.bid.subarray(0, n)))?.bid.equals(some.bid), `prefix of ${n}`);
    const first = all.filter((b) => b.bid[0] === 0x42)[0]!;
    assert.ok((await store.findByBidPrefix(Buffer.of(0x42)))?.bid.equals(first.bid));
    const absent = Buffer.from(some.bid);
    absent[14]! ^= 0xff;
    assert.equal(await store.findByBidPrefix(absent.subarray(0, 15)), undefined);
  });
});

describe('Rhizome store: the Rhizome Direct index on a store made before it', () => {
  it('is added when the store is opened (schema 1 → 2), and the walk works', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const before = openTestStore(dir);
      const b = makeBundle({ payload: Buffer.from('old store') });
      await before.commit(b, await writePayload(before, Buffer.from('old store')));
      before.close();
      const file = join(dir, 'rhizome', 'rhizome.db');
      const db = new Database(file);
      db.exec('DROP INDEX manifests_filesize_bid');
      db.pragma('user_version = 1');
      db.close();
      const store = openTestStore(dir);
      const rows = await store.barsInRange({ sizeLow: 0n, sizeHigh: 1024n, bidLow: ZERO, bidHigh: MAX, limit: 10 });
      assert.deepEqual(rows.map((r) => r.bid.toString('hex')), [b.bid.toString('hex')]);
      store.close();
      const check = new Database(file, { readonly: true });
      assert.equal(check.pragma('user_version', { simple: true }), 2);
      assert.ok(check.prepare("SELECT 1 FROM sqlite_master WHERE name = 'manifests_filesize_bid'").get());
      check.close();
    } finally {
      cleanup();
    }
  });
});
