/**
 * The typed client's sync helpers against two real nodes in their own processes, A dialling B:
 * the peer row (columns as the node names them, state, node id, bundles and bytes in), the
 * node's totals, and the routing table with B's identity one hop away.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ROUTE_COLUMNS, SYNC_PEER_COLUMNS, type TendrilClient } from '../../src/client/index.js';
import { createNodeClient } from '../../src/client/node.js';
import { eventually, startSyncNode, type SyncNode } from '../helpers/sync.js';

const clientOf = (n: SyncNode): TendrilClient =>
  createNodeClient({ url: `http://127.0.0.1:${n.apiPort}` }, { credentials: { user: 'harry', password: 'potter' } });

void describe('typed client: sync peers, totals and routes', { timeout: 120_000 }, () => {
  let a: SyncNode;
  let b: SyncNode;
  let ca: TendrilClient;
  let cb: TendrilClient;

  before(async () => {
    [a, b] = await Promise.all([startSyncNode('a'), startSyncNode('b')]);
    [ca, cb] = [clientOf(a), clientOf(b)];
  });
  after(async () => {
    ca?.close();
    cb?.close();
    await Promise.all([a, b].map((n) => n?.destroy()));
  });

  void it('lists no peer, and zero totals, before any is configured', async () => {
    assert.deepEqual(await ca.sync.peers(), []);
    const totals = await ca.sync.status();
    assert.deepEqual([totals?.peers_configured, totals?.links_up, totals?.bundles_in], [0, 0, 0]);
  });

  void it('shows the peer row, the totals and the route once a bundle has crossed', async () => {
    const bob = await cb.keyring.add({ name: 'Bob' });
    await a.addPeer('b', b);
    const payload = randomBytes(5000);
    const stored = await cb.rhizome.insert({ payload, filename: 'crossing.bin' });
    const row = await eventually('the bundle crossed', async () => {
      const r = (await ca.sync.peers()).find((p) => p.address === b.meshUrl);
      return r !== undefined && r.bundles_in >= 1 ? r : undefined;
    });
    assert.deepEqual([row.direction, row.found, row.last_error], ['outgoing', 'config', null]);
    assert.match(row.node ?? '', /^[0-9a-f]{32}$/);
    assert.ok(row.bytes_in >= payload.length, `${row.bytes_in} payload bytes in`);
    assert.ok(typeof row.last_contact === 'number' && row.last_contact > 0);
    assert.equal(stored.status, 201);
    assert.equal((await ca.rhizome.manifest(stored.bundle.id!)).bundle.id, stored.bundle.id);
    const totals = await ca.sync.status();
    assert.deepEqual([totals?.peers_configured, totals?.links_up], [1, 1]);
    assert.ok((totals?.bundles_in ?? 0) >= 1);
    // B sees the link A opened, and counts the bundle once its read of the payload has ended.
    const incoming = await eventually('b counts the bundle out', async () => {
      const rows = (await cb.sync.peers()).filter((p) => p.direction === 'incoming');
      return rows.some((p) => p.bundles_out >= 1) ? rows : undefined;
    });
    assert.deepEqual(incoming.map((p) => [p.found, p.bundles_out]), [['incoming', 1]]);
    const route = await eventually('bob is routed', async () => (await ca.sync.routes()).find((r) => r.sid === bob.sid));
    assert.deepEqual([route.is_self, route.hop_count, route.reachable_unicast, route.interface], [false, 1, true, b.meshUrl]);
  });

  void it('names the columns as the node does', async () => {
    const header = async (path: '/restful/sync/peers.json' | '/restful/route/all.json'): Promise<string[]> => {
      const { data } = await ca.api.GET(path);
      return (data as unknown as { header: string[] }).header;
    };
    assert.deepEqual(await header('/restful/sync/peers.json'), [...SYNC_PEER_COLUMNS]);
    assert.deepEqual(await header('/restful/route/all.json'), [...ROUTE_COLUMNS]);
  });
});
