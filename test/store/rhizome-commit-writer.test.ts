/**
 * The store's commit writer (a worker thread with its own connection) and what the main thread
 * keeps between calls: a group already out when close() comes is finished and settled, close()
 * leaves no connection of the writer open, and usedBytes()/makeRoom() see every commit although
 * they no longer measure the database on every call.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { insert, makeBundle, openTestStore, sha512, tempDir, writePayload } from './rhizome-helpers.js';

describe('Rhizome store: commit writer', () => {
  it('close() lets a group already sent finish: its commit resolves and survives reopening', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const store = openTestStore(dir);
      const payload = randomBytes(5000);
      const bundle = makeBundle({ payload });
      const pending = store.commit(bundle, await writePayload(store, payload));
      await new Promise((resolve) => setImmediate(resolve)); // the group is sent on this turn
      store.close();
      const outcome = await pending;
      assert.equal(outcome.kind, 'new');
      const reopened = openTestStore(dir);
      assert.deepEqual(reopened.get(bundle.bid)?.filehash, sha512(payload));
      reopened.close();
    } finally {
      cleanup();
    }
  });

  it('close() returns once the writer has closed its connection: the WAL is gone', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const store = openTestStore(dir);
      await Promise.all(Array.from({ length: 20 }, () => insert(store, { payload: randomBytes(100) })));
      store.close();
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

  it('usedBytes() and makeRoom() follow every commit', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir, { maxBlobSize: 1024 });
    try {
      const before = store.usedBytes();
      await insert(store, { payload: randomBytes(200_000) }); // a payload file
      const afterFile = store.usedBytes();
      assert.ok(afterFile >= before + 200_000, `${afterFile} after ${before}`);
      await Promise.all(Array.from({ length: 50 }, () => insert(store, { payload: randomBytes(900) }))); // rows
      assert.ok(store.usedBytes() > afterFile);
      store.close();
      // A limit just above what is used: the next payload only fits by evicting.
      const limited = openTestStore(dir, { maxBlobSize: 1024, databaseSize: BigInt(afterFile + 60_000), now: () => 10 ** 13 });
      assert.equal(limited.limited(), true);
      assert.equal(limited.makeRoom(10_000), 'ok');
      const used = limited.usedBytes();
      await insert(limited, { payload: randomBytes(40_000) });
      assert.ok(limited.usedBytes() >= used + 40_000, 'the commit is counted at once');
      limited.close();
    } finally {
      cleanup();
    }
  });

  it('reports whether a commit added its payload or found it held', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir);
    try {
      const payload = randomBytes(3000);
      const [a, b] = await Promise.all([insert(store, { payload }), insert(store, { payload })]);
      assert.deepEqual([a.kind, b.kind], ['new', 'new']);
      const added = [a, b].map((o) => o.kind === 'new' && o.payloadAdded);
      assert.deepEqual(added.sort(), [false, true], 'one commit of the group added it');
      const empty = await insert(store, {});
      assert.equal(empty.kind === 'new' && empty.payloadAdded, false);
    } finally {
      store.close();
      cleanup();
    }
  });
});
