/**
 * Throughput of the Rhizome store on this machine (not part of the suite: run it by hand with
 * `node --import tsx test/store/rhizome-bench.ts`). Commits per second with small inline payloads,
 * one at a time and many at once (group commit), and MB/s for a large payload in and out.
 */
import { randomBytes } from 'node:crypto';
import { insert, makeBundle, openTestStore, tempDir } from './rhizome-helpers.js';

const MiB = 1024 * 1024;
const { dir, cleanup } = tempDir();
const store = await openTestStore(dir, { maxBlobSize: 128 * 1024 });

async function timed(label: string, count: number, unit: string, run: () => Promise<void>): Promise<void> {
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${label}: ${(count / seconds).toFixed(0)} ${unit}`);
}

try {
  await timed('sequential commits, 1 KiB inline payload', 500, 'commits/s', async () => {
    for (let i = 0; i < 500; i++) await insert(store, { payload: randomBytes(1024) });
  });
  await timed('sequential commits, no payload', 500, 'commits/s', async () => {
    for (let i = 0; i < 500; i++) await insert(store, {});
  });
  for (const parallel of [10, 100, 1000]) {
    const rounds = Math.max(1, 5000 / parallel);
    await timed(`${parallel} concurrent commits, 1 KiB inline payload`, rounds * parallel, 'commits/s', async () => {
      for (let r = 0; r < rounds; r++) await Promise.all(Array.from({ length: parallel }, () => insert(store, { payload: randomBytes(1024) })));
    });
  }
  await timed('100 concurrent commits, 200 KiB file payload', 100, 'commits/s', async () => {
    await Promise.all(Array.from({ length: 100 }, () => insert(store, { payload: randomBytes(200 * 1024) })));
  });
  const size = 512 * MiB;
  const chunk = randomBytes(MiB);
  let hash: Buffer | undefined;
  await timed('large payload write (1 MiB writes, fsync, commit)', size / MiB, 'MB/s', async () => {
    const writer = store.createPayloadWriter();
    for (let i = 0; i < size / MiB; i++) {
      chunk.writeUInt32BE(i, 0);
      await writer.write(chunk);
    }
    const finished = await writer.finish();
    hash = finished.hash;
    await store.commit({ ...makeBundle(), filesize: BigInt(size), filehash: finished.hash }, finished);
  });
  await timed('large payload read (whole, SHA-512 verified)', size / MiB, 'MB/s', async () => {
    for await (const part of (await store.readPayload(hash!))!) void part;
  });
} finally {
  await store.close();
  cleanup();
}
