/**
 * `tendril meshmb …` driven as a user drives it: one-shot commands in a child process against an
 * instance with no running node, asserting on stdout, stderr and exit codes.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import type { InstancePaths } from '../../src/node/instance.js';
import { newKeyringFile, writeKeyringFile } from '../../src/store/keyring-file.js';
import { cliOk, killInstanceNode, parseIdentityLines, runCli } from '../helpers/cli.js';
import { makeInstance } from '../helpers/node.js';

void describe('tendril meshmb', () => {
  const paths: InstancePaths = makeInstance();
  writeKeyringFile(paths.keyringFile, newKeyringFile(TEST_PIN_KEY_PARAMS));
  const dir = paths.root;
  after(async () => {
    await killInstanceNode(paths);
    rmSync(dir, { recursive: true, force: true });
  });

  void it('send, follow, feeds, activity, list, block and ignore; PINs unlock; bad input fails clearly', async () => {
    const [alice] = parseIdentityLines(await cliOk(dir, ['keyring', 'add', '--name', 'Alice']));
    const [bob] = parseIdentityLines(await cliOk(dir, ['keyring', 'add', '--name', 'Bob', '--pin', '1234']));
    const A = alice![1]!;
    const B = bob![1]!;

    assert.equal(await cliOk(dir, ['meshmb', 'send', A, 'hello from Alice']), '');
    const locked = await runCli(dir, ['meshmb', 'send', B, 'from Bob']);
    assert.equal(locked.code, 1);
    assert.match(locked.stderr, /Identity locked \(HTTP 419\)/);
    await cliOk(dir, ['meshmb', 'send', B, 'from Bob: ✓', '--pin', '1234']);

    await cliOk(dir, ['meshmb', 'follow', A, B, '--name', 'Bobby']);
    const feeds = (await cliOk(dir, ['meshmb', 'feeds', A])).split('\n');
    assert.equal(feeds[0], 'id:author:blocked:name:timestamp:last_message');
    assert.match(feeds[1]!, new RegExp(`^${B}:${bob![0]}:false:Bobby:\\d+:from Bob: ✓$`));

    const activity = (await cliOk(dir, ['meshmb', 'activity', A])).split('\n').filter((l) => l);
    assert.equal(activity[0], 'id:author:name:timestamp:offset:message');
    const fields = (line: string): string[] => {
      const p = line.split(':');
      return [p[0]!, p[1]!, p[2]!, p[4]!, p.slice(5).join(':')];
    };
    assert.deepEqual(activity.slice(1).map(fields), [
      [B, bob![0], 'Bob', '16', 'from Bob: ✓'],
      [A, alice![0], 'Alice', '19', 'hello from Alice'],
    ]);

    const list = (await cliOk(dir, ['meshmb', 'list', B])).split('\n').filter((l) => l);
    assert.deepEqual(list[0], 'offset:timestamp:text');
    assert.match(list[1]!, /^16:\d+:from Bob: ✓$/);

    await cliOk(dir, ['meshmb', 'block', A, B]);
    assert.match((await cliOk(dir, ['meshmb', 'feeds', A])).split('\n')[1]!, new RegExp(`^${B}:${bob![0]}:true::0:$`));
    await cliOk(dir, ['meshmb', 'ignore', A, B]);
    assert.equal(await cliOk(dir, ['meshmb', 'feeds', A]), 'id:author:blocked:name:timestamp:last_message\n');

    const bad = await runCli(dir, ['meshmb', 'feeds', 'not-an-id']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ID must be 64 hex digits/);
  });
});
