/**
 * Store limits, ranking and eviction (spec §7.10) with a controlled clock, database_size limits
 * and an overridden free-space measurement.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { StoredBundle } from '../../src/store/rhizome/types.js';
import { insert, openTestStore, payloadFiles, tempDir } from './rhizome-helpers.js';

const K = 1000;

interface Fixture {
  readonly dir: string;
  readonly cleanup: () => void;
  /** Bytes used by the store holding P1, P2, P3. */
  readonly used: number;
  readonly p1: StoredBundle;
  readonly p2: StoredBundle;
  readonly p3: StoredBundle;
}

/**
 * Three file payloads with ranks (inserttime − length):
 *   P1: 1 000 000 − 300 000 = 700 000   (evicted first)
 *   P3: 1 050 000 − 300 000 = 750 000
 *   P2: 1 250 000 − 100 000 = 1 150 000 (evicted last)
 */
async function fixture(): Promise<Fixture> {
  const { dir, cleanup } = tempDir();
  let clock = 0;
  const store = openTestStore(dir, { now: () => clock });
  clock = 1_000_000;
  const p1 = (await insert(store, { payload: randomBytes(300 * K) })).bundle;
  clock = 1_250_000;
  const p2 = (await insert(store, { payload: randomBytes(100 * K) })).bundle;
  clock = 1_050_000;
  const p3 = (await insert(store, { payload: randomBytes(300 * K) })).bundle;
  const used = store.usedBytes();
  store.close();
  return { dir, cleanup, used, p1, p2, p3 };
}

function held(store: { payloadLength(hash: Buffer): number | undefined }, ...bundles: StoredBundle[]): boolean[] {
  return bundles.map((b) => store.payloadLength(b.filehash!) !== undefined);
}

describe('Rhizome store: makeRoom (spec §7.10)', () => {
  it('without limits there is always room', async () => {
    const f = await fixture();
    const store = openTestStore(f.dir);
    assert.equal(store.makeRoom(Number.MAX_SAFE_INTEGER), 'ok');
    store.close();
    f.cleanup();
  });

  it('counts used bytes as database pages in use plus payload files', async () => {
    const f = await fixture();
    const store = openTestStore(f.dir);
    const storeDir = join(f.dir, 'rhizome');
    const files = payloadFiles(storeDir).reduce((sum, name) => sum + statSync(join(storeDir, 'payloads', name.slice(0, 2), name)).size, 0);
    assert.equal(files, 700 * K);
    const db = new Database(join(storeDir, 'rhizome.db'), { readonly: true });
    const pages = Number(db.pragma('page_size', { simple: true })) * (Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true })));
    db.close();
    assert.equal(store.usedBytes(), pages + files);
    store.close();
    f.cleanup();
  });

  it('too big: a payload at or above the limit, with nothing evicted', async () => {
    const f = await fixture();
    const store = openTestStore(f.dir, { databaseSize: BigInt(f.used + 50 * K), now: () => 10_000_000 });
    assert.equal(store.makeRoom(f.used + 50 * K), 'too-big');
    assert.equal(store.makeRoom(f.used + 60 * K), 'too-big');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [true, true, true]);
    assert.equal(store.makeRoom(50 * K), 'ok', 'fits without eviction');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [true, true, true]);
    store.close();
    f.cleanup();
  });

  it('evicts in ascending rank (older and larger first), only as much as needed', async () => {
    const f = await fixture();
    const store = openTestStore(f.dir, { databaseSize: BigInt(f.used + 50 * K), now: () => 10_000_000 });
    assert.equal(store.makeRoom(200 * K), 'ok');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [false, true, true]);
    assert.equal(store.makeRoom(500 * K), 'ok');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [false, true, false]);
    // Manifests stay; their payload is simply no longer held.
    assert.deepEqual(store.get(f.p1.bid), f.p1);
    assert.equal(store.readPayload(f.p1.filehash!), undefined);
    assert.equal(payloadFiles(join(f.dir, 'rhizome')).length, 1);
    store.close();
    f.cleanup();
  });

  it('evicted: stops when the next candidate outranks the new payload', async () => {
    const f = await fixture();
    let clock = 1_000_000;
    const store = openTestStore(f.dir, { databaseSize: BigInt(f.used), now: () => clock });
    // New rank 1 000 000 − 60 000 − 400 000 = 540 000 < P1's 700 000: nothing may go.
    assert.equal(store.makeRoom(400 * K), 'evicted');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [true, true, true]);
    // New rank 1 150 000 − 60 000 − 350 000 = 740 000: P1 (700 000) goes, P3 (750 000) stays.
    clock = 1_150_000;
    assert.equal(store.makeRoom(350 * K), 'evicted');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [false, true, true]);
    store.close();
    f.cleanup();
  });

  it('min_free_space: free space above it sets no limit; below it, the limit shrinks', async () => {
    const f = await fixture();
    let store = openTestStore(f.dir, { minFreeSpace: 1_000_000n, freeSpaceOverride: 2_000_000, now: () => 10_000_000 });
    assert.equal(store.makeRoom(10 ** 12), 'ok');
    store.close();
    // limit = max(0, used + 0 − 1 000 000) = 0 here: everything is too big.
    store = openTestStore(f.dir, { minFreeSpace: BigInt(f.used + 1), freeSpaceOverride: 0, now: () => 10_000_000 });
    assert.equal(store.makeRoom(1), 'too-big');
    store.close();
    // limit = used + 900 000 − 1 000 000 = used − 100 000: P1 must go to make room for 100 000.
    store = openTestStore(f.dir, { minFreeSpace: 1_000_000n, freeSpaceOverride: 900_000, now: () => 10_000_000 });
    assert.equal(store.makeRoom(100 * K), 'ok');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [false, true, true]);
    store.close();
    f.cleanup();
  });

  it("counts a live writer's temporary file as free space", async () => {
    const f = await fixture();
    const store = openTestStore(f.dir, { minFreeSpace: 1_000_000n, freeSpaceOverride: 800_000, now: () => 10_000_000 });
    const writer = store.createPayloadWriter();
    await writer.write(randomBytes(300 * K)); // free space measured 800 000 + 300 000 in tmp/
    assert.equal(store.makeRoom(300 * K), 'ok');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [true, true, true]);
    await writer.abort();
    assert.equal(store.makeRoom(100 * K), 'ok');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [false, true, true], 'without it the limit is used − 200 000');
    store.close();
    f.cleanup();
  });

  it('makeRoom(0) trims an over-full store back under its limit, rank order regardless', async () => {
    const f = await fixture();
    const store = openTestStore(f.dir, { databaseSize: BigInt(f.used - 350 * K), now: () => 0 });
    assert.equal(store.makeRoom(0), 'ok');
    assert.deepEqual(held(store, f.p1, f.p2, f.p3), [false, true, false]);
    store.close();
    f.cleanup();
  });

  it('returns freed database pages to the filesystem off the request path', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir, { maxBlobSize: 100 * K, databaseSize: 10n ** 12n });
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
    store.close();
    cleanup();
  });
});
