/**
 * Rhizome Direct between two Tendril nodes, each in its own process: push, pull and sync from
 * disjoint and overlapping stores (different versions of the same bundles: the newer wins on both
 * sides), a walk of more than 2,047 bundles across size bins (several enquiry rounds), and a
 * journal whose new tail alone crosses. The node in this process runs the client (as `rhizome
 * direct` does, through the control socket); the other is a child process serving `direct`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../src/formats/hex.js';
import { spawnNode, type ChildNode } from '../helpers/child-node.js';
import { DIRECT_STORES, fixtureBundle, fixtureSet, type FixtureBundle } from '../helpers/direct-fixtures.js';
import { directSync, heldBundles, loadBundles, newestOf, startDirectNode } from '../helpers/direct.js';
import { HARRY, makeInstance, request, type TestNode } from '../helpers/node.js';
import type { InstancePaths } from '../../src/node/instance.js';

const SERVE_DIRECT = ['--commands', 'web server --mode=upstream --serve=api,direct'];

/** A node in a child process, its store filled first (in this process, before it starts). */
async function peerWith(bundles: readonly FixtureBundle[]): Promise<{ child: ChildNode; paths: InstancePaths; url: string }> {
  const paths = makeInstance();
  const filler = await startDirectNode({ paths });
  await loadBundles(filler.node, bundles);
  await filler.stop();
  const child = await spawnNode(paths, { args: SERVE_DIRECT });
  return { child, paths, url: `http://127.0.0.1:${child.port}` };
}

type Peer = Awaited<ReturnType<typeof peerWith>>;

/** Hooks that start this node with `ours` and a peer with `theirs` before the tests, and stop both after. */
function nodes(ours: readonly FixtureBundle[], theirs: readonly FixtureBundle[]): { readonly a: TestNode; readonly b: Peer } {
  const both = {} as { a: TestNode; b: Peer };
  before(async () => {
    both.a = await startDirectNode();
    await loadBundles(both.a.node, ours);
    both.b = await peerWith(theirs);
  });
  after(async () => {
    await both.b.child.stop();
    await both.a.destroy();
  });
  return both;
}

void describe('Rhizome Direct between two Tendril nodes (a peer in another process)', () => {
  void describe('push, pull and sync of small stores', () => {
    const ours = DIRECT_STORES.syncClient();
    const theirs = DIRECT_STORES.syncServer();

    const n = nodes(ours, theirs);

    void it('push: the peer stores what it lacked and newer versions; its own newer ones stay', async () => {
      const [s] = await directSync(n.a, 'push', n.b.url);
      assert.equal(s?.state, 'done', JSON.stringify(s));
      // Six new bundles and a newer version; two older versions and one it had are skipped.
      assert.deepEqual([s.sent, s.received, s.skipped, s.failed], [7, 0, 3, 0], JSON.stringify(s));
      assert.deepEqual(await heldBundles(n.b.child.port), newestOf(ours, theirs));
      assert.deepEqual(await heldBundles(n.a.nodePort), newestOf(ours));
    });

    void it('pull: we store what we lacked, the newer versions and the journal', async () => {
      const [s] = await directSync(n.a, 'pull', n.b.url);
      assert.equal(s?.state, 'done', JSON.stringify(s));
      assert.deepEqual([s.sent, s.received, s.failed], [0, 9, 0], JSON.stringify(s));
      assert.deepEqual(await heldBundles(n.a.nodePort), newestOf(ours, theirs));
    });

    void it('sync: nothing left to do both ways', async () => {
      const [s] = await directSync(n.a, 'sync', n.b.url);
      assert.equal(s?.state, 'done', JSON.stringify(s));
      assert.deepEqual([s.sent, s.received, s.failed], [0, 0, 0], JSON.stringify(s));
      assert.equal(s.round_trips, 1, 'one enquiry, no transfer');
    });
  });

  void describe('more than 2,047 bundles in several size bins', () => {
    // 2,600 shared bundles in two bins, 25 only here, 25 only there, 10 shared in other versions.
    const shared = fixtureSet('w', 2600, (i) => (i * 37) % 1201);
    const ours = [...shared, ...fixtureSet('wa', 25, (i) => 1000 + i * 200), ...fixtureSet('v', 10).map((x) => fixtureBundle(x.label, { size: 99, version: 5n }))];
    const theirs = [...shared, ...fixtureSet('wb', 25, (i) => i * 900), ...fixtureSet('v', 10).map((x) => fixtureBundle(x.label, { size: 98, version: 6n }))];

    const n = nodes(ours, theirs);

    void it('walks both sides in several enquiries and ends with the same store on both, newest versions', async () => {
      const summary = await n.a.node.direct.sync({ url: n.b.url, mode: 'sync' });
      assert.equal(summary.error, undefined);
      assert.ok(summary.stats.enquiries >= 2, `${summary.stats.enquiries} enquiries`);
      assert.equal(summary.stats.bars, ours.length);
      assert.deepEqual([summary.sent, summary.received, summary.failed], [25, 35, 0], JSON.stringify(summary));
      const expected = newestOf(ours, theirs);
      assert.deepEqual(await heldBundles(n.a.nodePort), expected);
      assert.deepEqual(await heldBundles(n.b.child.port), expected);
    });
  });

  void describe('a journal that grew', () => {
    const short = fixtureBundle('journal', { size: 300_000, version: 1n, journal: true });
    const long = fixtureBundle('journal', { size: 310_000, version: 2n, journal: true });

    const n = nodes([short], [long]);

    void it('fetches only the new tail, and stores the whole new version', async () => {
      const summary = await n.a.node.direct.sync({ url: n.b.url, mode: 'pull' });
      assert.deepEqual([summary.received, summary.failed, summary.error], [1, 0, undefined]);
      assert.ok(summary.stats.bytesReceived < 20_000, `${summary.stats.bytesReceived} bytes received for a 10,000-byte tail`);
      assert.deepEqual(await heldBundles(n.a.nodePort), newestOf([long]));
      const raw = await request(n.a.nodePort, 'GET', `/restful/rhizome/${toHex(long.bid)}/raw.bin`, { auth: HARRY });
      assert.ok(raw.body.equals(long.payload));
    });
  });
});
