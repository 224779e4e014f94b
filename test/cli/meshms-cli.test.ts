/**
 * `tendril meshms send | list | conversations | read`, driven as a user drives them (one-shot
 * nodes over the control socket), and what a node then serves over HTTP: the emoji sent from the
 * command line and over REST each appear exactly once (spec §8.3 `unicode`).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import { newKeyringFile, writeKeyringFile } from '../../src/store/keyring-file.js';
import { cliOk, killInstanceNode, parseIdentityLines, runCli } from '../helpers/cli.js';
import { send } from '../helpers/meshms.js';
import { makeInstance, startTestNode } from '../helpers/node.js';

void describe('tendril meshms', () => {
  const paths = makeInstance();
  writeKeyringFile(paths.keyringFile, newKeyringFile(TEST_PIN_KEY_PARAMS));
  after(async () => {
    await killInstanceNode(paths);
    rmSync(paths.root, { recursive: true, force: true });
  });

  void it('sends both ways, lists, lists conversations, marks read; REST sees the same', async () => {
    const [a] = parseIdentityLines(await cliOk(paths.root, ['keyring', 'add', '--name', 'A']))[0]!;
    const [b] = parseIdentityLines(await cliOk(paths.root, ['keyring', 'add', '--name', 'B']))[0]!;
    assert.equal(await cliOk(paths.root, ['meshms', 'send', a!, b!, 'grinning \u{1F600}']), '');
    assert.equal(await cliOk(paths.root, ['meshms', 'send', b!, a!, 'Message4']), '');

    const list = (await cliOk(paths.root, ['meshms', 'list', a!, b!])).trimEnd().split('\n');
    assert.equal(list[0], '_id:my_offset:their_offset:age:type:message');
    const cells = list.slice(1).map((l) => l.split(':'));
    assert.deepEqual(
      cells.map((c) => [c[0], c[4], c.slice(5).join(':')]),
      [
        ['0', '<', 'Message4'],
        ['1', 'ACK', 'delivered'],
        ['2', '>', 'grinning \u{1F600}'],
      ],
    );
    assert.ok(Number(cells[2]![3]) >= 0 && Number(cells[2]![3]) < 60, 'the age of a message just sent');

    const convs = (await cliOk(paths.root, ['meshms', 'conversations', a!])).trimEnd().split('\n');
    assert.equal(convs[0], '_id:recipient:read:last_message:read_offset');
    assert.deepEqual(convs[1]!.split(':'), ['0', b, 'unread', '14', '0']);

    assert.equal(await cliOk(paths.root, ['meshms', 'read', a!, b!, '5']), '');
    assert.deepEqual((await cliOk(paths.root, ['meshms', 'conversations', a!])).trimEnd().split('\n')[1]!.split(':'), ['0', b, 'unread', '14', '5']);
    assert.equal(await cliOk(paths.root, ['meshms', 'read', a!]), '');
    assert.deepEqual((await cliOk(paths.root, ['meshms', 'conversations', a!])).trimEnd().split('\n')[1]!.split(':'), ['0', b, '', '14', '14']);

    const t = await startTestNode({ paths });
    try {
      assert.equal((await send(t, a!, b!, 'neutral \u{1F610}')).status, 201);
      const r = await t.request('GET', `/restful/meshms/${b}/${a}/messagelist.json`);
      assert.equal(r.text.split('\\uD83D\\uDE00').length - 1, 1);
      assert.equal(r.text.split('\\uD83D\\uDE10').length - 1, 1);
    } finally {
      await t.stop();
    }
  });

  void it('refuses bad arguments and reports the node’s refusals with a non-zero exit', async () => {
    const bad = await runCli(paths.root, ['meshms', 'send', 'nothex', 'F'.repeat(64), 'x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid sender SID/);
    const locked = await runCli(paths.root, ['meshms', 'list', 'E'.repeat(64), 'F'.repeat(64)]);
    assert.equal(locked.code, 1);
    assert.match(locked.stderr, /Identity locked \(HTTP 419\)/);
    const long = await runCli(paths.root, ['meshms', 'send', 'E'.repeat(64), 'F'.repeat(64), 'y'.repeat(4095)]);
    assert.equal(long.code, 1);
    assert.match(long.stderr, /Overflow in "message" form part \(HTTP 400\)/);
  });
});
