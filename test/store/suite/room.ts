/**
 * The shared suite, store limits, ranking and eviction (spec §7.10) with a controlled clock,
 * database_size limits and (on a local disk) an overridden free-space measurement.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RhizomeStore, StoredBundle } from '../../../src/store/rhizome/types.js';
import { insert } from '../rhizome-helpers.js';
import type { StoreFactory, StoreLocation } from './factory.js';

const K = 1000;

interface Fixture {
  readonly location: StoreLocation;
  /** Bytes used by the store holding P1, P2, P3. */
  readonly used: number;
  readonly p1: StoredBundle;
  readonly p2: StoredBundle;
  readonly p3: StoredBundle;
}

/**
 * Three large payloads with ranks (inserttime − length):
 *   P1: 1 000 000 − 300 000 = 700 000   (evicted first)
 *   P3: 1 050 000 − 300 000 = 750 000
 *   P2: 1 250 000 − 100 000 = 1 150 000 (evicted last)
 */
async function fixture(factory: StoreFactory): Promise<Fixture> {
  const location = await factory.location();
  let clock = 0;
  const store = await location.open({ now: () => clock });
  clock = 1_000_000;
  const p1 = (await insert(store, { payload: randomBytes(300 * K) })).bundle;
  clock = 1_250_000;
  const p2 = (await insert(store, { payload: randomBytes(100 * K) })).bundle;
  clock = 1_050_000;
  const p3 = (await insert(store, { payload: randomBytes(300 * K) })).bundle;
  const used = await store.usedBytes();
  await store.close();
  return { location, used, p1, p2, p3 };
}

async function held(store: RhizomeStore, ...bundles: StoredBundle[]): Promise<boolean[]> {
  return Promise.all(bundles.map(async (b) => (await store.payloadLength(b.filehash!)) !== undefined));
}

export function roomTests(factory: StoreFactory): void {
  /** Runs `body` on a fresh fixture, closing whatever it opened. */
  const withFixture = (body: (f: Fixture, open: (o?: Parameters<StoreLocation['open']>[0]) => Promise<RhizomeStore>) => Promise<void>) => async () => {
    const f = await fixture(factory);
    const opened: RhizomeStore[] = [];
    try {
      await body(f, async (options) => {
        const store = await f.location.open(options);
        opened.push(store);
        return store;
      });
    } finally {
      for (const store of opened) await store.close();
      await f.location.cleanup();
    }
  };

  describe(`Rhizome store (${factory.backend}): makeRoom (spec §7.10)`, () => {
    it('without limits there is always room', withFixture(async (f, open) => {
      const store = await open();
      assert.equal(store.limited(), false);
      assert.equal(await store.makeRoom(Number.MAX_SAFE_INTEGER), 'ok');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [true, true, true]);
    }));

    it('too big: a payload at or above the limit, with nothing evicted', withFixture(async (f, open) => {
      const store = await open({ databaseSize: BigInt(f.used + 50 * K), now: () => 10_000_000 });
      assert.equal(store.limited(), true);
      assert.equal(await store.makeRoom(f.used + 50 * K), 'too-big');
      assert.equal(await store.makeRoom(f.used + 60 * K), 'too-big');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [true, true, true]);
      assert.equal(await store.makeRoom(50 * K), 'ok', 'fits without eviction');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [true, true, true]);
    }));

    it('evicts in ascending rank (older and larger first), only as much as needed', withFixture(async (f, open) => {
      const store = await open({ databaseSize: BigInt(f.used + 50 * K), now: () => 10_000_000 });
      assert.equal(await store.makeRoom(200 * K), 'ok');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [false, true, true]);
      assert.equal(await store.makeRoom(500 * K), 'ok');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [false, true, false]);
      // Manifests stay; their payload is simply no longer held.
      assert.deepEqual(await store.get(f.p1.bid), f.p1);
      assert.equal(await store.readPayload(f.p1.filehash!), undefined);
      assert.deepEqual(await f.location.heldPayloads(), [f.p2.filehash!.toString('hex')]);
    }));

    it('evicted: stops when the next candidate outranks the new payload', withFixture(async (f, open) => {
      let clock = 1_000_000;
      const store = await open({ databaseSize: BigInt(f.used), now: () => clock });
      // New rank 1 000 000 − 60 000 − 400 000 = 540 000 < P1's 700 000: nothing may go.
      assert.equal(await store.makeRoom(400 * K), 'evicted');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [true, true, true]);
      // New rank 1 150 000 − 60 000 − 350 000 = 740 000: P1 (700 000) goes, P3 (750 000) stays.
      clock = 1_150_000;
      assert.equal(await store.makeRoom(350 * K), 'evicted');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [false, true, true]);
    }));

    it('makeRoom(0) trims an over-full store back under its limit, rank order regardless', withFixture(async (f, open) => {
      const store = await open({ databaseSize: BigInt(f.used - 350 * K), now: () => 0 });
      assert.equal(await store.makeRoom(0), 'ok');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [false, true, false]);
    }));

    it('usedBytes() follows every commit and eviction', withFixture(async (f, open) => {
      const store = await open({ databaseSize: BigInt(f.used + 60 * K), now: () => 10 ** 13 });
      assert.equal(await store.usedBytes(), f.used);
      await insert(store, { payload: randomBytes(40 * K) });
      const after = await store.usedBytes();
      assert.ok(after >= f.used + 40 * K, `${after} after ${f.used}`);
      assert.equal(await store.makeRoom(100 * K), 'ok');
      assert.ok((await store.usedBytes()) <= after - 300 * K, 'the evicted payload is no longer counted');
    }));

    if (!factory.localDisk) return;

    it('min_free_space: free space above it sets no limit; below it, the limit shrinks', withFixture(async (f, open) => {
      // One store open at a time: a second opener would sweep the first one's temporary files.
      let store = await f.location.open({ minFreeSpace: 1_000_000n, freeSpaceOverride: 2_000_000, now: () => 10_000_000 });
      assert.equal(await store.makeRoom(10 ** 12), 'ok');
      await store.close();
      // limit = max(0, used + 0 − (used + 1)) = 0 here: everything is too big.
      store = await f.location.open({ minFreeSpace: BigInt(f.used + 1), freeSpaceOverride: 0, now: () => 10_000_000 });
      assert.equal(await store.makeRoom(1), 'too-big');
      await store.close();
      // limit = used + 900 000 − 1 000 000 = used − 100 000: P1 must go to make room for 100 000.
      store = await open({ minFreeSpace: 1_000_000n, freeSpaceOverride: 900_000, now: () => 10_000_000 });
      assert.equal(await store.makeRoom(100 * K), 'ok');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [false, true, true]);
    }));

    it("counts a live writer's temporary bytes as free space", withFixture(async (f, open) => {
      const store = await open({ minFreeSpace: 1_000_000n, freeSpaceOverride: 800_000, now: () => 10_000_000 });
      const writer = store.createPayloadWriter();
      await writer.write(randomBytes(300 * K)); // free space measured 800 000 + 300 000 in tmp/
      assert.equal(await store.makeRoom(300 * K), 'ok');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [true, true, true]);
      await writer.abort();
      assert.equal(await store.makeRoom(100 * K), 'ok');
      assert.deepEqual(await held(store, f.p1, f.p2, f.p3), [false, true, true], 'without it the limit is used − 200 000');
    }));
  });
}
