/**
 * Concurrency over HTTP (the issue's last paragraph): parallel imports and inserts of one bundle
 * with different versions end with the highest version stored, once; parallel keyring adds,
 * updates and removes lose no identity and no acknowledged change, across a restart too; parallel
 * MeshMS sends on one conversation, from both ends, lose no message.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bundleKeyPairFromSecret, signManifest } from '../../src/crypto/bundle-keys.js';
import { Manifest, serializeManifestText } from '../../src/formats/manifest.js';
import { addIdentity as meshmbIdentity, getTable, send as meshmbSend } from '../helpers/meshmb.js';
import { messageList, send } from '../helpers/meshms.js';
import { startTestNode, type Reply, type TestNode } from '../helpers/node.js';
import { importBundle, insert, manifestFields } from '../helpers/rhizome.js';

const hex = (b: Buffer): string => b.toString('hex').toUpperCase();

/** `items` in a random order (the order the requests are sent in). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32LE(0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Listed {
  header: string[];
  rows: unknown[][];
}

function column(list: Listed, name: string): unknown[] {
  const i = list.header.indexOf(name);
  return list.rows.map((r) => r[i]);
}

void describe('one bundle, many versions at once', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => t.destroy());

  /** What the store holds for `bid`: its manifest's version, its payload, and how often it is listed. */
  async function stored(bid: string): Promise<{ version: string | undefined; payload: string; listed: number }> {
    const rhm = await t.request('GET', `/restful/rhizome/${bid}.rhm`);
    assert.equal(rhm.status, 200, rhm.text);
    const raw = await t.request('GET', `/restful/rhizome/${bid}/raw.bin`);
    assert.equal(raw.status, 200);
    const list = (await t.request('GET', '/restful/rhizome/bundlelist.json')).json<Listed>();
    return { version: manifestFields(rhm.body).get('version'), payload: raw.text, listed: column(list, 'id').filter((id) => id === bid).length };
  }

  const answered = (replies: readonly Reply[]) => {
    for (const r of replies) assert.ok([200, 201, 202].includes(r.status), `${r.status} ${r.text.slice(0, 200)}`);
    assert.ok(replies.some((r) => r.status === 201), 'at least one version was stored');
  };

  void it('50 parallel imports of one bundle id with distinct versions: the highest is stored, once', async () => {
    const keys = bundleKeyPairFromSecret(randomBytes(32));
    const versions = Array.from({ length: 50 }, (_, i) => BigInt(1000 + i * 7));
    const bundles = versions.map((version) => {
      const payload = Buffer.from(`payload of version ${version}`);
      const m = new Manifest();
      m.id = keys.bid;
      m.version = version;
      m.filesize = BigInt(payload.length);
      m.filehash = createHash('sha512').update(payload).digest();
      m.service = 'file';
      m.name = 'concurrent.txt';
      m.date = 1_700_000_000_000n;
      return { manifest: signManifest(serializeManifestText(m), keys.secretKey), payload };
    });
    const replies = await Promise.all(shuffled(bundles).map((b) => importBundle(t, b.manifest, b.payload)));
    answered(replies);
    const highest = versions.at(-1)!;
    assert.deepEqual(await stored(hex(keys.bid)), { version: String(highest), payload: `payload of version ${highest}`, listed: 1 });
  });

  void it('50 parallel inserts with the bundle secret and explicit versions: the highest is stored, once', async () => {
    const secret = randomBytes(32);
    const bid = hex(bundleKeyPairFromSecret(secret).bid);
    const versions = Array.from({ length: 50 }, (_, i) => 5000 + i * 3);
    const replies = await Promise.all(
      shuffled(versions).map((v) => insert(t, { secret: hex(secret), manifest: `version=${v}\nservice=file\nname=inserted.txt\n`, payload: `inserted version ${v}` })),
    );
    answered(replies);
    const highest = versions.at(-1)!;
    assert.deepEqual(await stored(bid), { version: String(highest), payload: `inserted version ${highest}`, listed: 1 });
  });
});

interface IdentityJson {
  sid: string;
  did?: string | null;
  name?: string | null;
}

