/**
 * The shared suite, a large payload: 256 MiB written through the store's writer and read back
 * whole (hash-checked), with the process's RSS sampled throughout: memory must stay far below the
 * payload size, since both directions stream. No timing assertions; the throughput is reported as
 * a diagnostic.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { makeBundle } from '../rhizome-helpers.js';
import { freshStore, type StoreFactory } from './factory.js';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;

export function largeTests(factory: StoreFactory): void {
  describe(`Rhizome store (${factory.backend}): large payloads`, () => {
    it('writes and reads 256 MiB with bounded memory', { timeout: 120_000 }, async (t) => {
      const { store, close } = await freshStore(factory, { maxBlobSize: 128 * 1024 });
      try {
        const chunk = randomBytes(MiB);
        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sample = (): void => {
          peak = Math.max(peak, process.memoryUsage().rss);
        };

        const hash = createHash('sha512');
        const writer = store.createPayloadWriter();
        let started = performance.now();
        for (let i = 0; i < SIZE / MiB; i++) {
          chunk.writeUInt32BE(i, 0); // every MiB different; the buffer is reused once write() resolves
          hash.update(chunk);
          await writer.write(chunk);
          if (i % 16 === 0) sample();
        }
        const finished = await writer.finish();
        const filehash = hash.digest();
        assert.deepEqual(finished.hash, filehash);
        const bundle = { ...makeBundle(), filesize: BigInt(SIZE), filehash };
        assert.equal((await store.commit(bundle, finished)).kind, 'new');
        const writeSeconds = (performance.now() - started) / 1000;
        sample();

        started = performance.now();
        const check = createHash('sha512');
        let received = 0;
        let chunks = 0;
        for await (const part of (await store.readPayload(filehash))!) {
          check.update(part as Buffer);
          received += (part as Buffer).length;
          if (++chunks % 256 === 0) sample();
        }
        const readSeconds = (performance.now() - started) / 1000;
        sample();
        assert.equal(received, SIZE);
        assert.deepEqual(check.digest(), filehash);

        const growth = peak - baseline;
        t.diagnostic(`write+fsync+commit ${(SIZE / MiB / writeSeconds).toFixed(0)} MB/s, read+verify ${(SIZE / MiB / readSeconds).toFixed(0)} MB/s`);
        t.diagnostic(`RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak growth ${(growth / MiB).toFixed(1)} MiB`);
        // Writing stays flat; reading leaves some 35 MiB of 64 KiB chunks awaiting GC, the same for
        // 256 MiB as for 1 GiB. Anything near the payload size would mean buffering.
        assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB for a ${SIZE / MiB} MiB payload`);
      } finally {
        await close();
      }
    });
  });
}
