/**
 * Read-only credentials change nothing another client can observe (issue 14, finding 4):
 *
 *  - a PIN unlocks an identity for every client of the node, so only credentials that may write
 *    may send one (403 "read-only credentials cannot unlock identities" otherwise);
 *  - MeshMS lists acknowledge new messages and rewrite the conversation index as a side effect (as
 *    the reference's do) only for credentials that may write: for read-only ones the same answer
 *    is computed and nothing is stored — the store is byte for byte as it was, so the other party
 *    sees no "delivered" and other clients no new index.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addIdentity, sendOk, type MessageList } from '../helpers/meshms.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

const LIST = '/restful/keyring/identities.json';

describe('read-only credentials', () => {
  let t: TestNode;
  let ro: string;
  let rw: string;
  let locked: string;

  before(async () => {
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': '1s' } });
    ro = `Bearer ${(await t.node.tokens.generate({ name: 'ro', readOnly: true })).token}`;
    rw = `Bearer ${(await t.node.tokens.generate({ name: 'rw' })).token}`;
    locked = (await t.node.keyring.add({ pin: 'ro-test-pin', name: 'locked' })).sidHex;
    t.node.keyring.lock(locked);
  });
  after(async () => t?.destroy());

  /** Every bundle in the store, with its version: what another client could see change. */
  async function store(): Promise<string[]> {
    const r = await t.request('GET', '/restful/rhizome/bundlelist.json');
    assert.equal(r.status, 200);
    const table = r.json<{ header: string[]; rows: unknown[][] }>();
    const id = table.header.indexOf('id');
    const version = table.header.indexOf('version');
    return table.rows.map((row) => `${String(row[id])}@${String(row[version])}`).sort();
  }

  it('cannot unlock: 403 for `pin` on identities.json and GET SID, the identity stays locked for everyone', async () => {
    for (const path of [`${LIST}?pin=ro-test-pin`, `/restful/keyring/${locked}?pin=ro-test-pin`]) {
      const r = await t.request('GET', path, { auth: ro });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.headers['tendril-error'], 'ACCESS_READ_ONLY_UNLOCK');
      assert.deepEqual(r.json(), { http_status_code: 403, http_status_message: 'Forbidden: read-only credentials cannot unlock identities' });
    }
    assert.equal(t.node.keyring.find(locked), undefined);
    const seen = await t.request('GET', LIST);
    assert.ok(!seen.text.includes(locked), 'no other client sees it');
    // Without a PIN, the read-only token reads as ever; a write-capable token unlocks.
    assert.equal((await t.request('GET', LIST, { auth: ro })).status, 200);
    const unlocked = await t.request('GET', `${LIST}?pin=ro-test-pin`, { auth: rw });
    assert.ok(unlocked.text.includes(locked));
    t.node.keyring.lock(locked);
  });

  it("MeshMS lists store nothing for read-only credentials: no ACK in the ply, no index; write-capable ones do", async () => {
    const alice = await addIdentity(t, 'alice');
    const bob = await addIdentity(t, 'bob');
    await sendOk(t, bob, alice, 'hello alice');
    await sendOk(t, bob, alice, 'are you there?');
    const before = await store();

    const list = await t.request('GET', `/restful/meshms/${alice}/${bob}/messagelist.json`, { auth: ro });
    assert.equal(list.status, 200, list.text);
    const texts = list.json<MessageList>().rows.map((r) => r[6]);
    assert.deepEqual(texts, ['are you there?', 'hello alice']);
    const conversations = await t.request('GET', `/restful/meshms/${alice}/conversationlist.json`, { auth: ro });
    assert.equal(conversations.status, 200, conversations.text);
    assert.equal(conversations.json<{ rows: unknown[][] }>().rows.length, 1);
    // A long-poll, read to its end (the newsince timeout is 1 s here).
    const live = await t.request('GET', `/restful/meshms/${alice}/${bob}/newsince/messagelist.json`, { auth: ro });
    assert.equal(live.status, 200);
    assert.match(live.text, /hello alice/);
    assert.deepEqual(await store(), before, 'the store is as it was');
    // Bob sees nothing delivered.
    const bobs = (await t.request('GET', `/restful/meshms/${bob}/${alice}/messagelist.json`, { auth: ro })).json<MessageList>();
    assert.ok(bobs.rows.every((r) => r[7] === false), 'not delivered');

    // The same list with write-capable credentials acknowledges, as the reference does.
    assert.equal((await t.request('GET', `/restful/meshms/${alice}/${bob}/messagelist.json`, { auth: rw })).status, 200);
    assert.notDeepEqual(await store(), before, 'a write-capable list stores its ACK and index');
    const after = (await t.request('GET', `/restful/meshms/${bob}/${alice}/messagelist.json`, { auth: ro })).json<MessageList>();
    assert.ok(after.rows.some((r) => r[7] === true), 'delivered once a write-capable client read it');
  });

  it('may not write: 403 on every write route, as before', async () => {
    const r = await t.request('POST', '/restful/keyring/add', { auth: ro });
    assert.equal(r.status, 403);
    assert.equal(r.headers['tendril-error'], 'ACCESS_READ_ONLY');
  });
});
