/**
 * The shared suite, Rhizome Direct's queries: the walk by size bin and BID (barsInRange), which
 * must answer as a plain filter of everything would, a dense bin and sparse ones alike, window
 * after window; and the manifest by BID prefix (findByBidPrefix).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BarQuery, NewBundle, RhizomeStore } from '../../../src/store/rhizome/types.js';
import { makeBundle, writePayload } from '../rhizome-helpers.js';
import { freshStore, type StoreFactory } from './factory.js';

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

const show = (q: BarQuery): string =>
  JSON.stringify({ ...q, bidLow: q.bidLow.toString('hex'), bidHigh: q.bidHigh.toString('hex') }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

export function directTests(factory: StoreFactory): void {
  describe(`Rhizome store (${factory.backend}): Rhizome Direct walk`, () => {
    let store: RhizomeStore;
    let close: () => Promise<void>;
    // 9,000 bundles of 0 to 1,024 bytes (a dense first bin) and 40 larger ones in sparse bins.
    const all: NewBundle[] = [];

    before(async () => {
      ({ store, close } = await freshStore(factory, { maxBlobSize: 1 << 20 }));
      const payloads = new Map<NewBundle, Buffer>();
      for (let i = 0; i < 9040; i++) {
        const size = i < 9000 ? i % 1025 : 1025 + (i - 9000) * 997;
        const payload = randomBytes(size);
        const b = makeBundle({ payload, version: BigInt(1 + (i % 7)) });
        payloads.set(b, payload);
        all.push(b);
      }
      for (let i = 0; i < all.length; i += 256) {
        await Promise.all(all.slice(i, i + 256).map(async (b) => store.commit(b, await writePayload(store, payloads.get(b)!))));
      }
    });
    after(() => close());

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
      for (const q of queries) assert.deepEqual(await got(store, q), expected(all, q), show(q));
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
}
