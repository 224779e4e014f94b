/**
 * Tendril sync between real nodes, each in its own process, over loopback: two nodes converge
 * from disjoint stores and from overlapping ones holding different versions of the same bundles
 * (the newest wins on both); a third joins through the second and everything reaches everyone;
 * a partition between two of them heals and the bundles made meanwhile cross; a read-only token
 * pulls and never pushes. Nodes are shared by the tests of this file, in order.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { importBundle, insert } from '../helpers/rhizome.js';
import { bundleVersions, converged, eventually, startSyncNode, type SyncNode } from '../helpers/sync.js';
import { startProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

async function add(node: SyncNode, payload: Buffer, extra = ''): Promise<{ id: string; version: number }> {
  const r = await insert(node.api, { manifest: `service=file\nname=${node.name}.bin\n${extra}`, payload });
  assert.equal(r.status, 201, r.text);
  return { id: String(r.headers['serval-rhizome-bundle-id']), version: Number(r.headers['serval-rhizome-bundle-version']) };
}

/** A bundle of a given id (from `secret`) at a given version. */
function addVersion(node: SyncNode, secret: string, version: number, payload: Buffer): Promise<{ id: string; version: number }> {
  return insert(node.api, { secret, manifest: `service=file\nname=v${version}\nversion=${version}\n`, payload }).then((r) => {
    assert.equal(r.status, 201, r.text);
    return { id: String(r.headers['serval-rhizome-bundle-id']), version };
  });
}

async function sha512Of(node: SyncNode, id: string): Promise<string> {
  const r = await node.request('GET', `/restful/rhizome/${id}/raw.bin`);
  assert.equal(r.status, 200);
  return createHash('sha512').update(r.body).digest('hex');
}

void describe('Tendril sync: convergence', () => {
  let a: SyncNode;
  let b: SyncNode;
  let c: SyncNode;
  let proxy: TcpProxy;

  before(async () => {
    [a, b, c] = await Promise.all([startSyncNode('a'), startSyncNode('b'), startSyncNode('c')]);
  });
  after(async () => {
    await proxy?.close();
    await Promise.all([a, b, c].map((n) => n?.destroy()));
  });

  void it('two nodes converge from disjoint stores, payloads intact (empty, inline and file payloads)', async () => {
    const mine = [await add(a, Buffer.alloc(0)), await add(a, randomBytes(500)), await add(a, randomBytes(300_000))];
    const theirs = [await add(b, randomBytes(5000)), await add(b, randomBytes(200_000))];
    await a.addPeer('b', b);
    const all = await converged([a, b]);
    assert.equal(all.size, 5);
    for (const { id } of [...mine, ...theirs].slice(1)) assert.equal(await sha512Of(a, id), await sha512Of(b, id));
    const [row] = await a.peers();
    assert.equal(row!.state === 'idle' || row!.state === 'transferring', true, row!.state);
    assert.equal(row!.bundles_in, 2);
    assert.equal(row!.rejected, 0);
    assert.ok(row!.sessions >= 1);
  });

  void it('converges from overlapping stores holding other versions of the same bundles: the newest wins everywhere', async () => {
    a.removePeer('b');
    await eventually('link down', async () => ((await b.peers()).length === 0 ? true : undefined));
    const x = randomBytes(32).toString('hex');
    const y = randomBytes(32).toString('hex');
    const common = await add(a, randomBytes(1000));
    // The same bundle, byte for byte, on both sides.
    const manifest = (await a.request('GET', `/restful/rhizome/${common.id}.rhm`)).body;
    const payload = (await a.request('GET', `/restful/rhizome/${common.id}/raw.bin`)).body;
    assert.equal((await importBundle(b.api, manifest, payload)).status, 201);
    const xa = await addVersion(a, x, 10, randomBytes(700));
    const xb = await addVersion(b, x, 20, randomBytes(900));
    const ya = await addVersion(a, y, 30, randomBytes(150_000));
    await addVersion(b, y, 5, randomBytes(100));
    const onlyB = await add(b, randomBytes(64));
    await a.addPeer('b', b);
    const all = await converged([a, b]);
    assert.equal(all.get(xa.id), xb.version);
    assert.equal(all.get(ya.id), ya.version);
    assert.ok(all.has(onlyB.id) && all.has(common.id));
    assert.equal(await sha512Of(a, ya.id), await sha512Of(b, ya.id));
  });

  void it('a third node joining through the second gets everything, and its bundles reach the first', async () => {
    proxy = await startProxy(Number(new URL(b.meshUrl).port));
    const own = await add(c, randomBytes(3000));
    await c.addPeer('b', b, { url: proxy.url });
    const all = await converged([a, b, c]);
    assert.ok(all.has(own.id));
    // New bundles travel on by themselves, hop by hop, without any reconciliation.
    const live = await add(a, randomBytes(2000));
    await eventually('a new bundle reaches c through b', async () => ((await bundleVersions(c)).has(live.id) ? true : undefined), 20_000);
  });

  void it('after a partition heals, what was stored on either side meanwhile crosses', async () => {
    proxy.cut();
    await eventually('c sees the link down', async () => ((await c.peers())[0]!.state === 'waiting' ? true : undefined));
    const fromA = await add(a, randomBytes(4000));
    const fromC = await add(c, randomBytes(4000));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await bundleVersions(c)).has(fromA.id), false);
    proxy.heal();
    const all = await converged([a, b, c]);
    assert.ok(all.has(fromA.id) && all.has(fromC.id));
  });

  void it('a read-only token syncs pull-only: the dialling node gets the peer’s bundles and gives none', async () => {
    proxy.cut(); // c now talks to a alone
    const ro = await c.token(true);
    await a.addPeer('c', c, { token: ro });
    const fromC = await add(c, randomBytes(1000));
    const fromA = await add(a, randomBytes(1000));
    await eventually('a pulls from c', async () => ((await bundleVersions(a)).has(fromC.id) ? true : undefined), 20_000);
    await eventually('a reconciled with c', async () => ((await a.peers()).find((p) => p.address === c.meshUrl)!.sessions >= 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await bundleVersions(c)).has(fromA.id), false);
    const incoming = (await c.peers()).find((p) => p.direction === 'incoming')!;
    assert.equal(incoming.bundles_in, 0);
    assert.ok(incoming.bundles_out >= 1);
  });
});
