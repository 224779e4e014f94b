/**
 * Another process holding the store's database: writes fail with RHIZOME_BUSY (423) after the
 * busy timeout, reads go on (WAL), nothing is half-stored, and the store works again once the
 * lock is released. The "other process" is a second connection opened here with better-sqlite3,
 * which SQLite locks exactly as it would another process.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isTendrilError } from '../../src/errors.js';
import { insert, makeBundle, openTestStore, payloadFiles, readAll, tempDir, writePayload } from './rhizome-helpers.js';

const isBusy = (err: unknown): boolean => isTendrilError(err) && err.code === 'RHIZOME_BUSY' && err.status === 423;

describe('Rhizome store: locked by another process', () => {
  it('answers RHIZOME_BUSY while locked and works again afterwards', async () => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    const store = await openTestStore(dir, { busyTimeoutMs: 50, databaseSize: 10n ** 9n });
    const other = new Database(join(storeDir, 'rhizome.db'));
    try {
      const before = await insert(store, { payload: randomBytes(3000) });

      other.exec('BEGIN EXCLUSIVE');
      const payload = randomBytes(50_000);
      const bundle = makeBundle({ payload });
      const finished = await writePayload(store, payload);
      await assert.rejects(store.commit(bundle, finished), isBusy);
      // Concurrent commits in the same group all get the same answer.
      const group = await Promise.allSettled([insert(store, {}), insert(store, { payload: randomBytes(10) })]);
      assert.ok(group.every((r) => r.status === 'rejected' && isBusy(r.reason)));
      await assert.rejects(store.setAuthor(before.bundle.bid, 1n, randomBytes(32)), isBusy);
      // Reads are not blocked in WAL mode.
      assert.deepEqual(await store.get(before.bundle.bid), before.bundle);
      assert.equal((await readAll((await store.readPayload(before.bundle.filehash!))!)).length, 3000);
      assert.equal(await store.makeRoom(10), 'ok');
      // Nothing of the refused commit is visible or left in payloads/.
      assert.equal(await store.get(bundle.bid), undefined);
      assert.deepEqual(payloadFiles(storeDir), [before.bundle.filehash!.toString('hex')]);
      other.exec('COMMIT');

      // The writer is untouched by the failed attempt: the same commit can be retried.
      const retried = await store.commit(bundle, finished);
      assert.equal(retried.kind, 'new');
      assert.deepEqual(await readAll((await store.readPayload(retried.bundle.filehash!))!), payload);
      assert.deepEqual(readdirSync(join(storeDir, 'tmp')), []);
      assert.equal((await insert(store, {})).kind, 'new');
    } finally {
      other.close();
      await store.close();
      cleanup();
    }
  });

  it('refuses to open with RHIZOME_BUSY while another process holds a new database', async () => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    mkdirSync(storeDir, { recursive: true });
    const other = new Database(join(storeDir, 'rhizome.db'));
    try {
      other.exec('BEGIN EXCLUSIVE'); // rollback-journal mode: even readers wait
      await assert.rejects(openTestStore(dir, { busyTimeoutMs: 20 }), isBusy);
      other.exec('ROLLBACK');
      await (await openTestStore(dir)).close();
    } finally {
      other.close();
      cleanup();
    }
  });
});
