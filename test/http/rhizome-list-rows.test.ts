/**
 * bundlelist.json keeps rendered rows between listings (src/http/api/bundle-rows.ts): whatever is
 * kept, every listing must be the one a node that never listed would write. Over more than one
 * store batch, with authored, sent and escaped rows: the first listing and the next are the same
 * bytes; locking an identity changes exactly the rows it wrote; a replaced bundle leaves its old
 * row behind; and after a restart (nothing kept) the node lists the very same bytes again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { send } from '../helpers/meshmb.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { bundleVector, importBundle, insert, loadReferenceIdentities, manifestFields, referenceIdentities } from '../helpers/rhizome.js';

const IDS = referenceIdentities();
const BOB = IDS.bob!;
const CAROL = IDS.carol!;
const LIST = '/restful/rhizome/bundlelist.json';
/** More rows than one store batch of keys (1,024). */
const BUNDLES = 1_100;

interface Table {
  header: string[];
  rows: unknown[][];
}

void describe('bundle lists from kept rows', () => {
  let t: TestNode;
  const authored = new Set<string>();
  let secretOfReplaced = '';
  let replaced = '';

  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
    const one = async (i: number): Promise<void> => {
      const kind = i % 50;
      const p =
        kind === 1
          ? { author: BOB.sid, manifest: `name=by Bob ${i}\n`, payload: `${i}` }
          : kind === 2
            ? { manifest: `service=wah\nsender=${BOB.sid}\nrecipient=${CAROL.sid}\n`, payload: `to Carol ${i}` }
            : kind === 3
              ? { manifest: `name=Zoë "quoted" \\ ${i} ✓\n`, payload: `${i}` }
              : { manifest: `name=plain-${i}.txt\n`, payload: `payload ${i}` };
      const r = await insert(t, p);
      assert.equal(r.status, 201, r.text);
      const bid = manifestFields(r.body).get('id')!;
      if (kind === 1) authored.add(bid);
      if (i === 500) {
        replaced = bid;
        secretOfReplaced = String(r.headers['serval-rhizome-bundle-secret']);
      }
    };
    for (let i = 0; i < BUNDLES; i += 20) await Promise.all(Array.from({ length: Math.min(20, BUNDLES - i) }, (_, k) => one(i + k)));
  });
  after(() => t.destroy());

  const list = async (): Promise<string> => {
    const r = await t.request('GET', LIST);
    assert.equal(r.status, 200);
    return r.text;
  };
  const table = (text: string): Table => JSON.parse(text) as Table;
  const column = (tb: Table, name: string): number => tb.header.indexOf(name);

  void it('lists the same bytes again, one token, every row once', async () => {
    const first = await list();
    const again = await list();
    assert.equal(again, first);
    const tb = table(first);
    assert.equal(tb.rows.length, BUNDLES);
    const token = column(tb, '.token');
    assert.equal(typeof tb.rows[0]![token], 'string');
    assert.ok(tb.rows.slice(1).every((row) => row[token] === null));
    const ids = tb.rows.map((row) => row[column(tb, '_id')] as number);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
    const author = column(tb, '.author');
    const fromhere = column(tb, '.fromhere');
    for (const row of tb.rows) {
      if (authored.has(row[column(tb, 'id')] as string)) assert.deepEqual([row[author], row[fromhere]], [BOB.sid, 1]);
    }
    assert.ok(tb.rows.some((row) => row[column(tb, 'sender')] === BOB.sid && row[author] === BOB.sid && row[fromhere] === 1));
    assert.ok(first.includes('"Zo\\u00EB \\"quoted\\" \\\\ '), 'names are escaped as the reference escapes them');
  });

  void it('an identity locked: exactly its rows change, and only in .author and .fromhere', async () => {
    const before = table(await list());
    assert.equal((await t.request('PUT', `/restful/keyring/${BOB.sid}/lock`)).status, 200);
    const text = await list();
    assert.equal(await list(), text);
    const after = table(text);
    const author = column(after, '.author');
    const fromhere = column(after, '.fromhere');
    let changed = 0;
    for (let i = 0; i < before.rows.length; i++) {
      const [was, now] = [before.rows[i]!, after.rows[i]!];
      if (was[author] === BOB.sid) {
        changed++;
        assert.deepEqual([now[author], now[fromhere]], [null, 0]);
        assert.deepEqual(now.filter((_, c) => c !== author && c !== fromhere), was.filter((_, c) => c !== author && c !== fromhere));
      } else {
        assert.deepEqual(now, was);
      }
    }
    assert.equal(changed, authored.size + BUNDLES / 50);
  });

  void it('a replaced bundle: its new row first, its old row gone; after a restart the same bytes', async () => {
    await list();
    const r = await insert(t, { secret: secretOfReplaced, manifest: `id=${replaced}\nversion=9999999999999\nname=replaced\n`, payload: 'new version' });
    assert.equal(r.status, 201, r.text);
    const text = await list();
    const tb = table(text);
    const ids = tb.rows.map((row) => row[column(tb, 'id')]);
    assert.equal(tb.rows.length, BUNDLES);
    assert.equal(ids[0], replaced);
    assert.equal(ids.filter((id) => id === replaced).length, 1);
    assert.equal(tb.rows[0]![column(tb, 'version')], 9999999999999);

    // A node that has kept nothing (restarted, with the same identities unlocked) lists the same.
    await t.stop();
    t = await startTestNode({ paths: t.paths });
    await loadReferenceIdentities(t);
    assert.equal((await t.request('PUT', `/restful/keyring/${BOB.sid}/lock`)).status, 200);
    assert.equal(await list(), text);
  });

  void it('a self-signed row (a MeshMB feed) names its sender as author, from here or not; a sender alone does not', async () => {
    await send(t, CAROL.identity, 'a feed of my own');
    const authorship = (tb: Table, match: (row: unknown[]) => boolean): unknown[][] =>
      tb.rows.filter(match).map((row) => [row[column(tb, '.author')], row[column(tb, '.fromhere')]]);
    const feed = (tb: Table) => (row: unknown[]): boolean => row[column(tb, 'service')] === 'MeshMB1' && row[column(tb, 'sender')] === CAROL.sid;
    let tb = table(await list());
    assert.deepEqual(authorship(tb, feed(tb)), [[CAROL.sid, 1]]);
    assert.equal((await t.request('PUT', `/restful/keyring/${CAROL.sid}/lock`)).status, 200);
    tb = table(await list());
    assert.deepEqual(authorship(tb, feed(tb)), [[CAROL.sid, 0]], 'self-signed: the sender is the author, though not from here');
    // Bob (locked) sent the `wah` bundles under keys of their own: no author can be named.
    const sentByBob = authorship(tb, (row) => row[column(tb, 'service')] === 'wah');
    assert.equal(sentByBob.length, BUNDLES / 50);
    assert.ok(sentByBob.every(([author, fromhere]) => author === null && fromhere === 0));
  });
});

