/**
 * Several Tendril nodes on one PostgreSQL database, over HTTP: what one node stores, every node
 * lists, serves and long-polls; concurrent versions of the same bundles through three nodes end
 * with the highest everywhere; a MeshMS conversation whose two sides use different nodes; an API
 * token made on one node works on all, and once revoked on one is refused by all. Latencies are
 * reported as diagnostics, never asserted (npm run bench measures them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { addIdentity, asMessage, messageList, sendOk } from '../helpers/meshms.js';
import { insert, manifestFields } from '../helpers/rhizome.js';

interface Table {
  readonly header: string[];
  readonly rows: unknown[][];
}

const column = (t: Table, name: string): unknown[] => t.rows.map((r) => r[t.header.indexOf(name)]);

describe('three nodes on one PostgreSQL database', () => {
  let database: TestDatabase;
  let nodes: TestNode[];
  before(async () => {
    database = await createTestDatabase();
    const config = { 'rhizome.store.backend': 'postgres', 'rhizome.store.url': database.url, 'api.restful.newsince_timeout': '3s' };
    nodes = [];
    for (let i = 0; i < 3; i++) nodes.push(await startTestNode({ config }));
  });
  after(async () => {
    for (const node of nodes) await node.destroy();
    await database.drop();
  });

  it('a bundle stored through one node is listed, fetched and long-polled through the others', async (t) => {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const first = await insert(a, { manifest: 'name=first\n', payload: 'first payload' });
    assert.equal(first.status, 201, first.text);
    const token = (await b.request('GET', '/restful/rhizome/bundlelist.json')).json<Table>().rows[0]![0] as string;
    // A long-poll on B and on C from the newest bundle, then an insert through A.
    const polls = [b, c].map((n) => n.request('GET', `/restful/rhizome/newsince/${token}/bundlelist.json`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    const second = await insert(a, { manifest: 'name=second\n', payload: Buffer.alloc(400_000, 7) });
    assert.equal(second.status, 201, second.text);
    const id = manifestFields(second.body).get('id')!;
    const woken = await Promise.all(
      polls.map(async (p) => {
        const r = await p;
        assert.equal(r.status, 200);
        return { ids: column(r.json<Table>(), 'id'), ms: performance.now() - started };
      }),
    );
    for (const w of woken) assert.ok(w.ids.includes(id), 'the long-poll delivered the new bundle');
    t.diagnostic(`the long-polls ended (their timeout) after ${woken.map((w) => w.ms.toFixed(0)).join(', ')} ms`);
    for (const node of [b, c]) {
      const rhm = await node.request('GET', `/restful/rhizome/${id}.rhm`);
      assert.deepEqual(rhm.body, second.body);
      const raw = await node.request('GET', `/restful/rhizome/${id}/raw.bin`, { headers: { Range: 'bytes=1000-1999' } });
      assert.equal(raw.status, 206);
      assert.deepEqual(raw.body, Buffer.alloc(1000, 7));
    }
  });

  it('versions of the same bundles sent through three nodes at once end with the highest on every node', async () => {
    const secret = 'aa'.repeat(32);
    const made = await insert(nodes[0]!, { manifest: 'name=versions\nversion=1\n', payload: 'v1', secret });
    assert.equal(made.status, 201, made.text);
    const id = manifestFields(made.body).get('id')!;
    const versions = Array.from({ length: 24 }, (_, i) => 1000 + ((i * 7919) % 24) * 10);
    const replies = await Promise.all(
      versions.map((v, i) => insert(nodes[i % 3]!, { manifest: `version=${v}\n`, payload: `payload of ${v}`, secret, bundleId: id })),
    );
    for (const r of replies) assert.ok([200, 201, 202].includes(r.status), r.text);
    const highest = String(Math.max(...versions));
    for (const node of nodes) {
      const rhm = await node.request('GET', `/restful/rhizome/${id}.rhm`);
      assert.equal(manifestFields(rhm.body).get('version'), highest);
      assert.equal((await node.request('GET', `/restful/rhizome/${id}/raw.bin`)).text, `payload of ${highest}`);
    }
  });

  it('a MeshMS conversation whose two sides use different nodes', async () => {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const alice = await addIdentity(a, 'alice');
    const bob = await addIdentity(b, 'bob');
    // Identities made on one node are unlocked on the others once they hear of them.
    await until(async () => (await c.request('GET', '/restful/keyring/identities.json')).text.includes(alice) && (await c.request('GET', '/restful/keyring/identities.json')).text.includes(bob));
    await sendOk(a, alice, bob, 'hello from node A');
    await sendOk(b, bob, alice, 'hello back from node B');
    const texts = async (node: TestNode, my: string, their: string): Promise<Array<string | null>> =>
      (await messageList(node, my, their)).rows.map(asMessage).filter((m) => m.type !== 'ACK').map((m) => m.text);
    assert.deepEqual((await texts(c, alice, bob)).sort(), ['hello back from node B', 'hello from node A']);
    assert.deepEqual((await texts(a, bob, alice)).sort(), ['hello back from node B', 'hello from node A']);
  });

  it('a token made on one node works on all; revoked on one, it is refused by all', async (t) => {
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const { token: secret, info } = await a.node.tokens.generate({ name: 'cluster' });
    const auth = `Bearer ${secret}`;
    for (const node of nodes) await until(async () => (await node.request('GET', '/restful/keyring/identities.json', { auth })).status === 200);
    const started = performance.now();
    await b.node.tokens.revoke(info.id);
    const refusedAfter: number[] = [];
    for (const node of [a, c]) {
      await until(async () => (await node.request('GET', '/restful/keyring/identities.json', { auth })).status === 401);
      refusedAfter.push(performance.now() - started);
    }
    assert.equal((await b.request('GET', '/restful/keyring/identities.json', { auth })).status, 401);
    t.diagnostic(`refused by the other nodes ${refusedAfter.map((ms) => ms.toFixed(0)).join(', ')} ms after the revocation`);
  });
});

/** Waits until `check` holds (other nodes hear of changes through NOTIFY), up to 10 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('never happened');
}
