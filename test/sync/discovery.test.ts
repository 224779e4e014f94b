/**
 * Discovery of sync peers on a LAN (multicast DNS), between real nodes in two network namespaces
 * joined by one link: each node finds the other and lists it without dialling it; a peer named by
 * its node id alone is dialled where it was found, with a read-only token, so each pulls from the
 * other over a link of its own; a host that
 * forges announcements (another node's id, address records pointing elsewhere, a flood of
 * services) moves no link, is listed at its own address, and fills at most the bounded table.
 * Needs root; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { updateConfigFile } from '../../src/config/file.js';
import { MAX_FOUND } from '../../src/services/sync/discovery/mdns.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { lanUnavailable, makeLan, type Lan } from '../helpers/netns.js';
import { insert } from '../helpers/rhizome.js';
import { bundleVersions, eventually, startSyncNode, type PeerRow, type SyncNode } from '../helpers/sync.js';

const MESH_PORT = 4111;
const SERVERS = `web server --mode=upstream --port=0; web server --mode=mesh --bind=0.0.0.0 --port=${MESH_PORT}`;
const skip = lanUnavailable();

type Row = PeerRow & { found: string };

void describe('Tendril sync: discovery on the local network', { skip, timeout: 180_000 }, () => {
  let lan: Lan;
  let a: SyncNode;
  let b: SyncNode;
  let bNode: string;
  const rows = async (n: SyncNode): Promise<Row[]> => (await n.peers()) as Row[];

  before(async () => {
    lan = makeLan();
    const start = (name: string, i: number): Promise<SyncNode> => startSyncNode(name, { 'sync.discovery.enable': '1' }, {}, { wrap: lan.wrap(i), servers: SERVERS });
    [a, b] = await Promise.all([start('a', 0), start('b', 1)]);
  });
  after(async () => {
    await Promise.all([a, b].map((n) => n?.destroy()));
    lan?.destroy();
  });

  void it('finds the other node, lists it with how it was found, and does not dial it without credentials', async () => {
    const bUrl = `http://${lan.addresses[1]}:${MESH_PORT}`;
    const found = await eventually('a finds b', async () => (await rows(a)).find((r) => r.address === bUrl));
    assert.equal(found.found, 'mdns');
    assert.equal(found.state, 'discovered');
    assert.match(found.node!, /^[0-9a-f]{32}$/);
    bNode = found.node!;
    const seen = await eventually('b finds a', async () => (await rows(b)).find((r) => r.found === 'mdns'));
    assert.equal(seen.address, `http://${lan.addresses[0]}:${MESH_PORT}`);
    assert.equal(seen.state, 'discovered');
    // Neither dialled the other: no link in either direction.
    for (const n of [a, b]) assert.deepEqual((await rows(n)).filter((r) => r.direction === 'incoming' || r.state !== 'discovered'), []);
  });

  void it('each dials the other by node id where it was found, with a read-only token of it: both pull, both links stay', async () => {
    const aNode = (await rows(b)).find((r) => r.found === 'mdns')!.node!;
    const configure = async (n: SyncNode, name: string, other: SyncNode, node: string): Promise<void> => {
      updateConfigFile(n.paths.configFile, `sync.peer.${name}.token`, await other.token(true));
      updateConfigFile(n.paths.configFile, `sync.peer.${name}.node`, node.toUpperCase());
    };
    await configure(a, 'b', b, bNode);
    await configure(b, 'a', a, aNode);
    const made = await Promise.all(
      [a, b].map(async (n) => {
        const r = await insert(n.api, { manifest: `service=file\nname=${n.name}.bin\n`, payload: randomBytes(3000) });
        assert.equal(r.status, 201, r.text);
        return String(r.headers['serval-rhizome-bundle-id']);
      }),
    );
    for (const n of [a, b]) await eventually(`${n.name} holds both`, async () => {
        const held = await bundleVersions(n);
        return made.every((id) => held.has(id)) ? true : undefined;
      });
    for (const [n, other, url] of [[a, bNode, 1], [b, aNode, 0]] as const) {
      // The counters move just after the store has the bundle (the receiver counts it once its
      // import returns, the sender once its read of the payload ends): wait for them, then check.
      const t = await eventually(`${n.name} counts the bundles`, async () => {
        const mine = (await rows(n)).filter((r) => r.node === other);
        const counted = mine.some((r) => r.direction === 'outgoing' && r.bundles_in > 0) && mine.some((r) => r.direction === 'incoming' && r.bundles_out > 0);
        return counted ? mine : undefined;
      });
      const out = t.find((r) => r.direction === 'outgoing')!;
      assert.deepEqual([out.address, out.found, out.bundles_in], [`http://${lan.addresses[url]}:${MESH_PORT}`, 'mdns', 1]);
      // The other's pull-only link carries the other direction: not a duplicate of this one.
      assert.deepEqual(t.filter((r) => r.direction === 'incoming').map((r) => [r.found, r.bundles_out]), [['incoming', 1]]);
    }
  });

  void it('a forging host moves no link, is listed at its own address, and fills a bounded table', async () => {
    // From a's own host (10.77.0.1): a claim of b's id, and more services than a keeps, all with
    // address records pointing at loopback.
    const flood = Array.from({ length: MAX_FOUND + 16 }, () => ({ node: randomBytes(16).toString('hex'), port: 9, a: '127.0.0.1' }));
    const forged = [{ node: bNode, port: 9, a: '127.0.0.1' }, ...flood];
    await promisify(execFile)(lan.wrap(0)[0]!, [...lan.wrap(0).slice(1), process.execPath, '--import', 'tsx', 'test/helpers/mdns-forger.ts', JSON.stringify(forged)], {
      cwd: REPO_ROOT,
      timeout: 30_000,
    });
    const table = await eventually('a lists the forged services', async () => {
      const t = await rows(a);
      return t.filter((r) => r.state === 'discovered').length >= MAX_FOUND - 2 ? t : undefined;
    });
    const discovered = table.filter((r) => r.state === 'discovered');
    assert.ok(discovered.length <= MAX_FOUND, `${discovered.length} listed`);
    // Listed at the address the packets came from, never at their address records, never dialled.
    const forger = `http://${lan.addresses[0]}:9`;
    assert.deepEqual(new Set(discovered.map((r) => r.address)), new Set([forger]));
    assert.deepEqual(table.filter((r) => r.address === forger && r.state !== 'discovered'), []);
    // The link to b stays where b was found, and b's id was never dialled at the forger's address.
    const toB = table.filter((r) => r.node === bNode && r.direction === 'outgoing');
    assert.deepEqual(
      toB.map((r) => [r.address, r.state === 'idle' || r.state === 'transferring' || r.state === 'reconciling']),
      [[`http://${lan.addresses[1]}:${MESH_PORT}`, true]],
    );
  });
});