void describe('bundle lists between changes', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(() => t.destroy());

  const rows = async (): Promise<Array<Record<string, unknown>>> => {
    const r = await t.request('GET', LIST);
    assert.equal(r.status, 200);
    const tb = JSON.parse(r.text) as Table;
    return tb.rows.map((row) => Object.fromEntries(tb.header.map((h, i) => [h, row[i]])));
  };

  void it('an author recorded after a listing shows in the next one; so does a bundle added', async () => {
    const bob = bundleVector('02_authored_bob');
    assert.equal((await importBundle(t, bob.manifest, bob.raw)).status, 201);
    const bid = manifestFields(bob.manifest).get('id')!;
    const row = async (): Promise<Record<string, unknown> | undefined> => (await rows()).find((r) => r.id === bid);
    assert.deepEqual([(await row())?.['.author'], (await row())?.['.fromhere']], [null, 0], 'nobody here could have written it');
    await loadReferenceIdentities(t);
    assert.deepEqual([(await row())?.['.author'], (await row())?.['.fromhere']], [null, 0], 'its author is not recorded yet');
    // Reading the manifest proves Bob its author (the BK opens with his key) and records him.
    const read = await t.request('GET', `/restful/rhizome/${bid}.rhm`);
    assert.equal(read.status, 200);
    assert.equal(read.headers['serval-rhizome-bundle-author'], BOB.sid);
    assert.deepEqual([(await row())?.['.author'], (await row())?.['.fromhere']], [BOB.sid, 1], 'the next listing shows the recorded author');
    const before = (await rows()).length;
    assert.equal((await insert(t, { manifest: 'name=later.txt\n', payload: 'later' })).status, 201);
    const now = await rows();
    assert.equal(now.length, before + 1);
    assert.equal(now[0]!.name, 'later.txt');
  });
});
