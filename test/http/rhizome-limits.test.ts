/**
 * Store limits over HTTP (spec §7.10, §3.8.2, §3.8.3): `rhizome.database_size` and
 * `rhizome.min_free_space` give the 202 outcomes "too big" (payload status 6) and "evicted"
 * (payload status 7), answered before the payload is read when the manifest declares its size and
 * at the end when it does not; eviction makes room by rank (older and larger first) and damages
 * nothing else. And 423 "Database is busy" while another process holds the store's database.
 *
 * Early answers keep bundle status 0, as the reference's do (spec §3.8.2 step 3: "the bundle
 * status stays 0 (not 7/8) in these early answers"); answers at the end carry bundle status 7.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { InstancePaths } from '../../src/node/instance.js';
import { makeInstance, startTestNode, TEST_STORE, type Reply, type TestNode } from '../helpers/node.js';
import { inspectStore } from '../helpers/store-inspect.js';
import { bundleVector, importBundle, insert, loadReferenceIdentities, manifestFields, MANIFEST_TYPE } from '../helpers/rhizome.js';
import { generatedBytes, generatedPayload, multipartStream, postStream, type StreamReply } from '../helpers/rhizome-wire.js';

const K = 1000;
const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex').toUpperCase();
const bytes = (size: number, seed: number): Buffer => generatedBytes(size, seed);

/** A node whose disk pretends to have `freeSpaceOverride` bytes free (TENDRIL_FREE_SPACE). */
function startLimited(paths: InstancePaths, freeSpaceOverride?: number): Promise<TestNode> {
  return startTestNode({ paths, freeSpaceOverride });
}

interface Statuses {
  readonly http: number;
  readonly reason: string;
  readonly bundle: number | undefined;
  readonly payload: number | undefined;
}

