/**
 * What only the PostgreSQL store has: several stores (nodes) on one database. Concurrent versions
 * of the same bundles from three nodes end with the highest; row ids follow commit order on every
 * node; each node hears the others' bundles; a download on one node survives a replacement on
 * another; blobs nobody will use are swept, and not before; the commit lock held too long is
 * RHIZOME_BUSY; a commit whose payload is evicted while it waits is refused alone.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { isTendrilError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { Database } from '../../src/store/postgres/database.js';
import { LOCKS } from '../../src/store/postgres/locks.js';
import { openRhizomeStore } from '../../src/store/rhizome/open.js';
import { Sweeper } from '../../src/store/rhizome/postgres/sweeper.js';
import type { ListedBundle, RhizomeStore, StoreOptions } from '../../src/store/rhizome/types.js';
import { createTestDatabase, openTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { all, insert, makeBundle, readAll, rowids, sha512, storeOptions } from './rhizome-helpers.js';

interface Node {
  readonly db: Database;
  readonly store: RhizomeStore;
}

async function openNode(url: string, overrides: Partial<StoreOptions> = {}, name?: string): Promise<Node> {
  const db = await openTestDatabase(url, name);
  const store = await openRhizomeStore({ ...storeOptions('/nonexistent', overrides), backend: 'postgres', database: db, log: silentLogger() });
  return { db, store };
}

async function closeNode(node: Node): Promise<void> {
  await node.store.close();
  await node.db.close();
}

/** Resolves with the first `count` bundles `store` announces. */
function hear(store: RhizomeStore, count: number): Promise<ListedBundle[]> {
  const heard: ListedBundle[] = [];
  return new Promise((resolve) => {
    const stop = store.subscribe((b) => {
      heard.push(b);
      if (heard.length === count) {
        stop();
        resolve(heard);
      }
    });
  });
}

describe('Rhizome store (postgres): three nodes on one database', () => {
  let database: TestDatabase;
  let nodes: Node[];
  before(async () => {
    database = await createTestDatabase();
    nodes = await Promise.all([0, 1, 2].map(() => openNode(database.url)));
  });
  after(async () => {
    for (const node of nodes) await closeNode(node);
    await database.drop();
  });

  it('concurrent versions of the same bundles end with the highest; row ids follow commit order everywhere', async () => {
    const bids = Array.from({ length: 5 }, () => randomBytes(32));
    const attempts = bids.flatMap((bid) =>
      Array.from({ length: 12 }, (_, i) => ({ bid, version: BigInt(1 + Math.floor(Math.random() * 1e9)) * 8n + BigInt(i % 8), node: nodes[i % 3]! })),
    );
    const outcomes = await Promise.all(
      attempts.map(({ bid, version, node }, i) => insert(node.store, { bid, version, payload: randomBytes(i % 2 === 0 ? 200 : 300_000) })),
    );
    for (const bid of bids) {
      const highest = attempts.filter((a) => a.bid.equals(bid)).reduce((m, a) => (a.version > m ? a.version : m), 0n);
      for (const node of nodes) assert.equal((await node.store.get(bid))?.version, highest, 'every node sees the highest version');
    }
    assert.ok(outcomes.every((o) => o.kind !== 'new' || o.bundle.rowid > 0));
    // Each node lists the same rows, in the same order, with no version left behind.
    const lists = await Promise.all(nodes.map((n) => rowids(n.store.list({}, { order: 'asc' }))));
    assert.deepEqual(lists[1], lists[0]);
    assert.deepEqual(lists[2], lists[0]);
    assert.equal(lists[0]!.length, bids.length);
    // Every replaced payload went: only the five current ones remain.
    const sql = nodes[0]!.db.sql;
    const [count] = await sql<Array<{ n: bigint }>>`SELECT count(*) AS n FROM rhizome_payloads`;
    assert.equal(Number(count!.n), new Set(await Promise.all(bids.map(async (b) => (await nodes[0]!.store.get(b))!.filehash!.toString('hex')))).size);
  });

  it('each node hears the bundles the others store, in row id order', async () => {
    const heard = nodes.map((n) => hear(n.store, 6));
    const made: number[] = [];
    for (let i = 0; i < 6; i++) made.push((await insert(nodes[i % 3]!.store, { service: 'heard' })).bundle.rowid);
    for (const bundles of await Promise.all(heard)) {
      assert.deepEqual(bundles.map((b) => b.rowid), made);
      assert.ok(bundles.every((b) => b.service === 'heard'));
    }
  });

  it('under concurrent inserts on every node, each node hears every bundle once, in row id order', async () => {
    const COUNT = 150;
    const heard = nodes.map((n) => hear(n.store, COUNT));
    // Many commits at once on every node: notifications arrive faster than one read each.
    const made = await Promise.all(Array.from({ length: COUNT }, (_, i) => insert(nodes[i % 3]!.store, { service: 'burst' })));
    const rowids = made.map((m) => m.bundle.rowid).sort((x, y) => x - y);
    for (const bundles of await Promise.all(heard)) {
      assert.deepEqual(bundles.map((b) => b.rowid), rowids);
      assert.ok(bundles.every((b) => b.service === 'burst'));
    }
  });

  it('a download on one node reads to the end while another node replaces its bundle; the blob goes after', async () => {
    const [a, b] = nodes as [Node, Node, Node];
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    const { bundle } = await insert(a.store, { payload: bytes });
    const stream = (await a.store.readPayload(bundle.filehash!))!;
    assert.equal((await insert(b.store, { bid: bundle.bid, version: 2n })).kind, 'new');
    assert.equal(await b.store.payloadLength(bundle.filehash!), undefined, 'no longer held');
    const sweeper = new Sweeper(b.db, silentLogger());
    await sweeper.sweep(); // cannot take the blob: node A is reading it
    assert.deepEqual(await readAll(stream), bytes);
    // The reader's lock is released as its stream closes (one more statement on its session).
    const left = async (): Promise<number> => Number((await b.db.sql<Array<{ n: bigint }>>`SELECT count(*) AS n FROM rhizome_blobs WHERE state <> 1`)[0]!.n);
    for (let i = 0; i < 500 && (await left()) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await sweeper.sweep();
    }
    await sweeper.close();
    assert.equal(await left(), 0, 'the doomed blob is swept once nobody reads it');
  });

  it("a node's unfinished upload is swept once its session is gone, and not before", async () => {
    const doomed = await openNode(database.url, {}, 'tendril-doomed');
    const writer = doomed.store.createPayloadWriter();
    await writer.write(randomBytes(2 * 1024 * 1024)); // beyond max_blob_size: a pending blob
    const sweeper = new Sweeper(nodes[0]!.db, silentLogger());
    const pending = async (): Promise<number> =>
      Number((await nodes[0]!.db.sql<Array<{ n: bigint }>>`SELECT count(*) AS n FROM rhizome_blobs WHERE state = 0`)[0]!.n);
    await sweeper.sweep();
    assert.equal(await pending(), 1, 'a live session keeps its upload');
    // As if the node died: every connection it had goes, and its session lock with them.
    await nodes[0]!.db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tendril-doomed'`;
    await assert.rejects(writer.write(randomBytes(2 * 1024 * 1024)));
    await sweeper.sweep();
    assert.equal(await pending(), 0);
    await sweeper.close();
    await doomed.store.close();
    await doomed.db.close();
  });
});

