/**
 * The shared suite, payloads: the writer (order, copies, abort), one payload shared by several
 * bundles and removed with its last reference, exact ranges at every chunk and page edge, and
 * the hash check that fails a whole read of damaged bytes before the consumer has them all.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isTendrilError } from '../../../src/errors.js';
import type { FinishedPayload, RhizomeStore } from '../../../src/store/rhizome/types.js';
import { all, drain, insert, makeBundle, readAll, sha512, writePayload } from '../rhizome-helpers.js';
import { freshStore, type StoreFactory, type StoreLocation } from './factory.js';

const MAX_BLOB = 8192;

export function payloadTests(factory: StoreFactory): void {
  const name = (what: string): string => `Rhizome store (${factory.backend}): ${what}`;

  describe(name('payload writer'), () => {
    let store: RhizomeStore;
    let location: StoreLocation;
    let close: () => Promise<void>;
    before(async () => ({ store, location, close } = await freshStore(factory, { maxBlobSize: MAX_BLOB })));
    after(() => close());

    it('hashes what it was given, in order, even when writes are not awaited', async () => {
      const bytes = randomBytes(100_000);
      const writer = store.createPayloadWriter();
      const writes = [];
      for (let off = 0; off < bytes.length; off += 3000) writes.push(writer.write(bytes.subarray(off, off + 3000)));
      await Promise.all(writes);
      assert.equal(writer.length, bytes.length);
      const finished = await writer.finish();
      assert.deepEqual(finished, { hash: sha512(bytes), length: bytes.length });
      assert.equal(await writer.finish(), finished, 'finish() is idempotent');
      const outcome = await store.commit(makeBundle({ payload: bytes }), finished);
      assert.deepEqual(await readAll((await store.readPayload(outcome.bundle.filehash!))!), bytes);
      await writer.abort(); // after commit: a no-op that must not delete the stored payload
      assert.deepEqual(await readAll((await store.readPayload(outcome.bundle.filehash!))!), bytes);
    });

    it('copies what it is given, so the caller may reuse its buffer', async () => {
      for (const size of [10, MAX_BLOB + 10]) {
        const buffer = Buffer.alloc(size, 1);
        const writer = store.createPayloadWriter();
        await writer.write(buffer);
        buffer.fill(2);
        await writer.write(buffer);
        const finished = await writer.finish();
        const expected = Buffer.concat([Buffer.alloc(size, 1), Buffer.alloc(size, 2)]);
        assert.deepEqual(finished.hash, sha512(expected));
        await store.commit(makeBundle({ payload: expected }), finished);
        assert.deepEqual(await readAll((await store.readPayload(finished.hash))!), expected);
      }
    });

    it('an aborted writer refuses writes; an aborted finished one cannot be committed', async () => {
      const writer = store.createPayloadWriter();
      const bytes = randomBytes(20_000);
      await writer.write(bytes);
      const finished: FinishedPayload = await writer.finish();
      await writer.abort();
      await assert.rejects(writer.write(Buffer.from('x')), /aborted/);
      await assert.rejects(store.commit(makeBundle({ payload: bytes }), finished), /not held/);
      assert.ok(!(await location.heldPayloads()).includes(sha512(bytes).toString('hex')));
    });
  });

  describe(name('payloads shared by bundles'), () => {
    for (const [label, size] of [
      ['large', 200_000],
      ['small', 100],
    ] as const) {
      it(`two bundles share one ${label} payload; it goes only with the last reference`, async () => {
        const { store, location, close } = await freshStore(factory);
        try {
          const payload = randomBytes(size);
          const hex = sha512(payload).toString('hex');
          const copies = async (): Promise<number> => (await location.heldPayloads()).filter((h) => h === hex).length;
          const [x, y] = await Promise.all([insert(store, { payload }), insert(store, { payload })]);
          const third = await insert(store, { payload }); // a third, sequential
          assert.equal(await copies(), 1);
          assert.equal((await all(store.list({}, { order: 'desc' })))[0]!.bid.toString('hex'), third.bundle.bid.toString('hex'));
          await insert(store, { bid: x.bundle.bid, version: 2n, payload: randomBytes(10) });
          await insert(store, { bid: third.bundle.bid, version: 2n });
          assert.equal(await copies(), 1, 'still referenced by y');
          assert.equal(await store.payloadLength(sha512(payload)), size);
          await insert(store, { bid: y.bundle.bid, version: 2n, payload: randomBytes(10) });
          assert.equal(await copies(), 0);
          assert.equal(await store.payloadLength(sha512(payload)), undefined);
        } finally {
          await close();
        }
      });
    }

    it('commits a payload the store already holds by hash, and the same finished payload twice', async () => {
      const { store, location, close } = await freshStore(factory);
      try {
        const payload = randomBytes(5000);
        const finished = await writePayload(store, payload);
        await store.commit(makeBundle({ payload }), finished);
        assert.equal((await store.commit(makeBundle({ payload }), finished)).kind, 'new');
        assert.equal((await store.commit(makeBundle({ payload }), { kind: 'stored', hash: sha512(payload) })).kind, 'new');
        assert.deepEqual(await location.heldPayloads(), [sha512(payload).toString('hex')]);
      } finally {
        await close();
      }
    });

    it('an OLD or SAME commit leaves no payload behind', async () => {
      const { store, location, close } = await freshStore(factory);
      try {
        const bid = randomBytes(32);
        const kept = await insert(store, { bid, version: 5n, payload: randomBytes(3000) });
        const loser = randomBytes(4000);
        assert.equal((await insert(store, { bid, version: 4n, payload: loser })).kind, 'old');
        assert.equal((await insert(store, { bid, version: 5n, payload: loser })).kind, 'same');
        assert.equal(await store.payloadLength(sha512(loser)), undefined);
        assert.deepEqual(await location.heldPayloads(), [kept.bundle.filehash!.toString('hex')]);
      } finally {
        await close();
      }
    });

    it('reports whether a commit added its payload or found it held', async () => {
      const { store, close } = await freshStore(factory);
      try {
        const payload = randomBytes(3000);
        const [a, b] = await Promise.all([insert(store, { payload }), insert(store, { payload })]);
        assert.deepEqual([a.kind, b.kind], ['new', 'new']);
        const added = [a, b].map((o) => o.kind === 'new' && o.payloadAdded);
        assert.deepEqual(added.sort(), [false, true], 'one commit added it');
        const empty = await insert(store, {});
        assert.equal(empty.kind === 'new' && empty.payloadAdded, false);
      } finally {
        await close();
      }
    });
  });

  describe(name('reading ranges'), () => {
    let store: RhizomeStore;
    let location: StoreLocation;
    let close: () => Promise<void>;
    before(async () => ({ store, location, close } = await freshStore(factory, { maxBlobSize: MAX_BLOB })));
    after(() => close());

    // 64 KiB is the read chunk, 4 KiB the cipher page (spec §7.8).
    const edges = (length: number): number[] =>
      [...new Set([0, 1, 4095, 4096, 4097, 8191, 8192, 65535, 65536, 65537, 131072, 131073, length - 1, length].filter((e) => e >= 0 && e <= length))];

    for (const [label, length] of [
      ['a large payload', 3 * 65536 + 100],
      ['a small payload', MAX_BLOB],
    ] as const) {
      it(`returns exactly [start, end) of ${label}, at every edge`, async () => {
        const bytes = randomBytes(length);
        const { bundle } = await insert(store, { payload: bytes });
        const hash = bundle.filehash!;
        const points = edges(length);
        for (const start of points) {
          for (const end of points) {
            if (end < start) continue;
            const got = await readAll((await store.readPayload(hash, start, end))!);
            assert.ok(got.equals(bytes.subarray(start, end)), `[${start}, ${end})`);
          }
        }
        assert.deepEqual(await readAll((await store.readPayload(hash, 5))!), bytes.subarray(5));
        await assert.rejects(store.readPayload(hash, 10, 9), RangeError);
        await assert.rejects(store.readPayload(hash, 0, length + 1), RangeError);
      });
    }

    for (const [label, length] of [
      ['large', 200_000],
      ['small', 5000],
    ] as const) {
      it(`fails a whole read of a damaged ${label} payload before the consumer has it all; a range read still works`, async () => {
        const bytes = randomBytes(length);
        const { bundle } = await insert(store, { payload: bytes });
        await location.damagePayload(bundle.filehash!, length - 1);
        const whole = await drain((await store.readPayload(bundle.filehash!))!);
        assert.ok(isTendrilError(whole.error) && whole.error.code === 'RHIZOME_STORE_CORRUPT', String(whole.error));
        assert.ok(whole.bytes < length, 'the consumer never gets the complete body');
        // A range is not hash-checked (the hash covers the whole payload only).
        assert.equal((await readAll((await store.readPayload(bundle.filehash!, 0, 2000))!)).length, 2000);
      });
    }

    it('a stream destroyed early releases what it holds', async () => {
      const bytes = randomBytes(500_000);
      const { bundle } = await insert(store, { payload: bytes });
      const stream = (await store.readPayload(bundle.filehash!))!;
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      stream.destroy();
      await new Promise((resolve) => stream.once('close', resolve));
      assert.ok(stream.destroyed);
      // Whatever it held is released: the payload can still be read, and replaced.
      assert.equal((await readAll((await store.readPayload(bundle.filehash!))!)).length, bytes.length);
      assert.equal((await insert(store, { bid: bundle.bid, version: 2n })).kind, 'new');
    });

    it('a payload opened before it is replaced stays readable to its end', async () => {
      const bytes = randomBytes(300_000);
      const { bundle } = await insert(store, { payload: bytes });
      const stream = (await store.readPayload(bundle.filehash!))!;
      assert.equal((await insert(store, { bid: bundle.bid, version: 2n })).kind, 'new');
      assert.equal(await store.payloadLength(bundle.filehash!), undefined);
      assert.deepEqual(await readAll(stream), bytes);
    });
  });
}