function statusesOf(r: Reply | StreamReply): Statuses {
  const h = r.headers;
  const code = (v: string | string[] | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const body = JSON.parse(r.body.toString('utf8')) as { rhizome_bundle_status_code?: number; rhizome_payload_status_code?: number };
  // Headers and JSON members say the same.
  assert.equal(body.rhizome_bundle_status_code, code(h['serval-rhizome-result-bundle-status-code']));
  assert.equal(body.rhizome_payload_status_code, code(h['serval-rhizome-result-payload-status-code']));
  return {
    http: 'status' in r ? r.status : 0,
    reason: r.reason,
    bundle: body.rhizome_bundle_status_code,
    payload: body.rhizome_payload_status_code,
  };
}

/** An insert whose payload streams from a generator; `declare` puts its filesize in the manifest. */
function insertStreamed(t: TestNode, name: string, size: number, seed: number, declare: boolean): Promise<StreamReply> {
  return postStream(
    t.port,
    '/restful/rhizome/insert',
    multipartStream([
      { name: 'manifest', contentType: MANIFEST_TYPE, body: `name=${name}\n${declare ? `filesize=${size}\n` : ''}` },
      { name: 'payload', body: generatedPayload(size, seed, 64 * 1024) },
    ]),
  );
}

/** Payloads still being written: none once every request is done. */
async function pendingUploads(t: TestNode): Promise<number> {
  const store = inspectStore(t.paths);
  try {
    return await store.pendingUploads();
  } finally {
    await store.close();
  }
}

/** The store's used bytes as spec §7.10 counts them (SQLite: pages in use plus payload files). */
async function storeUsedBytes(paths: InstancePaths): Promise<number> {
  const store = inspectStore(paths);
  try {
    return await store.usedBytes();
  } finally {
    await store.close();
  }
}

void describe('rhizome.database_size (spec §7.10)', () => {
  let t: TestNode;
  /** Bundles stored so far, with the payload each should still have (undefined: evicted). */
  const stored = new Map<string, { signed: Buffer; payload: Buffer | undefined }>();

  before(async () => {
    // SQLite counts the database's pages (its schema included); the PostgreSQL store counts payload
    // and manifest bytes only (docs/postgres.md): the same story needs a slightly smaller store.
    t = await startLimited(makeInstance({ 'rhizome.database_size': TEST_STORE === 'postgres' ? '430K' : '450K' }));
  });
  after(async () => t.destroy());

  /** Every bundle stored earlier still reads back exactly, or is 404 "Payload not found" if evicted. */
  async function assertUndamaged(): Promise<void> {
    const list = (await t.request('GET', '/restful/rhizome/bundlelist.json')).json<{ rows: unknown[][] }>();
    assert.deepEqual(new Set(list.rows.map((r) => r[3])), new Set(stored.keys()), 'exactly the bundles stored');
    for (const [bid, { signed, payload }] of stored) {
      assert.deepEqual((await t.request('GET', `/restful/rhizome/${bid}.rhm`)).body, signed);
      const raw = await t.request('GET', `/restful/rhizome/${bid}/raw.bin`);
      if (payload === undefined) {
        assert.equal(raw.status, 404);
        assert.equal(raw.reason, 'Payload not found');
      } else {
        assert.equal(raw.status, 200);
        assert.equal(sha512(raw.body), sha512(payload));
      }
    }
    assert.equal(await pendingUploads(t), 0);
  }

  async function storeOne(name: string, payload: Buffer): Promise<string> {
    const r = await insert(t, { manifest: `name=${name}\n`, payload });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers['serval-rhizome-result-payload-status-code'], '1');
    const bid = manifestFields(r.body).get('id')!;
    stored.set(bid, { signed: r.body, payload });
    return bid;
  }

  void it('evicts an older, larger payload to make room; its manifest stays with "Payload not found"', async () => {
    const a = await storeOne('a-large-file', bytes(300 * K, 1)); // a file: larger than max_blob_size
    await storeOne('b-small-row', bytes(50 * K, 2)); // inline in the database
    await assertUndamaged();
    // 100 KB more does not fit; A ranks lowest (rank = inserttime − length) and goes.
    await storeOne('c-newcomer', bytes(100 * K, 3));
    stored.set(a, { ...stored.get(a)!, payload: undefined });
    await assertUndamaged();
  });

  void it('"evicted" (payload status 7) when the newcomer ranks below everything that would have to go', async () => {
    // 300 KB would need B and C gone, but they outrank it (a new payload carries a 60 s penalty).
    const early = await insertStreamed(t, 'd-declared', 300 * K, 4, true);
    assert.equal(early.status, 202);
    assert.equal(early.reason, 'Bundle new to store');
    assert.deepEqual(statusesOf(early), { http: 202, reason: 'Bundle new to store', bundle: 0, payload: 7 });
    assert.equal(JSON.parse(early.body.toString()).rhizome_payload_status_message, 'Payload evicted');
    const late = await insertStreamed(t, 'd-undeclared', 300 * K, 4, false);
    assert.deepEqual(statusesOf(late), { http: 202, reason: 'No room in store for bundle', bundle: 7, payload: 7 });
    await assertUndamaged();
  });

  void it('"too big" (payload status 6): a payload at least the size of the store, early if declared, else at the end', async () => {
    const early = await insertStreamed(t, 'e-declared', 500 * K, 5, true);
    assert.deepEqual(statusesOf(early), { http: 202, reason: 'Bundle new to store', bundle: 0, payload: 6 });
    assert.equal(JSON.parse(early.body.toString()).rhizome_payload_status_message, 'Payload size exceeds store');
    const late = await insertStreamed(t, 'e-undeclared', 500 * K, 5, false);
    assert.deepEqual(statusesOf(late), { http: 202, reason: 'No room in store for bundle', bundle: 7, payload: 6 });
    assert.equal(JSON.parse(late.body.toString()).rhizome_bundle_status_message, 'No room in store for bundle');
    // Far larger than the store and undeclared: writing stops once it cannot fit, the rest of the
    // upload is read and dropped, and the answer comes at the end.
    const huge = await insertStreamed(t, 'e-huge', 20 * 1024 * 1024, 6, false);
    assert.deepEqual(statusesOf(huge), { http: 202, reason: 'No room in store for bundle', bundle: 7, payload: 6 });
    await assertUndamaged();
  });

  void it('import and append obey the same limits', async () => {
    // A journal too big for the store: at the end, bundle status 7.
    const r = await postStream(
      t.port,
      '/restful/rhizome/append',
      multipartStream([
        { name: 'manifest', contentType: MANIFEST_TYPE, body: 'name=journal\n' },
        { name: 'payload', body: generatedPayload(600 * K, 7) },
      ]),
    );
    assert.deepEqual(statusesOf(r), { http: 202, reason: 'No room in store for bundle', bundle: 7, payload: 6 });
    // A signed bundle from a node without limits, too big to import here: 202 before its payload.
    const free = await startLimited(makeInstance());
    try {
      const made = await insert(free, { manifest: 'name=from-elsewhere\n', payload: bytes(500 * K, 8) });
      assert.equal(made.status, 201);
      const raw = (await free.request('GET', `/restful/rhizome/${manifestFields(made.body).get('id')}/raw.bin`)).body;
      const imported = await postStream(
        t.port,
        '/restful/rhizome/import',
        multipartStream([
          { name: 'manifest', contentType: MANIFEST_TYPE, body: made.body },
          { name: 'payload', body: raw },
        ]),
      );
      assert.deepEqual(statusesOf(imported), { http: 202, reason: 'Bundle new to store', bundle: 0, payload: 6 });
    } finally {
      await free.destroy();
    }
    await assertUndamaged();
  });
});

