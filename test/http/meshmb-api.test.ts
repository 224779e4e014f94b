/**
 * The MeshMB REST API over HTTP (spec §5), following the reference's tests/meshmbrestful (§8.4):
 * authentication, send, list, follow/ignore, feeds, activity (empty, threaded, and long-polled
 * from a token by three clients at once), plus block and the answers to client mistakes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeActivityToken, decodePositionToken } from '../../src/services/meshmb/tokens.js';
import { addIdentity, getTable, MESHMB, objects, openStream, post, send, type TestIdentity } from '../helpers/meshmb.js';
import { RON, startTestNode, type TestNode } from '../helpers/node.js';
import { manifestFields } from '../helpers/rhizome.js';

const ZERO_SID = '0'.repeat(64);
const TODO = { http_status_code: 201, http_status_message: 'TODO, detailed response' };

void describe('MeshMB REST API (tests/meshmbrestful)', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode({ config: { 'api.restful.newsince_timeout': '2' } });
  });
  after(async () => t.destroy());

  void it('AuthBasicMissing / AuthBasicWrong: 401 with the realm; other configured users are accepted', async () => {
    const a = await addIdentity(t);
    for (const auth of [null, 'Basic ' + Buffer.from('fred:nurks').toString('base64')]) {
      const r = await t.request('GET', `${MESHMB}/${a.identity}/feedlist.json`, { auth });
      assert.equal(r.status, 401);
      assert.equal(r.headers['www-authenticate'], 'Basic realm="Serval RESTful API"');
      assert.equal(r.json().http_status_code, 401);
    }
    const ron = await t.request('GET', `${MESHMB}/${a.identity}/feedlist.json`, { auth: RON });
    assert.equal(ron.status, 200);
  });

  void it('MeshMBRestSend: 201 "TODO, detailed response"; the feed is a bundle whose BID is the identity', async () => {
    const a = await addIdentity(t, 'Sender');
    const r = await send(t, a.identity, 'Hello World');
    assert.equal(r.reason, 'TODO, detailed response');
    assert.deepEqual(r.json(), TODO);
    const rhm = await t.request('GET', `/restful/rhizome/${a.identity}.rhm`);
    assert.equal(rhm.status, 200);
    const fields = manifestFields(rhm.body);
    assert.deepEqual([...fields.keys()], ['name', 'service', 'id', 'sender', 'filesize', 'tail', 'version', 'date', 'filehash']);
    assert.equal(fields.get('service'), 'MeshMB1');
    assert.equal(fields.get('sender'), a.sid);
    assert.equal(fields.get('name'), 'Sender');
    assert.equal(fields.get('tail'), '0');
    assert.equal(fields.get('version'), fields.get('filesize'));
    assert.equal(rhm.headers['serval-rhizome-bundle-author'], a.sid);
    const raw = await t.request('GET', `/restful/rhizome/${a.identity}/raw.bin`);
    assert.equal(raw.body.subarray(0, 12).toString('latin1'), 'Hello World\0');
  });

  void it('MeshMBRestList: two messages at offsets 30 and 12, newest first, with tokens and the feed name', async () => {
    const a = await addIdentity(t, 'Lister');
    await send(t, a.identity, 'Message 1');
    await send(t, a.identity, 'Message 2');
    const list = await getTable(t, `${a.identity}/messagelist.json`);
    assert.equal(list.name, 'Lister');
    assert.deepEqual(list.header, ['offset', 'token', 'text', 'timestamp']);
    const rows = objects(list);
    assert.deepEqual(rows.map((r) => [r.offset, r.text]), [[30, 'Message 2'], [12, 'Message 1']]);
    for (const r of rows) {
      assert.equal(decodePositionToken(r.token as string), r.offset);
      assert.ok(Math.abs((r.timestamp as number) - Date.now() / 1000) < 60);
    }
  });

  void it("the feed's name follows the keyring at every send; an emptied name stays as an empty field", async () => {
    const a = await addIdentity(t, 'Before');
    await send(t, a.identity, 'one');
    assert.equal((await t.request('PATCH', `/restful/keyring/${a.sid}?name=After`)).status, 200);
    await send(t, a.identity, 'two');
    assert.equal((await getTable(t, `${a.identity}/messagelist.json`)).name, 'After');
    assert.equal((await t.request('PATCH', `/restful/keyring/${a.sid}?name=`)).status, 200);
    await send(t, a.identity, 'three');
    const rhm = await t.request('GET', `/restful/rhizome/${a.identity}.rhm`);
    assert.equal(manifestFields(rhm.body).get('name'), '');
    assert.equal('name' in (await getTable(t, `${a.identity}/messagelist.json`)), false);
  });

  void it('an unknown feed lists no rows and no name; a feed of an identity with no name has no name member', async () => {
    const unknown = await getTable(t, `${'AB'.repeat(32)}/messagelist.json`);
    assert.deepEqual(unknown.rows, []);
    assert.equal('name' in unknown, false);
    const anon = await addIdentity(t);
    await send(t, anon.identity, 'no name');
    const list = await getTable(t, `${anon.identity}/messagelist.json`);
    assert.equal('name' in list, false);
    assert.equal(list.rows.length, 1);
  });

  void it('MeshMBRestFollow and MeshMBRestFeeds: follow two, list them in BID order, ignore one', async () => {
    const ids = [await addIdentity(t), await addIdentity(t), await addIdentity(t)];
    for (const [i, id] of ids.entries()) await send(t, id.identity, `Message ${i + 1}`);
    const [a1, a2, a3] = ids as [TestIdentity, TestIdentity, TestIdentity];
    const follow = await post(t, `${a1.identity}/follow/${a2.identity}`);
    assert.deepEqual(follow.json(), TODO);
    let feeds = objects(await getTable(t, `${a1.identity}/feedlist.json`));
    assert.deepEqual(feeds, [{ id: a2.identity, author: a2.sid, blocked: false, name: null, timestamp: feeds[0]!.timestamp, last_message: 'Message 2' }]);
    assert.ok((feeds[0]!.timestamp as number) > 0);
    await post(t, `${a1.identity}/follow/${a3.identity}`);
    const table = await getTable(t, `${a1.identity}/feedlist.json`);
    assert.deepEqual(table.header, ['id', 'author', 'blocked', 'name', 'timestamp', 'last_message']);
    feeds = objects(table);
    const expected = [a2, a3].sort((x, y) => x.identity.localeCompare(y.identity));
    assert.deepEqual(feeds.map((f) => [f.id, f.author, f.last_message]), expected.map((x) => [x.identity, x.sid, `Message ${x === a2 ? 2 : 3}`]));
    await post(t, `${a1.identity}/ignore/${a2.identity}`);
    feeds = objects(await getTable(t, `${a1.identity}/feedlist.json`));
    assert.deepEqual(feeds.map((f) => f.id), [a3.identity]);
    // Following again changes nothing; ignoring what is not followed is still 201.
    await post(t, `${a1.identity}/follow/${a3.identity}`);
    await post(t, `${a1.identity}/ignore/${a2.identity}`);
    assert.equal((await getTable(t, `${a1.identity}/feedlist.json`)).rows.length, 1);
  });

  void it('MeshMBRestEmptyActivity: a fresh identity has no activity', async () => {
    const a = await addIdentity(t);
    const activity = await getTable(t, `${a.identity}/activity.json`);
    assert.deepEqual(activity.header, ['.token', 'ack_offset', 'id', 'author', 'name', 'timestamp', 'offset', 'message']);
    assert.deepEqual(activity.rows, []);
  });

  void it('MeshMBRestActivity: interleaved sends and follows across five feeds thread in the reference order', async () => {
    const [A, B, C, D, E] = [
      await addIdentity(t, 'Feed A'),
      await addIdentity(t, 'Feed B'),
      await addIdentity(t, 'Feed C'),
      await addIdentity(t, 'Feed D'),
      await addIdentity(t, 'Feed E'),
    ] as [TestIdentity, TestIdentity, TestIdentity, TestIdentity, TestIdentity];
    const activity = (): Promise<unknown> => getTable(t, `${A.identity}/activity.json`);
    await send(t, B.identity, 'Message 2');
    await send(t, C.identity, 'Message 3');
    await post(t, `${A.identity}/follow/${B.identity}`);
    await post(t, `${A.identity}/follow/${C.identity}`);
    await send(t, D.identity, 'Message 4');
    await post(t, `${A.identity}/follow/${D.identity}`);
    await send(t, D.identity, 'Message 5');
    await activity();
    await send(t, E.identity, 'Message 6');
    await post(t, `${A.identity}/follow/${E.identity}`);
    await send(t, B.identity, 'Message 7');
    await activity();
    await send(t, C.identity, 'Message 8');
    await activity();
    await send(t, D.identity, 'Message 9');
    await activity();
    await send(t, E.identity, 'Message 10');
    await activity();
    await send(t, A.identity, 'Message 11');
    await activity();
    const rows = objects(await getTable(t, `${A.identity}/activity.json`));
    const who = [A, E, D, C, B, E, D, D, C, B];
    assert.deepEqual(
      rows.map((r) => [r.id, r.author, r.name, r.message]),
      who.map((x, i) => [x.identity, x.sid, x.name, `Message ${11 - i}`]),
    );
    // Tokens name each row's position; positions only decrease down the list.
    const positions = rows.map((r) => decodeActivityToken(r['.token'] as string)!);
    for (const [i, p] of positions.entries()) {
      assert.equal(p.ack, rows[i]!.ack_offset);
      assert.equal(p.msg, rows[i]!.offset);
      if (i > 0) assert.ok(p.ack < positions[i - 1]!.ack || (p.ack === positions[i - 1]!.ack && p.msg < positions[i - 1]!.msg));
    }
  });

  void it('MeshMBRestNewActivity: three long-polls from the newest token each see exactly the five new rows', async () => {
    const [A, B, C] = [await addIdentity(t, 'Feed A'), await addIdentity(t, 'Feed B'), await addIdentity(t, 'Feed C')] as [
      TestIdentity,
      TestIdentity,
      TestIdentity,
    ];
    await send(t, B.identity, 'Message 1');
    await send(t, C.identity, 'Message 2');
    await post(t, `${A.identity}/follow/${B.identity}`);
    await post(t, `${A.identity}/follow/${C.identity}`);
    const first = objects(await getTable(t, `${A.identity}/activity.json`));
    assert.equal(first.length, 2);
    const token = first[0]!['.token'] as string;
    const streams = [1, 2, 3].map(() => openStream(t, `${A.identity}/activity/${token}/activity.json`));
    await Promise.all(streams.map((s) => s.opened));
    await send(t, B.identity, 'Message 3');
    await send(t, C.identity, 'Message 4');
    await send(t, B.identity, 'Message 5');
    await send(t, C.identity, 'Message 6');
    await send(t, A.identity, 'Message 7');
    const expected = [
      [B, 'Message 3'],
      [C, 'Message 4'],
      [B, 'Message 5'],
      [C, 'Message 6'],
      [A, 'Message 7'],
    ] as const;
    for (const stream of streams) {
      const done = await stream.done;
      assert.equal(done.status, 200);
      const rows = objects(JSON.parse(done.text) as { header: string[]; rows: unknown[][] });
      assert.equal(rows.length, 5, done.text);
      for (const [who, message] of expected) {
        assert.ok(
          rows.some((r) => r.id === who.identity && r.author === who.sid && r.name === who.name && r.message === message),
          `${message} in ${done.text}`,
        );
      }
      // Rows arrived while the stream was open, not all at the end.
      assert.ok(done.chunks.length > 2);
    }
  });

  void it('ID/activity/activity.json (the reference takes it for an empty token): everything, then what arrives', async () => {
    const [A, B] = [await addIdentity(t), await addIdentity(t, 'Early')] as [TestIdentity, TestIdentity];
    await send(t, B.identity, 'already here');
    await post(t, `${A.identity}/follow/${B.identity}`);
    const stream = openStream(t, `${A.identity}/activity/activity.json`);
    await stream.opened;
    await send(t, B.identity, 'arrives later');
    const done = await stream.done;
    const rows = objects(JSON.parse(done.text) as { header: string[]; rows: unknown[][] });
    assert.deepEqual(rows.map((r) => r.message), ['already here', 'arrives later']);
  });

  void it('block: the feed shows as blocked with no name or message, leaves the activity, and ignore forgets it', async () => {
    const [A, B] = [await addIdentity(t), await addIdentity(t, 'Blockee')] as [TestIdentity, TestIdentity];
    await send(t, B.identity, 'before');
    await post(t, `${A.identity}/follow/${B.identity}`);
    assert.equal((await getTable(t, `${A.identity}/activity.json`)).rows.length, 1);
    await post(t, `${A.identity}/block/${B.identity}`);
    assert.deepEqual(objects(await getTable(t, `${A.identity}/feedlist.json`)), [
      { id: B.identity, author: B.sid, blocked: true, name: null, timestamp: 0, last_message: null },
    ]);
    await send(t, B.identity, 'while blocked');
    assert.deepEqual((await getTable(t, `${A.identity}/activity.json`)).rows, []);
    // Following a blocked feed does not unblock it (as in the reference); ignoring does.
    await post(t, `${A.identity}/follow/${B.identity}`);
    assert.equal(objects(await getTable(t, `${A.identity}/feedlist.json`))[0]!.blocked, true);
    await post(t, `${A.identity}/ignore/${B.identity}`);
    assert.deepEqual((await getTable(t, `${A.identity}/feedlist.json`)).rows, []);
    // Blocking an unknown feed with a sender records it with that author.
    const unknown = 'CD'.repeat(32);
    await post(t, `${A.identity}/block/${unknown}?sender=${B.sid}`);
    assert.deepEqual(objects(await getTable(t, `${A.identity}/feedlist.json`))[0], {
      id: unknown,
      author: B.sid,
      blocked: true,
      name: null,
      timestamp: 0,
      last_message: null,
    });
  });

  void it('follow with name and sender: a feed not yet here shows the given author and name until it arrives', async () => {
    const [A, B] = [await addIdentity(t), await addIdentity(t, 'Real name')] as [TestIdentity, TestIdentity];
    const name = encodeURIComponent('Nick "the" name ✓');
    await post(t, `${A.identity}/follow/${B.identity}?name=${name}&sender=${B.sid}`);
    assert.deepEqual(objects(await getTable(t, `${A.identity}/feedlist.json`)), [
      { id: B.identity, author: B.sid, blocked: false, name: 'Nick "the" name ✓', timestamp: 0, last_message: null },
    ]);
    await send(t, B.identity, 'arrived');
    const feeds = objects(await getTable(t, `${A.identity}/feedlist.json`));
    assert.equal(feeds[0]!.name, 'Nick "the" name ✓'); // overridden names stay
    assert.equal(feeds[0]!.last_message, 'arrived');
    // The activity shows the feed's own name.
    assert.equal(objects(await getTable(t, `${A.identity}/activity.json`))[0]!.name, 'Real name');
    // An unknown feed without a sender has an all-zero author.
    const unknown = 'EF'.repeat(32);
    await post(t, `${A.identity}/follow/${unknown}`);
    assert.equal(objects(await getTable(t, `${A.identity}/feedlist.json`)).find((f) => f.id === unknown)!.author, ZERO_SID);
  });

  void it('an ID that is not an unlocked identity is 419 "Identity locked" for every identity endpoint', async () => {
    const pinned = (await t.request('POST', '/restful/keyring/add?pin=9999')).json<{ identity: TestIdentity }>().identity;
    const lock = await t.request('PUT', `/restful/keyring/${pinned.sid}/lock`);
    assert.equal(lock.status, 200);
    const feed = (await addIdentity(t)).identity;
    for (const id of [pinned.identity, 'AB'.repeat(32)]) {
      const r = await send(t, id, 'x', 419);
      assert.equal(r.reason, 'Identity locked');
      assert.equal(r.headers['tendril-error'], 'MESHMB_IDENTITY_LOCKED');
      for (const path of [`${id}/feedlist.json`, `${id}/activity.json`, `${id}/activity/B3Q=/activity.json`]) {
        const g = await t.request('GET', `${MESHMB}/${path}`);
        assert.equal(g.status, 419, path);
      }
      for (const op of ['follow', 'ignore', 'block']) await post(t, `${id}/${op}/${feed}`, 419);
    }
  });

  void it('routes: wrong verbs 405, unknown paths and bad tokens 404, text after FEEDID ignored, bad sender 400', async () => {
    const [A, B] = [await addIdentity(t), await addIdentity(t)] as [TestIdentity, TestIdentity];
    const wrong = [
      ['GET', `${A.identity}/sendmessage`],
      ['POST', `${A.identity}/messagelist.json`],
      ['POST', `${A.identity}/feedlist.json`],
      ['DELETE', `${A.identity}/activity.json`],
      ['GET', `${A.identity}/follow/${B.identity}`],
      ['PUT', `${A.identity}/block/${B.identity}`],
    ];
    for (const [method, path] of wrong) assert.equal((await t.request(method!, `${MESHMB}/${path}`)).status, 405, `${method} ${path}`);
    const missing = [
      `${A.identity}/nothing`,
      `${A.identity.slice(2)}/feedlist.json`,
      `${A.identity}/newsince/!!/messagelist.json`,
      `${A.identity}/newsince/gA==/messagelist.json`,
      `${A.identity}/activity/dA==/activity.json`,
      `${A.identity}/activity//activity.json`,
    ];
    for (const path of missing) assert.equal((await t.request('GET', `${MESHMB}/${path}`)).status, 404, path);
    await post(t, `${A.identity}/follow/${B.identity}/whatever`);
    assert.equal((await getTable(t, `${A.identity}/feedlist.json`)).rows.length, 1);
    const bad = await post(t, `${A.identity}/follow/${B.identity}?sender=nonsense`, 400);
    assert.equal(bad.headers['tendril-error'], 'MESHMB_INVALID_SENDER');
    await post(t, `${A.identity}/ignore/${B.identity}?sender=12`, 400);
    await post(t, `${A.identity}/block/${B.identity}?sender=`, 201);
  });
});
