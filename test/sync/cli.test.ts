/**
 * Sync from the command line, as a user runs it: `tendril sync peer add` with the token from a
 * file or the environment (never on the command line of the node, never in `config list` or the
 * log), `tendril sync status`, `tendril sync peer remove`; the peer here serves sync from a
 * dedicated web server in mesh mode, in a process of its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliOk, runCli } from '../helpers/cli.js';
import { insert } from '../helpers/rhizome.js';
import { bundleVersions, eventually, startSyncNode, type SyncNode } from '../helpers/sync.js';
import { spawnWebServer, type ChildWebServer } from '../helpers/web.js';

void describe('Tendril sync: the command line', () => {
  let a: SyncNode;
  let b: SyncNode;
  let front: ChildWebServer;
  let token: string;
  let bundle: string;

  before(async () => {
    [a, b] = await Promise.all([startSyncNode('a'), startSyncNode('b')]);
    front = await spawnWebServer(b.paths, ['--mode=mesh', '--bind=127.0.0.1', '--port=0']);
    token = await b.token();
    const r = await insert(b.api, { manifest: 'service=file\nname=cli.bin\n', payload: randomBytes(2000) });
    bundle = String(r.headers['serval-rhizome-bundle-id']);
  });
  after(async () => {
    await front?.stop();
    await Promise.all([a?.destroy(), b?.destroy()]);
  });

  void it('adds a peer with its token read from a file, and the link comes up through a dedicated mesh server', async () => {
    const file = join(a.paths.root, 'b.token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    // A server for other nodes alone says what it serves, not a REST API it does not have.
    assert.match(front.output(), /listening on http:\/\/127\.0\.0\.1:\d+ \(serves sync, direct\)/);
    assert.doesNotMatch(front.output(), /\/restful\//);
    const out = await cliOk(a.paths.root, ['sync', 'peer', 'add', front.url, '--token-file', file]);
    assert.match(out, new RegExp(`peer 0: ${front.url} \\(with a token\\)`));
    await eventually('a gets b’s bundle', async () => ((await bundleVersions(a)).has(bundle) ? true : undefined), 30_000);
    const again = await runCli(a.paths.root, ['sync', 'peer', 'add', front.url]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /is a peer already/);
  });

  void it('takes a token from TENDRIL_SYNC_TOKEN, and never shows it: config list, process list, log', async () => {
    await cliOk(a.paths.root, ['sync', 'peer', 'add', b.meshUrl, '--name', 'direct'], { env: { TENDRIL_SYNC_TOKEN: token } });
    const list = await cliOk(a.paths.root, ['config', 'list']);
    assert.match(list, /^sync\.peer\.direct\.token=\*{8}$/m);
    assert.match(list, /^sync\.peer\.0\.token_file=/m);
    assert.equal(list.includes(token), false);
    assert.equal((await cliOk(a.paths.root, ['sync', 'peer', 'list'])).includes(token), false);
    // Both URLs lead to the same node: one link is kept, the second is refused as a duplicate.
    const second = await eventually('the second link is refused', async () => (await a.peers()).find((p) => p.address === b.meshUrl && p.last_error !== null), 30_000);
    assert.equal(second.state, 'waiting');
    assert.match(second.last_error!, /duplicate/);
    assert.equal(readFileSync(`/proc/${a.child.pid}/cmdline`, 'utf8').includes(token), false);
    assert.equal(a.log().includes(token) || b.log().includes(token), false);
  });

  void it('reports each peer with `sync status`, and `sync peer remove` takes the link down', async () => {
    const status = await cliOk(a.paths.root, ['sync', 'status']);
    const lines = status.trim().split('\n');
    assert.match(lines[0]!, /^address\tdirection\tfound\tstate/);
    assert.ok(lines.some((l) => l.startsWith(`${front.url}\toutgoing\tconfig\t`)));
    assert.ok(lines.some((l) => l.startsWith(`${b.meshUrl}\toutgoing\t`)));
    // A peer known by its node id alone waits to be found on the local network (discovery is off here).
    const node = 'AB'.repeat(16);
    assert.equal((await cliOk(a.paths.root, ['sync', 'peer', 'add', '--node', node], { env: { TENDRIL_SYNC_TOKEN: token } })).trim(), `peer 1: node:${node.toLowerCase()} (with a token)`);
    const waiting = await eventually('listed', async () => (await a.peers()).find((p) => p.address === `node:${node.toLowerCase()}`));
    assert.deepEqual([waiting.state, waiting.last_error], ['waiting', 'not found on the local network']);
    await cliOk(a.paths.root, ['sync', 'peer', 'remove', node]);
    await cliOk(a.paths.root, ['sync', 'peer', 'remove', 'direct']);
    await cliOk(a.paths.root, ['sync', 'peer', 'remove', front.url]);
    await eventually('no more peers', async () => ((await a.peers()).length === 0 && (await b.peers()).length === 0 ? true : undefined), 30_000);
    assert.equal((await cliOk(a.paths.root, ['sync', 'peer', 'list'])).trim(), '');
  });
});