// min_free_space is about the local disk: a database on a server has none (docs/postgres.md).
void describe('rhizome.min_free_space with TENDRIL_FREE_SPACE (spec §7.10)', { skip: TEST_STORE === 'postgres' && 'the PostgreSQL store has no local disk' }, () => {
  void it('free space above the minimum sets no limit; below it the store shrinks to fit, evicting or refusing', async () => {
    const paths = makeInstance({ 'rhizome.min_free_space': '1M' });
    let t = await startLimited(paths, 5_000_000);
    try {
      // Plenty free: no limit at all.
      const a = await insert(t, { manifest: 'name=a\n', payload: bytes(300 * K, 11) });
      assert.equal(a.status, 201, a.text);
      const b = await insert(t, { manifest: 'name=b\n', payload: bytes(40 * K, 12) });
      assert.equal(b.status, 201, b.text);
      await t.stop();

      // Pretend the disk has F bytes free, below the 1 MB to keep: limit = used + F − 1 000 000.
      // F is chosen so that the limit is exactly 250 000 bytes.
      const used = await storeUsedBytes(paths);
      const limit = 250 * K;
      t = await startLimited(paths, 1_000_000 - used + limit);
      // A payload the size of the limit is too big (n ≥ limit), answered before it is read.
      const tooBig = await insertStreamed(t, 'too-big', limit, 13, true);
      assert.deepEqual(statusesOf(tooBig), { http: 202, reason: 'Bundle new to store', bundle: 0, payload: 6 });
      // 60 KB (kept inline, so no temporary file counts as free space) needs room: A, older and
      // larger, goes; B stays.
      const c = await insert(t, { manifest: 'name=c\n', payload: bytes(60 * K, 14) });
      assert.equal(c.status, 201, c.text);
      const aBid = manifestFields(a.body).get('id')!;
      const evicted = await t.request('GET', `/restful/rhizome/${aBid}/raw.bin`);
      assert.equal(evicted.status, 404, 'the older, larger payload made room');
      assert.equal(evicted.reason, 'Payload not found');
      for (const [r, size, seed] of [[b, 40 * K, 12], [c, 60 * K, 14]] as const) {
        const raw = await t.request('GET', `/restful/rhizome/${manifestFields(r.body).get('id')}/raw.bin`);
        assert.equal(raw.status, 200);
        assert.equal(sha512(raw.body), sha512(bytes(size, seed)));
      }
      assert.equal(await pendingUploads(t), 0);
    } finally {
      await t.destroy();
    }
  });

  void it('no free space to spare at all: every payload is too big, an empty bundle still stores', async () => {
    const t = await startLimited(makeInstance({ 'rhizome.min_free_space': '100M' }), 50_000_000);
    try {
      const r = await insert(t, { manifest: 'name=x\nfilesize=1000\n', payload: bytes(1000, 1) });
      assert.deepEqual(statusesOf(r), { http: 202, reason: 'Bundle new to store', bundle: 0, payload: 6 });
      const empty = await insert(t, { manifest: 'name=empty\n', payload: '' });
      assert.equal(empty.status, 201, empty.text);
      assert.equal(empty.headers['serval-rhizome-result-payload-status-code'], '0');
    } finally {
      await t.destroy();
    }
  });
});

