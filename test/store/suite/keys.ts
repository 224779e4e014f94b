/**
 * The shared suite, keys(): the ids and versions Tendril sync reconciles (src/services/sync), by
 * id range, in id order, paged, every manifest counted (also one whose payload was evicted).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { insert } from '../rhizome-helpers.js';
import { freshStore, type StoreFactory } from './factory.js';

export function keyTests(factory: StoreFactory): void {
  describe(`Rhizome store (${factory.backend}): keys for reconciliation`, () => {
    it('lists ids and versions in id order within [from, before), paged by limit, newest version only', async () => {
      const { store, close } = await freshStore(factory);
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

        // A range [from, before), paged after the last id returned.
        const pages: Buffer[] = [];
        let next = sorted[10]!;
        for (;;) {
          const page = await store.keys(next, sorted[30], 7);
          pages.push(...page.map((k) => k.bid));
          if (page.length < 7) break;
          next = Buffer.concat([page.at(-1)!.bid, Buffer.of(0)]); // just after the last id
        }
        assert.deepEqual(pages, sorted.slice(10, 30));
        assert.deepEqual(await store.keys(Buffer.alloc(32, 0xff), undefined, 10), []);
      } finally {
        await close();
      }
    });
  });
}