void describe('keyring edits at once', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => t.destroy());

  const list = async (node: TestNode, pin?: string): Promise<Map<string, IdentityJson>> => {
    const r = await node.request('GET', `/restful/keyring/identities.json${pin ? `?pin=${pin}` : ''}`);
    assert.equal(r.status, 200);
    const body = r.json<Listed>();
    return new Map(body.rows.map((row) => [row[0] as string, { sid: row[0] as string, did: row[2] as string | null, name: row[3] as string | null }]));
  };

  void it('30 parallel adds, updates and removes: every identity acknowledged and not removed is there, with its last DID/Name, after a restart too', async () => {
    // Ten identities to update and remove, made beforehand.
    const existing: string[] = [];
    for (let i = 0; i < 10; i++) existing.push((await t.request('POST', `/restful/keyring/add?name=old${i}`)).json<{ identity: IdentityJson }>().identity.sid);
    const [toRemove, toUpdate] = [existing.slice(0, 4), existing.slice(4)];

    type Op = { kind: 'add'; pin?: string; did: string; name: string } | { kind: 'did' | 'name'; sid: string; value: string } | { kind: 'remove'; sid: string };
    const ops: Op[] = [
      ...Array.from({ length: 10 }, (_, i): Op => ({ kind: 'add', did: `5550${100 + i}`, name: `new ${i}` })),
      ...Array.from({ length: 2 }, (_, i): Op => ({ kind: 'add', pin: '1234', did: `7770${100 + i}`, name: `pinned ${i}` })),
      // Each identity to update gets its DID and its Name changed by separate, concurrent
      // requests: neither may undo the other.
      ...toUpdate.flatMap((sid, i): Op[] => [
        { kind: 'did', sid, value: `1230${100 + i}` },
        { kind: 'name', sid, value: `renamed ${i}` },
      ]),
      ...toRemove.map((sid): Op => ({ kind: 'remove', sid })),
      // Two more concurrent Name changes of one identity: either may win, but one of them must.
      { kind: 'name', sid: toUpdate[0]!, value: 'race A' },
      { kind: 'name', sid: toUpdate[0]!, value: 'race B' },
    ];
    assert.equal(ops.length, 30);

    const results = await Promise.all(
      shuffled(ops).map(async (op) => {
        const r =
          op.kind === 'add'
            ? await t.request('POST', `/restful/keyring/add?did=${op.did}&name=${encodeURIComponent(op.name)}${op.pin ? `&pin=${op.pin}` : ''}`)
            : op.kind === 'remove'
              ? await t.request('DELETE', `/restful/keyring/${op.sid}`)
              : await t.request('PATCH', `/restful/keyring/${op.sid}?${op.kind}=${encodeURIComponent(op.value)}`);
        return { op, r };
      }),
    );
    for (const { op, r } of results) assert.equal(r.status, op.kind === 'add' ? 201 : 200, `${JSON.stringify(op)}: ${r.text}`);

    const added = results.filter(({ op }) => op.kind === 'add').map(({ op, r }) => ({ op: op as Extract<Op, { kind: 'add' }>, sid: r.json<{ identity: IdentityJson }>().identity.sid }));
    const expectations = (identities: Map<string, IdentityJson>, pinned: boolean): void => {
      for (const sid of toRemove) assert.ok(!identities.has(sid), `removed ${sid} is back`);
      for (const { op, sid } of added) {
        if (Boolean(op.pin) && !pinned) continue;
        assert.deepEqual(identities.get(sid), { sid, did: op.did, name: op.name }, `added ${op.name}`);
      }
      toUpdate.forEach((sid, i) => {
        const identity = identities.get(sid);
        assert.equal(identity?.did, `1230${100 + i}`, `DID of updated identity ${i}`);
        if (i === 0) assert.ok(['race A', 'race B', 'renamed 0'].includes(identity?.name ?? ''), identity?.name ?? '');
        else assert.equal(identity?.name, `renamed ${i}`);
      });
      const expectedCount = existing.length - toRemove.length + added.filter((a) => pinned || !a.op.pin).length;
      assert.equal(identities.size, expectedCount);
    };
    // The Name change answered last is what an update of that identity reports now.
    const now = await list(t, '1234');
    expectations(now, true);
    const winner = now.get(toUpdate[0]!)!.name;

    await t.stop();
    const again = await startTestNode({ paths: t.paths });
    try {
      expectations(await list(again), false);
      const reopened = await list(again, '1234');
      expectations(reopened, true);
      assert.equal(reopened.get(toUpdate[0]!)!.name, winner, 'the restart keeps the Name that won');
    } finally {
      await again.stop();
    }
  });
});

void describe('MeshMS sends at once', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => t.destroy());

  void it('parallel sends on one conversation, from both ends, lose no message', async () => {
    const add = async (): Promise<string> => (await t.request('POST', '/restful/keyring/add')).json<{ identity: IdentityJson }>().identity.sid;
    const [alice, bob] = [await add(), await add()];
    const texts = (who: string) => Array.from({ length: 20 }, (_, i) => `${who} says ${i}`);
    const sends = shuffled([...texts('alice').map((text) => [alice, bob, text] as const), ...texts('bob').map((text) => [bob, alice, text] as const)]);
    // Reading a conversation writes too (an ACK, the conversation index): reads go on meanwhile.
    const reads = Array.from({ length: 10 }, (_, i) => t.request('GET', i % 2 ? `/restful/meshms/${alice}/${bob}/messagelist.json` : `/restful/meshms/${bob}/conversationlist.json`));
    const [replies, readReplies] = await Promise.all([Promise.all(sends.map(([from, to, text]) => send(t, from, to, text))), Promise.all(reads)]);
    for (const r of replies) assert.equal(r.status, 201, r.text);
    for (const r of readReplies) assert.equal(r.status, 200, r.text);

    for (const [me, them, mine, theirs] of [
      [alice, bob, texts('alice'), texts('bob')],
      [bob, alice, texts('bob'), texts('alice')],
    ] as const) {
      const rows = (await messageList(t, me, them)).rows;
      const sent = rows.filter((r) => r[0] === '>').map((r) => r[6]);
      const received = rows.filter((r) => r[0] === '<').map((r) => r[6]);
      assert.deepEqual([...sent].sort(), [...mine].sort());
      assert.deepEqual([...received].sort(), [...theirs].sort());
      // Offsets only go one way: newest first, each message once.
      const offsets = rows.filter((r) => r[0] === '>').map((r) => r[3]);
      assert.deepEqual(offsets, [...offsets].sort((a, b) => b - a));
      assert.equal(new Set(offsets).size, offsets.length);
    }
  });
});

void describe('MeshMB sends at once', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
  });
  after(async () => t.destroy());

  void it('parallel sends to one feed lose no message', async () => {
    const author = await meshmbIdentity(t);
    const texts = Array.from({ length: 30 }, (_, i) => `post ${i}`);
    await Promise.all(shuffled(texts).map((text) => meshmbSend(t, author.identity, text)));
    const feed = await getTable(t, `${author.identity}/messagelist.json`);
    assert.deepEqual(column(feed, 'text').sort(), [...texts].sort());
  });
});