// SQLite's own locks; the PostgreSQL store's 423 is tested in test/store/rhizome-postgres-nodes.test.ts.
void describe('another process holds the store (spec §3.1: 423)', { skip: TEST_STORE === 'postgres' && 'SQLite locking' }, () => {
  let t: TestNode;
  before(async () => {
    t = await startLimited(makeInstance());
  });
  after(async () => t.destroy());

  void it('writes answer 423 "Database is busy" (bundle status 9); reads go on; all works after release', { timeout: 30_000 }, async () => {
    const first = await insert(t, { manifest: 'name=before\n', payload: bytes(200 * K, 21) });
    assert.equal(first.status, 201, first.text);
    const bid = manifestFields(first.body).get('id')!;
    // A bundle whose author this node has not recorded yet: reading it records the author (a
    // write), which must not turn the read into a failure while the store is locked.
    await loadReferenceIdentities(t);
    const authored = bundleVector('02_authored_bob');
    assert.equal((await importBundle(t, authored.manifest, authored.raw)).status, 201);
    const listBefore = await t.request('GET', '/restful/rhizome/bundlelist.json');

    const other = new Database(join(t.paths.storeDir, 'rhizome.db'));
    try {
      other.exec('BEGIN EXCLUSIVE');
      for (const [what, payload] of [
        ['file-backed', bytes(200 * K, 22)],
        ['inline', bytes(2 * K, 23)],
      ] as const) {
        const r = await insert(t, { manifest: `name=${what}\n`, payload });
        assert.equal(r.status, 423, `${what}: ${r.text}`);
        assert.equal(r.reason, 'Database is busy');
        const body = r.json<{ rhizome_bundle_status_code: number; rhizome_bundle_status_message: string }>();
        assert.equal(body.rhizome_bundle_status_code, 9);
        assert.equal(body.rhizome_bundle_status_message, 'Database is busy');
        assert.equal(r.headers['serval-rhizome-result-bundle-status-code'], '9');
        assert.equal(await pendingUploads(t), 0, `${what}: nothing left behind`);
      }
      const journal = await postStream(
        t.port,
        '/restful/rhizome/append',
        multipartStream([
          { name: 'manifest', contentType: MANIFEST_TYPE, body: 'name=journal\n' },
          { name: 'payload', body: 'journal entry' },
        ]),
      );
      assert.equal(journal.status, 423);

      // Reads keep working (WAL readers are not blocked by a writer).
      const list = await t.request('GET', '/restful/rhizome/bundlelist.json');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, listBefore.body, 'nothing of the refused inserts is listed');
      const rhm = await t.request('GET', `/restful/rhizome/${bid}.rhm`);
      assert.equal(rhm.status, 200);
      assert.deepEqual(rhm.body, first.body);
      const raw = await t.request('GET', `/restful/rhizome/${bid}/raw.bin`);
      assert.equal(raw.status, 200);
      assert.equal(sha512(raw.body), sha512(bytes(200 * K, 21)));
      const byBob = await t.request('GET', `/restful/rhizome/${authored.json.bid}.rhm`);
      assert.equal(byBob.status, 200);
      assert.deepEqual(byBob.body, authored.manifest);
      assert.equal(byBob.headers['serval-rhizome-bundle-author'], authored.json.author_sid);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    }

    const after = await insert(t, { manifest: 'name=after\n', payload: bytes(200 * K, 22) });
    assert.equal(after.status, 201, after.text);
    const rows = (await t.request('GET', '/restful/rhizome/bundlelist.json')).json<{ rows: unknown[][] }>().rows;
    assert.deepEqual(rows.map((r) => r[13]), ['after', 'authored-by-bob.txt', 'before']);
    assert.equal(await pendingUploads(t), 0);
  });
});

