/**
 * Tendril sync transfers between real nodes: a transfer cut by killing the receiving node, or the
 * sending one, resumes where it stopped (the bytes counted on the wire add up to the payload once,
 * never from byte 0 again) and stores the exact payload; a journal that grows crosses by its new
 * tail only; a node with a small store never fetches a payload it could not keep.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { append, insert } from '../helpers/rhizome.js';
import { bundleVersions, bundles, eventually, startSyncNode, type SyncNode } from '../helpers/sync.js';
import { startProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const MiB = 1024 * 1024;

async function add(node: SyncNode, payload: Buffer): Promise<string> {
  const r = await insert(node.api, { manifest: `service=file\nname=${node.name}-${payload.length}.bin\n`, payload });
  assert.equal(r.status, 201, r.text);
  return String(r.headers['serval-rhizome-bundle-id']);
}

interface SyncTotals {
  bundles_in: number;
  bytes_in: number;
  bytes_out: number;
  rejected: number;
}

async function totals(node: SyncNode): Promise<SyncTotals> {
  const r = await node.request('GET', '/restful/system');
  return r.json<{ node: { sync: SyncTotals } }>().node.sync;
}

async function sha512Of(node: SyncNode, id: string): Promise<string | undefined> {
  const r = await node.request('GET', `/restful/rhizome/${id}/raw.bin`);
  return r.status === 200 ? createHash('sha512').update(r.body).digest('hex') : undefined;
}

function partialBytes(node: SyncNode): number {
  const dir = join(node.paths.root, 'sync', 'partial');
  try {
    return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

const holds = (node: SyncNode, id: string) => async () => ((await bundleVersions(node)).has(id) ? true : undefined);

void describe('Tendril sync: transfers', () => {
  let a: SyncNode;
  let b: SyncNode;
  let proxy: TcpProxy;

  before(async () => {
    [a, b] = await Promise.all([startSyncNode('a'), startSyncNode('b')]);
    proxy = await startProxy(Number(new URL(a.meshUrl).port));
    await b.addPeer('a', a, { url: proxy.url });
  });
  after(async () => {
    await proxy?.close();
    await Promise.all([a?.destroy(), b?.destroy()]);
  });

  void it('resumes after the receiving node is killed mid-transfer: only the missing bytes cross, the payload is exact', async () => {
    const payload = randomBytes(12 * MiB);
    const digest = createHash('sha512').update(payload).digest('hex');
    proxy.limit(3 * MiB);
    const id = await add(a, payload);
    await eventually('half of it arrived', () => Promise.resolve(partialBytes(b) > 3 * MiB ? true : undefined), 30_000);
    await b.kill();
    const kept = partialBytes(b);
    assert.ok(kept > 3 * MiB && kept < payload.length, `kept ${kept}`);
    proxy.limit(undefined);
    await b.start();
    await eventually('b holds it', holds(b, id), 30_000);
    assert.equal(await sha512Of(b, id), digest);
    // Since the restart, b received exactly what it lacked.
    assert.equal((await totals(b)).bytes_in, payload.length - kept);
    assert.equal(partialBytes(b), 0);
  });

  void it('resumes after the sending node is killed mid-transfer: no byte is fetched twice', async () => {
    const before = (await totals(b)).bytes_in;
    const payload = randomBytes(8 * MiB);
    proxy.limit(3 * MiB);
    const id = await add(a, payload);
    await eventually('some of it arrived', () => Promise.resolve(partialBytes(b) > 2 * MiB ? true : undefined), 30_000);
    await a.kill();
    proxy.limit(undefined);
    await a.start();
    // a's mesh port changed with the restart: the proxy follows it.
    await proxy.close();
    proxy = await startProxy(Number(new URL(a.meshUrl).port));
    b.removePeer('a');
    await b.addPeer('a', a, { url: proxy.url });
    await eventually('b holds it', holds(b, id), 30_000);
    assert.equal(await sha512Of(b, id), createHash('sha512').update(payload).digest('hex'));
    assert.equal((await totals(b)).bytes_in - before, payload.length);
  });

  void it('a growing journal crosses by its new tail only', async () => {
    const secret = randomBytes(32).toString('hex');
    const first = randomBytes(300_000);
    const r1 = await append(a.api, { secret, manifest: 'name=journal\n', payload: first });
    assert.equal(r1.status, 201, r1.text);
    const id = String(r1.headers['serval-rhizome-bundle-id']);
    await eventually('b holds the journal', holds(b, id), 30_000);
    const before = (await totals(b)).bytes_in;
    const tail = randomBytes(7_000);
    const r2 = await append(a.api, { bundleId: id, secret, manifest: '', payload: tail });
    assert.equal(r2.status, 201, r2.text);
    const version = Number(r2.headers['serval-rhizome-bundle-version']);
    await eventually('b holds the new version', async () => ((await bundleVersions(b)).get(id) === version ? true : undefined), 30_000);
    assert.equal((await totals(b)).bytes_in - before, tail.length);
    assert.equal(await sha512Of(b, id), await sha512Of(a, id));
  });

  void it('a node with a small store fetches only what it would keep', async () => {
    // 2 MiB in all; two fresh 700 KiB payloads of its own outrank anything new that would evict them.
    const small = await startSyncNode('small', { 'rhizome.database_size': '2M', 'rhizome.min_free_space': '0' });
    try {
      await add(small, randomBytes(700 * 1024));
      await add(small, randomBytes(700 * 1024));
      const tooBig = await add(a, randomBytes(3 * MiB));
      const wouldEvict = await add(a, randomBytes(MiB));
      const fits = await add(a, randomBytes(20_000));
      await small.addPeer('a', a);
      await eventually('the small bundle arrives', holds(small, fits), 30_000);
      await eventually('every offer was answered', async () => ((await small.peers())[0]!.lag_bundles === 0 ? true : undefined), 30_000);
      const held = await bundleVersions(small);
      assert.equal(held.has(tooBig) || held.has(wouldEvict), false);
      // Every payload byte that crossed belongs to a bundle the small node now holds.
      const own = new Set([...(await bundles(small))].filter((x) => x.name?.startsWith('small-')).map((x) => x.id));
      const fetched = (await bundles(small)).filter((x) => !own.has(x.id)).reduce((n, x) => n + x.filesize, 0);
      assert.equal((await totals(small)).bytes_in, fetched);
      await eventually('the refusals are logged', () => Promise.resolve(small.log().split('bundle declined').length > 2 ? true : undefined), 10_000);
    } finally {
      await small.destroy();
    }
  });
});
