/**
 * The shared suite, listings and what is told about bundles: filters, order, batches, writes in
 * the middle of a listing, subscribers, authors.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BundleFilter, ListedBundle, RhizomeStore } from '../../../src/store/rhizome/types.js';
import { all, insert, rowids } from '../rhizome-helpers.js';
import { freshStore, type StoreFactory } from './factory.js';

/** listKeys as one row id and author a row, checking that its batches are never empty. */
async function keysOf(store: RhizomeStore, filter: BundleFilter, order: 'asc' | 'desc', afterRowid?: number): Promise<Array<{ rowid: number; author: Buffer | undefined }>> {
  const out: Array<{ rowid: number; author: Buffer | undefined }> = [];
  for await (const { rowids, authors } of store.listKeys(filter, { order, afterRowid })) {
    assert.ok(rowids.length > 0, 'batches are never empty');
    for (const rowid of rowids) out.push({ rowid, author: authors.get(rowid) });
  }
  return out;
}

export function listingTests(factory: StoreFactory): void {
  const name = (what: string): string => `Rhizome store (${factory.backend}): ${what}`;

  describe(name('listings'), () => {
    let store: RhizomeStore;
    let close: () => Promise<void>;
    const alice = randomBytes(32);
    const bob = randomBytes(32);
    const ids: number[] = [];
    before(async () => {
      ({ store, close } = await freshStore(factory));
      const specs = [
        { service: 'file', name: 'Hello.txt', sender: alice },
        { service: 'MeshMS2', sender: alice, recipient: bob },
        { service: 'file', name: 'hello world', recipient: bob },
        { service: 'MeshMB1', sender: bob },
        { service: 'file', name: 'h_llo%', sender: bob, recipient: alice },
      ];
      for (const spec of specs) ids.push((await insert(store, spec)).bundle.rowid);
    });
    after(() => close());

    it('lists every bundle in either order, and after a row id', async () => {
      assert.deepEqual(await rowids(store.list({}, { order: 'asc' })), ids);
      assert.deepEqual(await rowids(store.list({}, { order: 'desc' })), [...ids].reverse());
      assert.deepEqual(await rowids(store.list({}, { order: 'asc', afterRowid: ids[1] })), ids.slice(2));
      assert.deepEqual(await rowids(store.list({}, { order: 'desc', afterRowid: ids[1] })), ids.slice(2).reverse());
      assert.deepEqual(await rowids(store.list({}, { order: 'asc', afterRowid: ids[4] })), []);
      assert.deepEqual(await rowids(store.listColumns({}, { order: 'desc' })), [...ids].reverse());
    });

    it('lists columns without the manifest, and whole bundles with it', async () => {
      const [column] = await all(store.listColumns({ sender: bob, recipient: alice }, { order: 'asc' }));
      const [whole] = await all(store.list({ sender: bob, recipient: alice }, { order: 'asc' }));
      assert.ok(column && whole);
      assert.equal('manifest' in column, false);
      const { manifest, ...columns } = whole;
      assert.ok(manifest.length > 0);
      assert.deepEqual(column, columns);
    });

    it('filters by service, sender and recipient, alone and together', async () => {
      assert.deepEqual(await rowids(store.list({ service: 'file' }, { order: 'asc' })), [ids[0], ids[2], ids[4]]);
      assert.deepEqual(await rowids(store.list({ service: 'FILE' }, { order: 'asc' })), []);
      assert.deepEqual(await rowids(store.list({ sender: alice }, { order: 'desc' })), [ids[1], ids[0]]);
      assert.deepEqual(await rowids(store.list({ recipient: bob }, { order: 'asc' })), [ids[1], ids[2]]);
      assert.deepEqual(await rowids(store.list({ service: 'file', sender: bob, recipient: alice }, { order: 'asc' })), [ids[4]]);
      assert.deepEqual(await rowids(store.list({ sender: bob }, { order: 'asc', afterRowid: ids[3] })), [ids[4]]);
    });

    it('matches name with SQL LIKE: ASCII case-insensitive, % and _ wildcards', async () => {
      const names = (pattern: string): Promise<number[]> => rowids(store.list({ name: pattern }, { order: 'asc' }));
      assert.deepEqual(await names('hello%'), [ids[0], ids[2]]);
      assert.deepEqual(await names('%.TXT'), [ids[0]]);
      assert.deepEqual(await names('h_llo.txt'), [ids[0]]);
      assert.deepEqual(await names('h_llo_'), [ids[4]]);
      assert.deepEqual(await names('hello'), []);
      assert.deepEqual(await names('%'), [ids[0], ids[2], ids[4]]);
    });

    it('lists row ids and authors alone (listKeys), and listed columns by row id', async () => {
      for (const [filter, order] of [[{}, 'asc'], [{}, 'desc'], [{ service: 'file' }, 'desc'], [{ sender: bob }, 'asc']] as const) {
        const columns = await all(store.listColumns(filter, { order }));
        assert.deepEqual(await keysOf(store, filter, order), columns.map((c) => ({ rowid: c.rowid, author: c.author })));
      }
      assert.deepEqual(await keysOf(store, {}, 'desc', ids[2]), [{ rowid: ids[4]!, author: undefined }, { rowid: ids[3]!, author: undefined }]);
      const columns = await all(store.listColumns({}, { order: 'asc' }));
      const wanted = [ids[3]!, ids[0]!, 10 ** 12];
      const byRowid = [...(await store.listedByRowid(wanted))].sort((a, b) => a.rowid - b.rowid);
      assert.deepEqual(byRowid, columns.filter((c) => wanted.includes(c.rowid)));
      assert.deepEqual(await store.listedByRowid([]), []);
    });

    it('finds the bundles that share a payload by its hash', async () => {
      const payload = randomBytes(2000);
      const a = await insert(store, { payload });
      const b = await insert(store, { payload });
      assert.deepEqual(await rowids(store.list({ filehash: a.bundle.filehash! }, { order: 'asc' })), [a.bundle.rowid, b.bundle.rowid]);
    });
  });

  describe(name('long listings'), () => {
    it('come in non-empty batches, and let commits run in between', async () => {
      const { store, close } = await freshStore(factory);
      try {
        await Promise.all(Array.from({ length: 700 }, () => insert(store, { service: 'x' })));
        const seen: number[] = [];
        let batches = 0;
        for await (const batch of store.list({ service: 'x' }, { order: 'desc' })) {
          assert.ok(batch.length > 0);
          batches++;
          for (const bundle of batch) seen.push(bundle.rowid);
          if (seen.length >= 300 && batches === 2) await insert(store, { service: 'x' }); // a write mid-listing
        }
        assert.ok(batches > 1, 'a long listing is read in several batches');
        assert.equal(seen.length, 700);
        assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
        assert.equal((await rowids(store.list({}, { order: 'asc' }))).length, 701);
        // A consumer that stops early lets the store go on (and close) normally.
        for await (const batch of store.list({}, { order: 'asc' })) if (batch.length > 0) break;
        assert.equal(await store.bundleCount(), 701);
      } finally {
        await close();
      }
    });
  });

  describe(name('subscribers and authors'), () => {
    it('tells subscribers about new bundles only, after they are stored', async () => {
      const { store, close } = await freshStore(factory);
      try {
        const heard: ListedBundle[] = [];
        const visible: Array<Promise<boolean>> = [];
        let heardThree: () => void = () => undefined;
        const three = new Promise<void>((resolve) => (heardThree = resolve));
        const unsubscribe = store.subscribe((bundle) => {
          visible.push(store.get(bundle.bid).then((stored) => stored?.rowid === bundle.rowid));
          heard.push(bundle);
          if (heard.length === 3) heardThree();
        });
        store.subscribe(() => {
          throw new Error('a faulty listener');
        });
        const bid = randomBytes(32);
        await insert(store, { bid, version: 2n });
        await insert(store, { bid, version: 1n });
        await insert(store, { bid, version: 2n });
        const [latest] = await Promise.all([insert(store, { bid, version: 3n }), insert(store, {})]);
        await three; // at once here; a store shared with other nodes may tell a little later
        assert.equal(heard.length, 3);
        assert.ok((await Promise.all(visible)).every(Boolean), 'visible when announced');
        const last = heard.find((b) => b.bid.equals(bid) && b.version === 3n);
        assert.equal(last?.rowid, latest.bundle.rowid);
        unsubscribe();
        await insert(store, {});
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(heard.length, 3);
      } finally {
        await close();
      }
    });

    it('records an author for the stored version only', async () => {
      const { store, close } = await freshStore(factory);
      try {
        const bid = randomBytes(32);
        const author = randomBytes(32);
        await insert(store, { bid, version: 7n });
        await store.setAuthor(bid, 6n, author);
        assert.equal((await store.get(bid))!.author, undefined);
        await store.setAuthor(bid, 7n, author);
        assert.deepEqual((await store.get(bid))!.author, author);
        await store.setAuthor(bid, 7n, author);
        await store.setAuthor(randomBytes(32), 1n, author);
        const [listed] = await all(store.listColumns({}, { order: 'asc' }));
        assert.deepEqual(listed?.author, author);
        assert.deepEqual(await keysOf(store, {}, 'asc'), [{ rowid: listed.rowid, author }]);
      } finally {
        await close();
      }
    });
  });
}