void describe('limits while payloads stream in', () => {
  void it('an import checks for room again before it commits: a store filled meanwhile makes it 202', { timeout: 30_000 }, async () => {
    const free = await startLimited(makeInstance());
    const t = await startLimited(makeInstance({ 'rhizome.database_size': '450K' }));
    try {
      const payload = bytes(300 * K, 31);
      const made = await insert(free, { manifest: 'name=slow-import\n', payload });
      assert.equal(made.status, 201);
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const gated = async function* (): AsyncGenerator<Buffer> {
        yield payload.subarray(0, 200 * K);
        await gate;
        yield payload.subarray(200 * K);
      };
      const importing = postStream(
        t.port,
        '/restful/rhizome/import',
        multipartStream([
          { name: 'manifest', contentType: MANIFEST_TYPE, body: made.body },
          { name: 'payload', body: gated() },
        ]),
      );
      // The import has passed its first room check once its payload spills to a temporary file.
      const deadline = Date.now() + 10_000;
      while ((await pendingUploads(t)) === 0) {
        assert.ok(Date.now() < deadline, 'the import began writing its payload');
        await new Promise((r) => setTimeout(r, 10));
      }
      const meanwhile = await insert(t, { manifest: 'name=meanwhile\n', payload: bytes(300 * K, 32) });
      assert.equal(meanwhile.status, 201, meanwhile.text);
      release();
      const r = await importing;
      assert.deepEqual(statusesOf(r), { http: 202, reason: 'No room in store for bundle', bundle: 7, payload: 7 });
      assert.equal((await t.request('GET', `/restful/rhizome/${manifestFields(made.body).get('id')}.rhm`)).status, 404);
      const raw = await t.request('GET', `/restful/rhizome/${manifestFields(meanwhile.body).get('id')}/raw.bin`);
      assert.equal(sha512(raw.body), sha512(bytes(300 * K, 32)), 'the bundle that came first is intact');
      assert.ok((await storeUsedBytes(t.paths)) <= 450 * 1024, 'the store is within its limit');
      assert.equal(await pendingUploads(t), 0);
    } finally {
      await Promise.all([free.destroy(), t.destroy()]);
    }
  });

  void it('a store locked while room is being made answers 423 with bundle status 9, like any locked write', { timeout: 30_000, skip: TEST_STORE === 'postgres' && 'SQLite locking' }, async () => {
    const t = await startLimited(makeInstance({ 'rhizome.database_size': '450K' }));
    try {
      const old = await insert(t, { manifest: 'name=old-and-large\n', payload: bytes(300 * K, 41) });
      assert.equal(old.status, 201);
      const other = new Database(join(t.paths.storeDir, 'rhizome.db'));
      try {
        other.exec('BEGIN EXCLUSIVE');
        // 200 KB declared: room needs the old payload evicted, which needs the lock.
        for (const declare of [true, false]) {
          const r = await insertStreamed(t, 'needs-room', 200 * K, 42, declare);
          assert.equal(r.status, 423, r.body.toString());
          assert.equal(r.reason, 'Database is busy');
          assert.equal(r.headers['serval-rhizome-result-bundle-status-code'], '9');
          const body = JSON.parse(r.body.toString()) as { rhizome_bundle_status_code: number; rhizome_payload_status_code: number };
          assert.equal(body.rhizome_bundle_status_code, 9);
          assert.equal(body.rhizome_payload_status_code, 8);
        }
      } finally {
        if (other.inTransaction) other.exec('ROLLBACK');
        other.close();
      }
      assert.equal((await t.request('GET', `/restful/rhizome/${manifestFields(old.body).get('id')}/raw.bin`)).status, 200, 'nothing was evicted');
      const after = await insertStreamed(t, 'needs-room', 200 * K, 42, true);
      assert.equal(after.status, 201, after.body.toString());
      assert.equal(await pendingUploads(t), 0);
    } finally {
      await t.destroy();
    }
  });
});