describe('Rhizome store (postgres): the commit lock', () => {
  let database: TestDatabase;
  let node: Node;
  let patient: Node;
  let other: postgres.Sql;
  before(async () => {
    database = await createTestDatabase();
    node = await openNode(database.url, { busyTimeoutMs: 300 });
    patient = await openNode(database.url, { busyTimeoutMs: 30_000 });
    other = postgres(database.url, { max: 3, onnotice: () => undefined });
  });
  after(async () => {
    await other.end({ timeout: 1 });
    await closeNode(node);
    await closeNode(patient);
    await database.drop();
  });

  /** Holds the commit lock in another session until `release` is called. */
  async function holdLock(): Promise<() => Promise<void>> {
    const conn = await other.reserve();
    await conn`BEGIN`;
    await conn`SELECT pg_advisory_xact_lock(${LOCKS.commit}::bigint)`;
    return async () => {
      await conn`COMMIT`;
      conn.release();
    };
  }

  it('held longer than the busy timeout: RHIZOME_BUSY (423), and the same commit goes through afterwards', async () => {
    const release = await holdLock();
    const payload = randomBytes(200_000);
    const bundle = makeBundle({ payload });
    const writer = node.store.createPayloadWriter();
    await writer.write(payload);
    const finished = await writer.finish();
    try {
      await assert.rejects(node.store.commit(bundle, finished), (err: unknown) => isTendrilError(err) && err.code === 'RHIZOME_BUSY' && err.status === 423);
      assert.equal(await node.store.get(bundle.bid), undefined);
    } finally {
      await release();
    }
    const retried = await node.store.commit(bundle, finished);
    assert.equal(retried.kind, 'new');
    assert.deepEqual(await readAll((await node.store.readPayload(sha512(payload)))!), payload);
  });

  it('a commit whose payload is evicted while it waits for the lock is refused alone', async () => {
    const bid = randomBytes(32);
    const store = patient.store;
    await insert(store, { bid, version: 1n });
    const payload = randomBytes(3000);
    await insert(store, { payload });
    const before = (await all(store.list({}, { order: 'asc' }))).length;
    const release = await holdLock();
    const doomed = store.commit(makeBundle({ bid, version: 2n, payload }), { kind: 'stored', hash: sha512(payload) });
    const bystander = store.commit(makeBundle(), { kind: 'empty' });
    // Both wait behind the lock (their transaction is waiting for it) when the payload goes.
    await waitForLockWaiter(other);
    await other`DELETE FROM rhizome_payloads WHERE hash = ${sha512(payload)}`;
    await release();
    await assert.rejects(doomed, /no longer held/);
    assert.equal((await bystander).kind, 'new');
    assert.equal((await store.get(bid))!.version, 1n);
    assert.equal((await all(store.list({}, { order: 'asc' }))).length, before + 1);
  });
});

/** Resolves once some session waits for an advisory lock (the commit lock, held by the test). */
async function waitForLockWaiter(sql: postgres.Sql): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const [row] = await sql`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted LIMIT 1`;
    if (row !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no commit waited for the lock');
}
