/**
 * The shared suite, bundles: round trips, row ids and the UUID, versions (including concurrent
 * commits and versions above 2^63), commits that fail alone, close().
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RhizomeStore } from '../../../src/store/rhizome/types.js';
import { insert, makeBundle, readAll, rowids, sha512, writePayload } from '../rhizome-helpers.js';
import { freshStore, type StoreFactory } from './factory.js';

export function bundleTests(factory: StoreFactory): void {
  const name = (what: string): string => `Rhizome store (${factory.backend}): ${what}`;

  describe(name('round trip'), () => {
    let store: RhizomeStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await freshStore(factory, { maxBlobSize: 1024 })));
    after(() => close());

    for (const [label, size] of [
      ['empty', 0],
      ['small', 1000],
      ['at the inline limit', 1024],
      ['large', 300_000],
    ] as const) {
      it(`stores and returns a bundle with a ${label} payload`, async () => {
        const payload = randomBytes(size);
        const bundle = makeBundle({ payload, name: `p${size}`, sender: randomBytes(32), date: -5n, tail: undefined });
        const outcome = await store.commit(bundle, await writePayload(store, payload, 777));
        assert.equal(outcome.kind, 'new');
        const stored = (await store.get(bundle.bid))!;
        assert.deepEqual({ ...stored, rowid: 0, inserttime: 0 }, { ...bundle, rowid: 0, inserttime: 0 });
        assert.deepEqual(outcome.bundle, stored);
        if (size === 0) {
          assert.equal(stored.filehash, undefined);
          return;
        }
        assert.equal(await store.payloadLength(stored.filehash!), size);
        assert.deepEqual(await readAll((await store.readPayload(stored.filehash!))!), payload);
      });
    }

    it('keeps journal tails and 64-bit fields exactly', async () => {
      const bundle = makeBundle({ version: 2n ** 64n - 1n, tail: 2n ** 64n - 2n, date: -(2n ** 63n) });
      await store.commit(bundle, { kind: 'empty' });
      const stored = (await store.get(bundle.bid))!;
      assert.equal(stored.version, 2n ** 64n - 1n);
      assert.equal(stored.tail, 2n ** 64n - 2n);
      assert.equal(stored.date, -(2n ** 63n));
      const largest = makeBundle({ date: 2n ** 63n - 1n });
      await store.commit(largest, { kind: 'empty' });
      assert.equal((await store.get(largest.bid))!.date, 2n ** 63n - 1n);
    });

    it('answers undefined for what it does not hold', async () => {
      assert.equal(await store.get(randomBytes(32)), undefined);
      assert.equal(await store.payloadLength(randomBytes(64)), undefined);
      assert.equal(await store.readPayload(randomBytes(64)), undefined);
    });

    it('refuses a payload that does not match the bundle, before it can join a group', async () => {
      const payload = randomBytes(50);
      const finished = await writePayload(store, payload);
      await assert.rejects(store.commit(makeBundle({ payload: randomBytes(50) }), finished), RangeError);
      await assert.rejects(store.commit(makeBundle({ payload }), { kind: 'empty' }), RangeError);
      await assert.rejects(store.commit(makeBundle({ payload }), { kind: 'stored', hash: sha512(payload) }), /not held/);
      await assert.rejects(store.commit({ ...makeBundle(), bid: randomBytes(31) }, { kind: 'empty' }), RangeError);
      assert.equal((await store.commit(makeBundle({ payload }), finished)).kind, 'new');
    });
  });

  describe(name('row ids and UUID'), () => {
    it('row ids strictly increase, are never reused, and the UUID persists', async () => {
      const location = await factory.location();
      try {
        let store = await location.open();
        const uuid = store.uuid;
        assert.equal(uuid.length, 16);
        assert.equal(await store.lastRowid(), 0);
        assert.equal(await store.bundleCount(), 0);
        const bidA = randomBytes(32);
        const bidB = randomBytes(32);
        const a = (await insert(store, { bid: bidA })).bundle.rowid;
        const b = (await insert(store, { bid: bidB })).bundle.rowid;
        assert.ok(a >= 1 && b > a);
        // Replacing the highest row deletes it; a plain rowid table would hand out its id again.
        const b2 = (await insert(store, { bid: bidB, version: 2n })).bundle.rowid;
        assert.ok(b2 > b);
        assert.equal(await store.lastRowid(), b2);
        assert.equal(await store.bundleCount(), 2);
        await store.close();
        store = await location.open();
        assert.deepEqual(store.uuid, uuid);
        const b3 = (await insert(store, { bid: bidB, version: 3n })).bundle.rowid;
        const a2 = (await insert(store, { bid: bidA, version: 9n })).bundle.rowid;
        assert.ok(b3 > b2 && a2 > b3);
        assert.deepEqual(await rowids(store.list({}, { order: 'asc' })), [b3, a2]);
        await store.close();
      } finally {
        await location.cleanup();
      }
    });
  });

  describe(name('versions'), () => {
    let store: RhizomeStore;
    let close: () => Promise<void>;
    before(async () => ({ store, close } = await freshStore(factory)));
    after(() => close());

    it('higher replaces with a new row id, equal is SAME, lower is OLD', async () => {
      const bid = randomBytes(32);
      const first = await insert(store, { bid, version: 10n, payload: randomBytes(10) });
      const higher = await insert(store, { bid, version: 11n, payload: randomBytes(10) });
      assert.equal(higher.kind, 'new');
      assert.ok(higher.bundle.rowid > first.bundle.rowid);
      const same = await insert(store, { bid, version: 11n, payload: randomBytes(10) });
      assert.equal(same.kind, 'same');
      assert.deepEqual(same.bundle, higher.bundle);
      const lower = await insert(store, { bid, version: 3n, payload: randomBytes(10) });
      assert.equal(lower.kind, 'old');
      assert.deepEqual(lower.bundle, higher.bundle);
      assert.deepEqual(await store.get(bid), higher.bundle);
      assert.equal(await store.payloadLength(first.bundle.filehash!), undefined, 'the replaced payload is gone');
    });

    it('versions above 2^63 compare numerically', async () => {
      const bid = randomBytes(32);
      await insert(store, { bid, version: 2n ** 63n - 1n });
      assert.equal((await insert(store, { bid, version: 2n ** 63n + 5n })).kind, 'new');
      assert.equal((await insert(store, { bid, version: 2n ** 63n + 4n })).kind, 'old');
      assert.equal((await insert(store, { bid, version: 2n ** 63n })).kind, 'old');
      assert.equal((await insert(store, { bid, version: 2n ** 64n - 1n })).kind, 'new');
      assert.equal((await store.get(bid))!.version, 2n ** 64n - 1n);
    });

    it('50 concurrent commits of one bundle id end with the highest version stored', async () => {
      for (let round = 0; round < 5; round++) {
        const bid = randomBytes(32);
        const versions = Array.from({ length: 50 }, () => BigInt(1 + Math.floor(Math.random() * 2 ** 40)) * 2n ** 20n);
        const outcomes = await Promise.all(
          versions.map(async (version, i) => {
            // Spread the commits over several event-loop turns and payload kinds.
            await new Promise((resolve) => setTimeout(resolve, i % 7));
            return insert(store, { bid, version, payload: randomBytes(i % 3 === 0 ? 0 : i % 3 === 1 ? 100 : 5000) });
          }),
        );
        const highest = versions.reduce((a, b) => (a > b ? a : b));
        const stored = (await store.get(bid))!;
        assert.equal(stored.version, highest);
        assert.ok(outcomes.every((o) => o.bundle.version <= highest));
        assert.equal((await rowids(store.list({}, { order: 'asc' }))).filter((id) => id === stored.rowid).length, 1);
      }
    });
  });

  describe(name('commits that fail, and close()'), () => {
    it('a commit that fails is refused alone; a replaced version is kept', async () => {
      const { store, location, close } = await freshStore(factory);
      try {
        const bid = randomBytes(32);
        await insert(store, { bid, version: 1n });
        const payload = randomBytes(3000);
        await insert(store, { payload });
        const doomed = store.commit(makeBundle({ bid, version: 2n, payload }), { kind: 'stored', hash: sha512(payload) });
        const bystander = store.commit(makeBundle(), { kind: 'empty' });
        // Before the commit runs, the payload disappears behind the store's back.
        await location.dropPayload(sha512(payload));
        await assert.rejects(doomed, /no longer held/);
        assert.equal((await bystander).kind, 'new');
        assert.equal((await store.get(bid))!.version, 1n, 'the replaced version is back');
      } finally {
        await close();
      }
    });

    it('close() refuses commits still queued and any later one', async () => {
      const location = await factory.location();
      const store = await location.open();
      const pending = store.commit(makeBundle(), { kind: 'empty' });
      const closing = store.close();
      await assert.rejects(pending, /closed/);
      await closing;
      await assert.rejects(store.commit(makeBundle(), { kind: 'empty' }), /closed/);
      await location.cleanup();
    });

    it('close() lets a commit already under way finish: it resolves and survives reopening', async () => {
      const location = await factory.location();
      try {
        const store = await location.open();
        const payload = randomBytes(5000);
        const bundle = makeBundle({ payload });
        const pending = store.commit(bundle, await writePayload(store, payload));
        await new Promise((resolve) => setImmediate(resolve)); // the commit is sent on this turn
        const closing = store.close();
        const outcome = await pending;
        await closing;
        assert.equal(outcome.kind, 'new');
        const reopened = await location.open();
        assert.deepEqual((await reopened.get(bundle.bid))?.filehash, sha512(payload));
        await reopened.close();
      } finally {
        await location.cleanup();
      }
    });
  });
}
