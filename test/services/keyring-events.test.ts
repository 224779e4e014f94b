/**
 * The keyring tells its listeners of every change of the unlocked identities and of their DID or
 * name (sync announces them to peers at once, docs/sync.md §7): add, update, lock, unlock with a
 * PIN, remove; a wrong PIN and a failed change tell no one; a listener that throws changes
 * nothing of the keyring's answer; unsubscribing stops the calls.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { TEST_PIN_KEY_PARAMS } from '../../src/crypto/pin-key.js';
import { silentLogger } from '../../src/log.js';
import { openKeyring } from '../../src/services/keyring/keyring.js';
import { makeInstance } from '../helpers/node.js';

void describe('keyring change listeners', () => {
  const paths = makeInstance();
  after(() => rmSync(paths.root, { recursive: true, force: true }));

  void it('hear each change of the unlocked identities, and nothing else', async () => {
    const ring = await openKeyring({ path: paths.keyringFile, kdf: TEST_PIN_KEY_PARAMS, log: silentLogger() });
    const heard: number[] = [];
    const count = (): number => heard.length;
    const unsubscribe = ring.subscribe(() => heard.push(ring.list().length));
    ring.subscribe(() => {
      throw new Error('a faulty listener');
    });
    const plain = await ring.add({ name: 'Plain' });
    assert.deepEqual(heard, [1], 'add: heard with the new list already in place');
    const sealed = await ring.add({ name: 'Sealed', pin: '4321' });
    await ring.update(plain.sid, { did: '5550100' });
    assert.equal(count(), 3);
    ring.lock(sealed.sid);
    assert.deepEqual(heard.slice(3), [1], 'lock');
    assert.equal(await ring.enterPin('9999'), false);
    assert.equal(count(), 4, 'a wrong PIN tells no one');
    assert.equal(await ring.enterPin('4321'), true);
    assert.deepEqual(heard.slice(4), [2], 'unlock');
    await assert.rejects(async () => ring.update(plain.sid, { did: 'not a did' }), { code: 'KEYRING_INVALID_DID' });
    assert.equal(count(), 5, 'a refused change tells no one');
    await ring.remove(sealed.sid);
    assert.deepEqual(heard.slice(5), [1], 'remove');
    unsubscribe();
    await ring.add({ name: 'Unheard' });
    assert.equal(count(), 6);
  });
});
