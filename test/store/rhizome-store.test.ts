/**
 * The Rhizome store's bundles: round trips, listings and their filters, row ids, versions
 * (including concurrent commits and versions above 2^63), payload dedupe, subscribers, authors,
 * and what start-up does with leftovers and with a damaged database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isTendrilError } from '../../src/errors.js';
import type { RhizomeStore, StoredBundle } from '../../src/store/rhizome/types.js';
import { insert, makeBundle, openTestStore, payloadFiles, readAll, sha512, tempDir, writePayload } from './rhizome-helpers.js';

function rowids(bundles: Iterable<StoredBundle>): number[] {
  return [...bundles].map((b) => b.rowid);
}

describe('Rhizome store: round trip', () => {
  const { dir, cleanup } = tempDir();
  let store: RhizomeStore;
  before(() => {
    store = openTestStore(dir, { maxBlobSize: 1024 });
  });
  after(() => {
    store.close();
    cleanup();
  });

  for (const [label, size] of [
    ['empty', 0],
    ['small (inline)', 1000],
    ['at the inline limit', 1024],
    ['large (file)', 300_000],
  ] as const) {
    it(`stores and returns a bundle with a ${label} payload`, async () => {
      const payload = randomBytes(size);
      const bundle = makeBundle({ payload, name: `p${size}`, sender: randomBytes(32), date: -5n, tail: undefined });
      const outcome = await store.commit(bundle, await writePayload(store, payload, 777));
      assert.equal(outcome.kind, 'new');
      const stored = store.get(bundle.bid)!;
      assert.deepEqual({ ...stored, rowid: 0, inserttime: 0 }, { ...bundle, rowid: 0, inserttime: 0 });
      assert.deepEqual(outcome.bundle, stored);
      if (size === 0) {
        assert.equal(stored.filehash, undefined);
        return;
      }
      assert.equal(store.payloadLength(stored.filehash!), size);
      assert.deepEqual(await readAll(store.readPayload(stored.filehash!)!), payload);
      const files = payloadFiles(join(dir, 'rhizome'));
      assert.equal(files.includes(stored.filehash!.toString('hex')), size > 1024);
    });
  }

  it('keeps journal tails and 64-bit fields exactly', async () => {
    const bundle = makeBundle({ version: 2n ** 64n - 1n, tail: 2n ** 64n - 2n, date: -(2n ** 63n) });
    await store.commit(bundle, { kind: 'empty' });
    const stored = store.get(bundle.bid)!;
    assert.equal(stored.version, 2n ** 64n - 1n);
    assert.equal(stored.tail, 2n ** 64n - 2n);
    assert.equal(stored.date, -(2n ** 63n));
  });

  it('answers undefined for what it does not hold', () => {
    assert.equal(store.get(randomBytes(32)), undefined);
    assert.equal(store.payloadLength(randomBytes(64)), undefined);
    assert.equal(store.readPayload(randomBytes(64)), undefined);
  });

  it('refuses a payload that does not match the bundle, before it can join a group', async () => {
    const payload = randomBytes(50);
    const finished = await writePayload(store, payload);
    await assert.rejects(store.commit(makeBundle({ payload: randomBytes(50) }), finished), RangeError);
    await assert.rejects(store.commit(makeBundle({ payload }), { kind: 'empty' }), RangeError);
    await assert.rejects(store.commit(makeBundle({ payload }), { kind: 'stored', hash: sha512(payload) }), /not held/);
    await assert.rejects(store.commit({ ...makeBundle(), bid: randomBytes(31) }, { kind: 'empty' }), RangeError);
    assert.equal((await store.commit(makeBundle({ payload }), finished)).kind, 'new');
  });
});

describe('Rhizome store: listings', () => {
  const { dir, cleanup } = tempDir();
  let store: RhizomeStore;
  const alice = randomBytes(32);
  const bob = randomBytes(32);
  const ids: number[] = [];
  before(async () => {
    store = openTestStore(dir);
    const specs = [
      { service: 'file', name: 'Hello.txt', sender: alice },
      { service: 'MeshMS2', sender: alice, recipient: bob },
      { service: 'file', name: 'hello world', recipient: bob },
      { service: 'MeshMB1', sender: bob },
      { service: 'file', name: 'h_llo%', sender: bob, recipient: alice },
    ];
    for (const spec of specs) ids.push((await insert(store, spec)).bundle.rowid);
  });
  after(() => {
    store.close();
    cleanup();
  });

  it('lists every bundle in either order, and after a row id', () => {
    assert.deepEqual(rowids(store.list({}, { order: 'asc' })), ids);
    assert.deepEqual(rowids(store.list({}, { order: 'desc' })), [...ids].reverse());
    assert.deepEqual(rowids(store.list({}, { order: 'asc', afterRowid: ids[1] })), ids.slice(2));
    assert.deepEqual(rowids(store.list({}, { order: 'desc', afterRowid: ids[1] })), ids.slice(2).reverse());
    assert.deepEqual(rowids(store.list({}, { order: 'asc', afterRowid: ids[4] })), []);
  });

  it('filters by service, sender and recipient, alone and together', () => {
    assert.deepEqual(rowids(store.list({ service: 'file' }, { order: 'asc' })), [ids[0], ids[2], ids[4]]);
    assert.deepEqual(rowids(store.list({ service: 'FILE' }, { order: 'asc' })), []);
    assert.deepEqual(rowids(store.list({ sender: alice }, { order: 'desc' })), [ids[1], ids[0]]);
    assert.deepEqual(rowids(store.list({ recipient: bob }, { order: 'asc' })), [ids[1], ids[2]]);
    assert.deepEqual(rowids(store.list({ service: 'file', sender: bob, recipient: alice }, { order: 'asc' })), [ids[4]]);
    assert.deepEqual(rowids(store.list({ sender: bob }, { order: 'asc', afterRowid: ids[3] })), [ids[4]]);
  });

  it('matches name with SQL LIKE: ASCII case-insensitive, % and _ wildcards', () => {
    const names = (pattern: string): number[] => rowids(store.list({ name: pattern }, { order: 'asc' }));
    assert.deepEqual(names('hello%'), [ids[0], ids[2]]);
    assert.deepEqual(names('%.TXT'), [ids[0]]);
    assert.deepEqual(names('h_llo.txt'), [ids[0]]);
    assert.deepEqual(names('h_llo_'), [ids[4]]);
    assert.deepEqual(names('hello'), []);
    assert.deepEqual(names('%'), [ids[0], ids[2], ids[4]]);
  });

  it('pages through long listings and lets commits run in between', async () => {
    const { dir: dir2, cleanup: cleanup2 } = tempDir();
    const big = openTestStore(dir2);
    try {
      await Promise.all(Array.from({ length: 700 }, () => insert(big, { service: 'x' })));
      const seen: number[] = [];
      for (const bundle of big.list({ service: 'x' }, { order: 'desc' })) {
        seen.push(bundle.rowid);
        if (seen.length === 300) await insert(big, { service: 'x' }); // a write mid-listing
      }
      assert.equal(seen.length, 700);
      assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
      assert.equal(rowids(big.list({}, { order: 'asc' })).length, 701);
    } finally {
      big.close();
      cleanup2();
    }
  });
});

describe('Rhizome store: row ids and UUID', () => {
  it('row ids strictly increase, are never reused, and the UUID persists', async () => {
    const { dir, cleanup } = tempDir();
    try {
      let store = openTestStore(dir);
      const uuid = store.uuid;
      assert.equal(uuid.length, 16);
      assert.equal(store.lastRowid(), 0);
      const bidA = randomBytes(32);
      const bidB = randomBytes(32);
      assert.equal((await insert(store, { bid: bidA })).bundle.rowid, 1);
      assert.equal((await insert(store, { bid: bidB })).bundle.rowid, 2);
      // Replacing the highest row deletes it; a plain rowid table would hand out 2 again.
      assert.equal((await insert(store, { bid: bidB, version: 2n })).bundle.rowid, 3);
      assert.equal(store.lastRowid(), 3);
      store.close();
      store = openTestStore(dir);
      assert.deepEqual(store.uuid, uuid);
      assert.equal((await insert(store, { bid: bidB, version: 3n })).bundle.rowid, 4);
      assert.equal((await insert(store, { bid: bidA, version: 9n })).bundle.rowid, 5);
      assert.deepEqual(rowids(store.list({}, { order: 'asc' })), [4, 5]);
      store.close();
    } finally {
      cleanup();
    }
  });
});

describe('Rhizome store: versions', () => {
  const { dir, cleanup } = tempDir();
  let store: RhizomeStore;
  before(() => {
    store = openTestStore(dir);
  });
  after(() => {
    store.close();
    cleanup();
  });

  it('higher replaces with a new row id, equal is SAME, lower is OLD', async () => {
    const bid = randomBytes(32);
    const first = await insert(store, { bid, version: 10n, payload: randomBytes(10) });
    const higher = await insert(store, { bid, version: 11n, payload: randomBytes(10) });
    assert.equal(higher.kind, 'new');
    assert.ok(higher.bundle.rowid > first.bundle.rowid);
    const same = await insert(store, { bid, version: 11n, payload: randomBytes(10) });
    assert.equal(same.kind, 'same');
    assert.deepEqual(same.bundle, higher.bundle);
    const lower = await insert(store, { bid, version: 3n, payload: randomBytes(10) });
    assert.equal(lower.kind, 'old');
    assert.deepEqual(lower.bundle, higher.bundle);
    assert.deepEqual(store.get(bid), higher.bundle);
    assert.equal(store.payloadLength(first.bundle.filehash!), undefined, 'the replaced payload is gone');
  });

  it('versions above 2^63 compare numerically', async () => {
    const bid = randomBytes(32);
    await insert(store, { bid, version: 2n ** 63n - 1n });
    assert.equal((await insert(store, { bid, version: 2n ** 63n + 5n })).kind, 'new');
    assert.equal((await insert(store, { bid, version: 2n ** 63n + 4n })).kind, 'old');
    assert.equal((await insert(store, { bid, version: 2n ** 63n })).kind, 'old');
    assert.equal((await insert(store, { bid, version: 2n ** 64n - 1n })).kind, 'new');
    assert.equal(store.get(bid)!.version, 2n ** 64n - 1n);
  });

  it('50 concurrent commits of one bundle id end with the highest version stored', async () => {
    for (let round = 0; round < 5; round++) {
      const bid = randomBytes(32);
      const versions = Array.from({ length: 50 }, () => BigInt(1 + Math.floor(Math.random() * 2 ** 40)) * 2n ** 20n);
      const outcomes = await Promise.all(
        versions.map(async (version, i) => {
          // Spread the commits over several event-loop turns and payload kinds.
          await new Promise((resolve) => setTimeout(resolve, i % 7));
          return insert(store, { bid, version, payload: randomBytes(i % 3 === 0 ? 0 : i % 3 === 1 ? 100 : 5000) });
        }),
      );
      const highest = versions.reduce((a, b) => (a > b ? a : b));
      assert.equal(store.get(bid)!.version, highest);
      assert.ok(outcomes.every((o) => o.bundle.version <= highest));
      assert.equal(rowids(store.list({}, { order: 'asc' })).filter((id) => id === store.get(bid)!.rowid).length, 1);
    }
  });
});

describe('Rhizome store: group commit', () => {
  it('a commit that fails inside the group is rolled back alone', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir);
    const raw = new Database(join(dir, 'rhizome', 'rhizome.db'));
    try {
      const bid = randomBytes(32);
      await insert(store, { bid, version: 1n });
      const payload = randomBytes(3000);
      await insert(store, { payload });
      const doomed = store.commit(makeBundle({ bid, version: 2n, payload }), { kind: 'stored', hash: sha512(payload) });
      const bystander = store.commit(makeBundle(), { kind: 'empty' });
      // Before the group runs, the payload disappears behind the store's back.
      raw.prepare('DELETE FROM payloads WHERE hash = ?').run(sha512(payload));
      await assert.rejects(doomed, /no longer held/);
      assert.equal((await bystander).kind, 'new');
      assert.equal(store.get(bid)!.version, 1n, 'the replaced version is back');
    } finally {
      raw.close();
      store.close();
      cleanup();
    }
  });

  it('close() refuses commits still queued', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir);
    const pending = store.commit(makeBundle(), { kind: 'empty' });
    store.close();
    await assert.rejects(pending, /closed/);
    await assert.rejects(store.commit(makeBundle(), { kind: 'empty' }), /closed/);
    cleanup();
  });
});

describe('Rhizome store: payload dedupe', () => {
  it('two bundles share one payload; it goes only with the last reference', async () => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    const store = openTestStore(dir);
    try {
      const payload = randomBytes(200_000);
      const hex = sha512(payload).toString('hex');
      const [x, y] = await Promise.all([insert(store, { payload }), insert(store, { payload })]);
      await insert(store, { payload }); // a third, sequential
      assert.deepEqual(payloadFiles(storeDir).filter((f) => f === hex), [hex]);
      assert.equal(readdirSync(join(storeDir, 'tmp')).length, 0, 'deduplicated temporary files are gone');
      const third = [...store.list({}, { order: 'desc' })][0]!;
      await insert(store, { bid: x.bundle.bid, version: 2n, payload: randomBytes(10) });
      await insert(store, { bid: third.bid, version: 2n });
      assert.ok(payloadFiles(storeDir).includes(hex), 'still referenced by y');
      await insert(store, { bid: y.bundle.bid, version: 2n, payload: randomBytes(10) });
      assert.ok(!payloadFiles(storeDir).includes(hex));
      assert.equal(store.payloadLength(sha512(payload)), undefined);
      // The same for a small, inline payload.
      const small = randomBytes(100);
      const a = await insert(store, { payload: small });
      const b = await insert(store, { payload: small });
      await insert(store, { bid: a.bundle.bid, version: 5n });
      assert.equal(store.payloadLength(sha512(small)), 100);
      await insert(store, { bid: b.bundle.bid, version: 5n });
      assert.equal(store.payloadLength(sha512(small)), undefined);
    } finally {
      store.close();
      cleanup();
    }
  });

  it('commits a payload the store already holds by hash, and the same finished payload twice', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir);
    try {
      const payload = randomBytes(5000);
      const finished = await writePayload(store, payload);
      await store.commit(makeBundle({ payload }), finished);
      assert.equal((await store.commit(makeBundle({ payload }), finished)).kind, 'new');
      assert.equal((await store.commit(makeBundle({ payload }), { kind: 'stored', hash: sha512(payload) })).kind, 'new');
      assert.equal(payloadFiles(join(dir, 'rhizome')).length, 1);
    } finally {
      store.close();
      cleanup();
    }
  });

  it('an OLD or SAME commit leaves no payload behind', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir);
    try {
      const bid = randomBytes(32);
      await insert(store, { bid, version: 5n, payload: randomBytes(3000) });
      const loser = randomBytes(4000);
      assert.equal((await insert(store, { bid, version: 4n, payload: loser })).kind, 'old');
      assert.equal((await insert(store, { bid, version: 5n, payload: loser })).kind, 'same');
      assert.equal(store.payloadLength(sha512(loser)), undefined);
      assert.equal(payloadFiles(join(dir, 'rhizome')).length, 1);
    } finally {
      store.close();
      cleanup();
    }
  });
});

describe('Rhizome store: subscribers and authors', () => {
  it('tells subscribers about new bundles only, after they are stored', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir);
    try {
      const heard: StoredBundle[] = [];
      const unsubscribe = store.subscribe((bundle) => {
        assert.deepEqual(store.get(bundle.bid), bundle, 'visible when announced');
        heard.push(bundle);
      });
      store.subscribe(() => {
        throw new Error('a faulty listener');
      });
      const bid = randomBytes(32);
      await insert(store, { bid, version: 2n });
      await insert(store, { bid, version: 1n });
      await insert(store, { bid, version: 2n });
      await Promise.all([insert(store, { bid, version: 3n }), insert(store, {})]);
      assert.equal(heard.length, 3);
      unsubscribe();
      await insert(store, {});
      assert.equal(heard.length, 3);
    } finally {
      store.close();
      cleanup();
    }
  });

  it('records an author for the stored version only', async () => {
    const { dir, cleanup } = tempDir();
    const store = openTestStore(dir);
    try {
      const bid = randomBytes(32);
      const author = randomBytes(32);
      await insert(store, { bid, version: 7n });
      store.setAuthor(bid, 6n, author);
      assert.equal(store.get(bid)!.author, undefined);
      store.setAuthor(bid, 7n, author);
      assert.deepEqual(store.get(bid)!.author, author);
      store.setAuthor(bid, 7n, author);
      store.setAuthor(randomBytes(32), 1n, author);
    } finally {
      store.close();
      cleanup();
    }
  });
});

describe('Rhizome store: opening', () => {
  it('creates an owner-only directory with payloads/ and tmp/, in WAL mode', () => {
    const { dir, cleanup } = tempDir();
    try {
      openTestStore(dir).close();
      const storeDir = join(dir, 'rhizome');
      const db = new Database(join(storeDir, 'rhizome.db'), { readonly: true });
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), 2);
      db.close();
      assert.equal(statSync(storeDir).mode & 0o777, 0o700);
      assert.ok(existsSync(join(storeDir, 'payloads', 'ff')));
      assert.ok(existsSync(join(storeDir, 'tmp')));
    } finally {
      cleanup();
    }
  });

  it('sweeps leftovers: temporary files, unreferenced payload files and rows, lost payload files', async () => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    try {
      let store = openTestStore(dir);
      const kept = await insert(store, { payload: randomBytes(3000) });
      const lost = await insert(store, { payload: randomBytes(3000) });
      store.close();
      writeFileSync(join(storeDir, 'tmp', 'abc.part'), 'half a payload');
      const orphan = randomBytes(64);
      writeFileSync(join(storeDir, 'payloads', orphan.toString('hex', 0, 1), orphan.toString('hex')), 'orphan');
      writeFileSync(join(storeDir, 'payloads', '00', 'junk'), 'junk');
      const db = new Database(join(storeDir, 'rhizome.db'));
      db.prepare('INSERT INTO payloads (hash, length, inserttime, data) VALUES (?, 3, 0, ?)').run(randomBytes(64), Buffer.from('abc'));
      db.close();
      const lostHex = lost.bundle.filehash!.toString('hex');
      writeFileSync(join(storeDir, 'payloads', lostHex.slice(0, 2), lostHex), 'truncated');

      store = openTestStore(dir);
      assert.deepEqual(readdirSync(join(storeDir, 'tmp')), []);
      assert.deepEqual(payloadFiles(storeDir), [kept.bundle.filehash!.toString('hex')]);
      assert.equal(store.payloadLength(lost.bundle.filehash!), undefined);
      assert.ok(store.get(lost.bundle.bid), 'the manifest stays, like after an eviction');
      assert.equal((await readAll(store.readPayload(kept.bundle.filehash!)!)).length, 3000);
      store.close();
      const check = new Database(join(storeDir, 'rhizome.db'), { readonly: true });
      assert.deepEqual(check.prepare('SELECT count(*) AS n FROM payloads').get(), { n: 1 });
      check.close();
    } finally {
      cleanup();
    }
  });

  it('refuses a damaged database with RHIZOME_STORE_CORRUPT and leaves it as it was', async () => {
    const { dir, cleanup } = tempDir();
    const storeDir = join(dir, 'rhizome');
    const dbFile = join(storeDir, 'rhizome.db');
    const isCorrupt = (err: unknown): boolean => isTendrilError(err) && err.code === 'RHIZOME_STORE_CORRUPT';
    try {
      const store = openTestStore(dir);
      await Promise.all(Array.from({ length: 200 }, () => insert(store, { payload: randomBytes(900), name: 'x'.repeat(500) })));
      store.close();
      // Damage every page but the first (the header and schema root survive).
      const bytes = readFileSync(dbFile);
      for (let off = 4096; off < bytes.length; off += 4096) randomBytes(4096).copy(bytes, off);
      writeFileSync(dbFile, bytes);
      assert.throws(() => openTestStore(dir), isCorrupt);
      assert.deepEqual(readFileSync(dbFile), bytes);

      writeFileSync(dbFile, 'this is not a database, and it must not be replaced by an empty one');
      assert.throws(() => openTestStore(dir), isCorrupt);
      assert.match(readFileSync(dbFile, 'utf8'), /^this is not a database/);
    } finally {
      cleanup();
    }
  });
});
