/**
 * RhizomeStore.keys(): the ids and versions sync reconciles, by id range, in id order, paged.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { insert, openTestStore, tempDir } from './rhizome-helpers.js';

describe('Rhizome store: keys for reconciliation', () => {
  it('lists ids and versions in id order within [from, before), paged by limit, newest version only', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir);
    try {
      const bids = Array.from({ length: 40 }, () => randomBytes(32));
      for (const bid of bids) await insert(store, { bid, version: 3n });
      // A newer version replaces its row; a version above 2^63 keeps its value.
      await insert(store, { bid: bids[0]!, version: (1n << 63n) + 5n });
      const sorted = [...bids].sort((a, b) => a.compare(b));
      const all = await store.keys(Buffer.alloc(0), undefined, 1000);
      assert.deepEqual(all.map((k) => k.bid), sorted);
      assert.equal(all.find((k) => k.bid.equals(bids[0]!))!.version, (1n << 63n) + 5n);
      assert.ok(all.filter((k) => !k.bid.equals(bids[0]!)).every((k) => k.version === 3n));

      // A range [from, before) and paging after the last id returned.
      const from = sorted[10]!;
      const before = sorted[30]!;
      const pages: Buffer[] = [];
      let next = from;
      for (;;) {
        const page = await store.keys(next, before, 7);
        pages.push(...page.map((k) => k.bid));
        if (page.length < 7) break;
        next = Buffer.concat([page.at(-1)!.bid, Buffer.of(0)]); // just after the last id
      }
      assert.deepEqual(pages, sorted.slice(10, 30));
      assert.deepEqual(await store.keys(Buffer.alloc(32, 0xff), undefined, 10), []);
    } finally {
      store.close();
      cleanup();
    }
  });
});
