/**
 * `tendril rhizome direct push|pull|sync [URL]` as a user runs it: against a Tendril peer in
 * another process, with a URL or the peers of rhizome.direct.peer.N, its summary as key:value
 * lines or JSON, exit 1 when a peer cannot be synced, and clear refusals of bad modes and peers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnNode, type ChildNode } from '../helpers/child-node.js';
import { cliOk, runCli } from '../helpers/cli.js';
import { fixtureSet } from '../helpers/direct-fixtures.js';
import { loadBundles, startDirectNode } from '../helpers/direct.js';
import { makeInstance } from '../helpers/node.js';
import type { InstancePaths } from '../../src/node/instance.js';

async function filledInstance(bundles: Parameters<typeof loadBundles>[1]): Promise<InstancePaths> {
  const paths = makeInstance();
  const node = await startDirectNode({ paths });
  await loadBundles(node.node, bundles);
  await node.stop();
  return paths;
}

function keyValues(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

describe('tendril rhizome direct', () => {
  let peer: ChildNode;
  let url: string;
  let ours: InstancePaths;

  before(async () => {
    const theirs = await filledInstance(fixtureSet('cli-theirs', 12));
    peer = await spawnNode(theirs, { args: ['--commands', 'web server --mode=upstream --serve=api,direct'] });
    url = `http://127.0.0.1:${peer.port}`;
    ours = await filledInstance(fixtureSet('cli-ours', 5));
  });
  after(() => peer.stop());

  it('syncs with a URL and prints the summary as JSON', async () => {
    const out = await cliOk(ours.root, ['rhizome', 'direct', 'sync', url, '--json']);
    const [summary] = JSON.parse(out) as Array<Record<string, unknown>>;
    assert.equal(summary?.peer, url);
    assert.deepEqual([summary?.compared, summary?.sent, summary?.received, summary?.skipped, summary?.failed], [5, 5, 12, 0, 0]);
    // One enquiry, five imports, twelve manifests and eleven payloads (one bundle is empty).
    assert.equal(summary?.round_trips, 1 + 5 + 12 + 11);
    assert.ok((summary?.bytes_received as number) > 0 && (summary?.bytes_sent as number) > 0);
  });

  it('uses rhizome.direct.peer.N without a URL, and prints key:value lines', async () => {
    await cliOk(ours.root, ['config', 'set', 'rhizome.direct.peer.3', `127.0.0.1:${peer.port}`]);
    const lines = keyValues(await cliOk(ours.root, ['rhizome', 'direct', 'pull']));
    assert.deepEqual([lines.peer, lines.compared, lines.received, lines.sent, lines.failed], [url, '17', '0', '0', '0']);
  });

  it('exits 1 with the reason when a peer cannot be reached', async () => {
    const r = await runCli(ours.root, ['rhizome', 'direct', 'push', 'http://127.0.0.1:1']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(keyValues(r.stdout).error ?? '', /ECONNREFUSED/);
  });

  it('refuses unknown modes, bad URLs and bad peer keys, naming them', async () => {
    const mode = await runCli(ours.root, ['rhizome', 'direct', 'fetch', url]);
    assert.equal(mode.code, 1);
    assert.match(mode.stderr, /unknown mode "fetch"/);
    const bad = await runCli(ours.root, ['rhizome', 'direct', 'sync', 'ftp://example.org']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid Rhizome Direct peer URL "ftp:\/\/example.org"/);
    const key = await runCli(ours.root, ['config', 'set', 'rhizome.direct.peer.10', url]);
    assert.notEqual(key.code, 0);
    assert.match(key.stderr, /Unknown configuration key: rhizome.direct.peer.10/);
    const value = await runCli(ours.root, ['config', 'set', 'rhizome.direct.peer.0', 'ftp://example.org']);
    assert.notEqual(value.code, 0);
    assert.match(value.stderr, /rhizome.direct.peer.0/);
  });

  it('says so when no peer is given or configured', async () => {
    const fresh = makeInstance();
    const r = await runCli(fresh.root, ['rhizome', 'direct', 'sync']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no Rhizome Direct peer/);
  });
});
