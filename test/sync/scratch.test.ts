import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { insert } from '../helpers/rhizome.js';
import { converged, startSyncNode, type SyncNode } from '../helpers/sync.js';

describe('scratch', () => {
  let a: SyncNode;
  let b: SyncNode;
  before(async () => {
    [a, b] = await Promise.all([startSyncNode('a'), startSyncNode('b')]);
  });
  after(async () => {
    await Promise.all([a?.destroy(), b?.destroy()]);
  });
  it('converges', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await insert(a.api, { manifest: 'service=file\nname=a.txt\n', payload: randomBytes(100 + i) })).status, 201);
      assert.equal((await insert(b.api, { manifest: 'service=file\nname=b.txt\n', payload: randomBytes(2000 + i) })).status, 201);
    }
    await a.addPeer('b', b);
    const set = await converged([a, b], 30_000);
    assert.equal(set.size, 10);
    console.log(await a.peers(), await b.peers());
  });
});
