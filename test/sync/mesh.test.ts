/**
 * Store and forward, end to end: three real nodes A – B – C where A and C never connect. A MeshMS
 * message sent on A appears in C's message list and in C's newsince stream; once C has read it,
 * C's acknowledgement travels back and A sees it delivered; the same the other way. A MeshMB feed
 * C follows updates from A's posts. Each node's route table (route/all.json, the layout the Serval
 * Java client reads) lists its own identities, its neighbour's, and the far node's behind it; an
 * identity added or removed on C reaches A's table over the links already up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addIdentity as addMeshmbIdentity, send as post, type TestIdentity } from '../helpers/meshmb.js';
import { asMessage, messageList, openStream, sendOk } from '../helpers/meshms.js';
import { eventually, startSyncNode, tableObjects, type SyncNode } from '../helpers/sync.js';

interface RouteRow {
  sid: string;
  did: string | null;
  name: string | null;
  is_self: boolean;
  reachable_broadcast: boolean;
  reachable_unicast: boolean;
  reachable_indirect: boolean;
  interface: string | null;
  hop_count: number;
  first_hop: string | null;
  penultimate_hop: string | null;
}

async function routes(node: SyncNode): Promise<RouteRow[]> {
  const r = await node.request('GET', '/restful/route/all.json');
  assert.equal(r.status, 200, r.text);
  return tableObjects<RouteRow>(r);
}

void describe('Tendril sync: store and forward through a relay', () => {
  let a: SyncNode;
  let b: SyncNode;
  let c: SyncNode;
  let ida: TestIdentity;
  let idb: TestIdentity;
  let idc: TestIdentity;
  let idc2: TestIdentity;

  before(async () => {
    [a, b, c] = await Promise.all([startSyncNode('a'), startSyncNode('b'), startSyncNode('c')]);
    ida = await addMeshmbIdentity(a.api, 'Alice');
    idb = await addMeshmbIdentity(b.api, 'Bob');
    idc = await addMeshmbIdentity(c.api, 'Carol');
    idc2 = await addMeshmbIdentity(c.api, 'Carol too');
    // A and C both dial B; neither knows the other.
    await a.addPeer('b', b);
    await c.addPeer('b', b);
  });
  after(async () => {
    await Promise.all([a, b, c].map((n) => n?.destroy()));
  });

  void it('lists routes as the reference does: self at 0 hops, the neighbour at 1, what lies behind it further', async () => {
    const table = await eventually('a learns of c', async () => {
      const rows = await routes(a);
      return rows.some((r) => r.sid === idc2.sid) ? rows : undefined;
    });
    const of = (sid: string): RouteRow => table.find((r) => r.sid === sid)!;
    assert.deepEqual(table.map((r) => r.sid), [...table.map((r) => r.sid)].sort());
    assert.equal(table.length, 4);
    assert.deepEqual(
      { ...of(ida.sid) },
      { sid: ida.sid, did: '', name: 'Alice', is_self: true, reachable_broadcast: false, reachable_unicast: false, reachable_indirect: false, interface: null, hop_count: 0, first_hop: null, penultimate_hop: null },
    );
    assert.equal(of(idb.sid).reachable_unicast, true);
    assert.equal(of(idb.sid).hop_count, 1);
    assert.equal(of(idb.sid).is_self, false);
    assert.equal(of(idb.sid).interface, b.meshUrl);
    // Carol's primary is two hops away through Bob; her second identity one more.
    assert.deepEqual([of(idc.sid).hop_count, of(idc.sid).reachable_indirect, of(idc.sid).first_hop], [2, true, idb.sid]);
    assert.deepEqual([of(idc2.sid).hop_count, of(idc2.sid).first_hop], [3, idb.sid]);
    // The relay sees both ends one hop away, each from its own link.
    const relay = await routes(b);
    assert.equal(relay.find((r) => r.sid === ida.sid)!.hop_count, 1);
    assert.equal(relay.find((r) => r.sid === idc.sid)!.hop_count, 1);
    assert.equal(relay.find((r) => r.sid === idc2.sid)!.hop_count, 2);
    assert.equal(relay.find((r) => r.sid === idc2.sid)!.first_hop, idc.sid);
  });

  void it('a MeshMS message sent on A reaches C (list and newsince stream), and A sees it delivered once C has read it', async () => {
    const stream = openStream(c.api, `/restful/meshms/${idc.sid}/${ida.sid}/newsince/messagelist.json`);
    assert.equal(await stream.status, 200);
    await sendOk(a.api, ida.sid, idc.sid, 'Hello Carol, via Bob');
    const streamed = await stream.until((rows) => rows.some((r) => asMessage(r).text === 'Hello Carol, via Bob'), 60_000);
    assert.equal(asMessage(streamed.find((r) => asMessage(r).text !== null)!).type, '<');
    stream.close();
    // Reading the list acknowledges the message; the ACK travels back through B.
    const list = await messageList(c.api, idc.sid, ida.sid);
    assert.ok(list.rows.map(asMessage).some((m) => m.type === '<' && m.text === 'Hello Carol, via Bob'));
    await eventually('a sees it delivered', async () => {
      const sent = (await messageList(a.api, ida.sid, idc.sid)).rows.map(asMessage).find((m) => m.type === '>');
      return sent?.delivered === true ? true : undefined;
    });
  });

  void it('and the other way: C to A, delivered back on C', async () => {
    await sendOk(c.api, idc.sid, ida.sid, 'Hello Alice');
    await eventually('a gets it', async () =>
      (await messageList(a.api, ida.sid, idc.sid)).rows.map(asMessage).some((m) => m.type === '<' && m.text === 'Hello Alice') ? true : undefined,
    );
    await eventually('c sees it delivered', async () => {
      const mine = (await messageList(c.api, idc.sid, ida.sid)).rows.map(asMessage).filter((m) => m.type === '>');
      return mine.length > 0 && mine.every((m) => m.delivered) ? true : undefined;
    });
  });

  void it('a MeshMB feed followed on C updates from A’s posts', async () => {
    await post(a.api, ida.identity, 'first post');
    const follow = await c.request('POST', `/restful/meshmb/${idc.identity}/follow/${ida.identity}`, { headers: { 'Content-Length': 0 } });
    assert.equal(follow.status, 201, follow.text);
    const activityHas = (text: string) => async () => {
      const r = await c.request('GET', `/restful/meshmb/${idc.identity}/activity.json`);
      return r.status === 200 && r.text.includes(text) ? true : undefined;
    };
    await eventually('c sees the first post', activityHas('first post'));
    await post(a.api, ida.identity, 'second post');
    await eventually('c sees the second post', activityHas('second post'));
    const feed = await c.request('GET', `/restful/meshmb/${ida.identity}/messagelist.json`);
    assert.equal(feed.status, 200);
    assert.ok(feed.text.includes('second post') && feed.text.includes('first post'));
  });

  void it('an identity added on C reaches A’s routes over the links already up, and goes when C removes it', async () => {
    const idc3 = await addMeshmbIdentity(c.api, 'Carol three');
    const route = await eventually('a routes to the new identity', async () => (await routes(a)).find((r) => r.sid === idc3.sid));
    // C's third identity: two hops from B (through C's primary), three from A.
    assert.deepEqual([route.hop_count, route.first_hop, route.reachable_indirect], [3, idb.sid, true]);
    assert.equal((await routes(b)).find((r) => r.sid === idc3.sid)?.hop_count, 2);
    const removed = await c.request('DELETE', `/restful/keyring/${idc3.sid}`);
    assert.equal(removed.status, 200, removed.text);
    await eventually('a no longer routes to it', async () => ((await routes(a)).some((r) => r.sid === idc3.sid) ? undefined : true));
    assert.equal((await routes(b)).some((r) => r.sid === idc3.sid), false);
    // The rest stays as it was.
    assert.equal((await routes(a)).find((r) => r.sid === idc2.sid)?.hop_count, 3);
  });
});
