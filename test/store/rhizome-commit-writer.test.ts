/**
 * The SQLite store's commit writer (a worker thread with its own connection): close() leaves no
 * connection of the writer open. (That a commit under way when close() comes is finished, and
 * that usedBytes()/makeRoom() see every commit although they no longer measure the database on
 * every call, the shared suite checks for every backend.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { insert, openTestStore, tempDir } from './rhizome-helpers.js';

describe('Rhizome store: commit writer', () => {
  it('close() returns once the writer has closed its connection: the WAL is gone', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const store = await openTestStore(dir);
      await Promise.all(Array.from({ length: 20 }, () => insert(store, { payload: randomBytes(100) })));
      await store.close();
      // The last connection to close checkpoints and removes the WAL; a writer still open would
      // keep it (and could write to the file after close() returned).
      assert.deepEqual(readdirSync(join(dir, 'rhizome')).filter((n) => n.startsWith('rhizome.db-')), []);
      const db = new Database(join(dir, 'rhizome', 'rhizome.db'));
      assert.equal(Number((db.prepare('SELECT count(*) AS n FROM manifests').get() as { n: number }).n), 20);
      db.close();
    } finally {
      cleanup();
    }
  });
});
