/**
 * Payload bytes in and out of the Rhizome store: the writer's switch from memory to a temporary
 * file, abort, exact ranges at every chunk and page edge, and the hash check that fails a whole
 * read of damaged bytes before the consumer has the complete body.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isTendrilError } from '../../src/errors.js';
import type { FinishedPayload, RhizomeStore } from '../../src/store/rhizome/types.js';
import { insert, makeBundle, openTestStore, readAll, sha512, tempDir } from './rhizome-helpers.js';

const MAX_BLOB = 8192;

/** Reads a stream to its end or failure; returns the bytes received and the error, if any. */
async function drain(stream: Readable): Promise<{ bytes: number; error: unknown }> {
  let bytes = 0;
  try {
    for await (const part of stream) bytes += (part as Buffer).length;
    return { bytes, error: undefined };
  } catch (error) {
    return { bytes, error };
  }
}

describe('Rhizome store: payload writer', () => {
  const { dir, cleanup } = tempDir();
  const tmp = join(dir, 'rhizome', 'tmp');
  let store: RhizomeStore;
  before(() => {
    store = openTestStore(dir, { maxBlobSize: MAX_BLOB });
  });
  after(() => {
    store.close();
    cleanup();
  });

  it('keeps up to max_blob_size in memory, then moves to a temporary file', async () => {
    const writer = store.createPayloadWriter();
    await writer.write(randomBytes(MAX_BLOB));
    assert.deepEqual(readdirSync(tmp), []);
    await writer.write(randomBytes(1));
    assert.equal(readdirSync(tmp).length, 1);
    assert.equal(writer.length, MAX_BLOB + 1);
    await writer.abort();
    assert.deepEqual(readdirSync(tmp), []);
    await assert.rejects(writer.write(Buffer.from('x')), /aborted/);
  });

  it('hashes what it was given, in order, even when writes are not awaited', async () => {
    const bytes = randomBytes(100_000);
    const writer = store.createPayloadWriter();
    const writes = [];
    for (let off = 0; off < bytes.length; off += 3000) writes.push(writer.write(bytes.subarray(off, off + 3000)));
    await Promise.all(writes);
    const finished = await writer.finish();
    assert.deepEqual(finished, { hash: sha512(bytes), length: bytes.length });
    assert.equal(await writer.finish(), finished, 'finish() is idempotent');
    const outcome = await store.commit(makeBundle({ payload: bytes }), finished);
    assert.deepEqual(await readAll(store.readPayload(outcome.bundle.filehash!)!), bytes);
    assert.deepEqual(readdirSync(tmp), [], 'the temporary file became the payload file');
    await writer.abort(); // after commit: a no-op that must not delete the stored payload
    assert.deepEqual(await readAll(store.readPayload(outcome.bundle.filehash!)!), bytes);
  });

  it('copies small chunks, so the caller may reuse its buffer', async () => {
    const buffer = Buffer.alloc(10, 1);
    const writer = store.createPayloadWriter();
    await writer.write(buffer);
    buffer.fill(2);
    await writer.write(buffer);
    const finished = await writer.finish();
    const expected = Buffer.concat([Buffer.alloc(10, 1), Buffer.alloc(10, 2)]);
    assert.deepEqual(finished.hash, sha512(expected));
    await store.commit(makeBundle({ payload: expected }), finished);
    assert.deepEqual(await readAll(store.readPayload(finished.hash)!), expected);
  });

  it('an aborted finished writer cannot be committed', async () => {
    const writer = store.createPayloadWriter();
    const bytes = randomBytes(20_000);
    await writer.write(bytes);
    const finished: FinishedPayload = await writer.finish();
    await writer.abort();
    assert.deepEqual(readdirSync(tmp), []);
    await assert.rejects(store.commit(makeBundle({ payload: bytes }), finished), /not held/);
  });
});

describe('Rhizome store: reading ranges', () => {
  const { dir, cleanup } = tempDir();
  let store: RhizomeStore;
  before(() => {
    store = openTestStore(dir, { maxBlobSize: MAX_BLOB });
  });
  after(() => {
    store.close();
    cleanup();
  });

  // 64 KiB is the read chunk, 4 KiB the cipher page (spec §7.8).
  const edges = (length: number): number[] =>
    [...new Set([0, 1, 4095, 4096, 4097, 8191, 8192, 65535, 65536, 65537, 131072, 131073, length - 1, length].filter((e) => e >= 0 && e <= length))];

  for (const [label, length] of [
    ['a file payload', 3 * 65536 + 100],
    ['an inline payload', MAX_BLOB],
  ] as const) {
    it(`returns exactly [start, end) of ${label}, at every edge`, async () => {
      const bytes = randomBytes(length);
      const { bundle } = await insert(store, { payload: bytes });
      const hash = bundle.filehash!;
      const points = edges(length);
      for (const start of points) {
        for (const end of points) {
          if (end < start) continue;
          const got = await readAll(store.readPayload(hash, start, end)!);
          assert.ok(got.equals(bytes.subarray(start, end)), `[${start}, ${end})`);
        }
      }
      assert.deepEqual(await readAll(store.readPayload(hash, 5)!), bytes.subarray(5));
      assert.throws(() => store.readPayload(hash, 10, 9), RangeError);
      assert.throws(() => store.readPayload(hash, 0, length + 1), RangeError);
    });
  }

  it('fails a whole read of a damaged file before the last chunk, and a range read still works', async () => {
    const bytes = randomBytes(200_000);
    const { bundle } = await insert(store, { payload: bytes });
    const hex = bundle.filehash!.toString('hex');
    const file = join(dir, 'rhizome', 'payloads', hex.slice(0, 2), hex);
    const damaged = readFileSync(file);
    damaged[1000] = damaged[1000]! ^ 0xff;
    writeFileSync(file, damaged);

    const whole = await drain(store.readPayload(bundle.filehash!)!);
    assert.ok(isTendrilError(whole.error) && whole.error.code === 'RHIZOME_STORE_CORRUPT', String(whole.error));
    assert.ok(whole.bytes < bytes.length, 'the consumer never gets the complete body');
    // A range is not hash-checked (the hash covers the whole payload only).
    assert.equal((await readAll(store.readPayload(bundle.filehash!, 0, 2000)!)).length, 2000);

    // A truncated file fails any read that reaches past its end.
    writeFileSync(file, damaged.subarray(0, 150_000));
    const truncated = await drain(store.readPayload(bundle.filehash!, 100_000, 160_000)!);
    assert.ok(isTendrilError(truncated.error) && truncated.error.code === 'RHIZOME_STORE_CORRUPT');
  });

  it('fails a whole read of a damaged inline payload', async () => {
    const bytes = randomBytes(5000);
    const { bundle } = await insert(store, { payload: bytes });
    const db = new Database(join(dir, 'rhizome', 'rhizome.db'));
    const damaged = Buffer.from(bytes);
    damaged[4999] = damaged[4999]! ^ 1;
    db.prepare('UPDATE payloads SET data = ? WHERE hash = ?').run(damaged, bundle.filehash);
    db.close();
    const whole = await drain(store.readPayload(bundle.filehash!)!);
    assert.ok(isTendrilError(whole.error) && whole.error.code === 'RHIZOME_STORE_CORRUPT');
    assert.equal(whole.bytes, 0, 'a single-chunk payload is held back entirely');
  });

  it('a stream destroyed early releases its file', async () => {
    const bytes = randomBytes(500_000);
    const { bundle } = await insert(store, { payload: bytes });
    const stream = store.readPayload(bundle.filehash!)!;
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    assert.ok(stream.destroyed);
  });
});
