/**
 * Plys written by Tendril are what the reference would write (spec §7.8, §7.11): signed journals
 * whose BK opens with the author's Rhizome Secret, encrypted with the pair key the reference
 * derives for Bob and Carol, holding records in the spec's format. And two Tendril nodes hold a
 * conversation by carrying plys between them with export (GET .rhm + raw.bin) and import.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { meshmsIndexSeedString, recoverBundleSecret, seededBundleKeyPair, verifyManifestSignature } from '../../src/crypto/bundle-keys.js';
import { createPayloadCipher, payloadKeyFromSecret, payloadNonce } from '../../src/crypto/payload-cipher.js';
import { parseManifest } from '../../src/formats/manifest.js';
import { decodeAck, decodeMessage, decodeTime, recordsBackward, RecordType } from '../../src/formats/ply.js';
import { decodeIndex } from '../../src/services/meshms/index-format.js';
import { addIdentity, asMessage, messageList, send, sendOk } from '../helpers/meshms.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { importBundle, loadReferenceIdentities, referenceIdentities } from '../helpers/rhizome.js';
import { VECTORS } from '../helpers/vectors.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

interface MeshmsJson {
  pair_key: string;
}
const PAIR_KEY = hex((JSON.parse(readFileSync(VECTORS.file('meshms/meshms.json'), 'utf8')) as MeshmsJson).pair_key);

interface FullIdentity {
  sid: string;
  rhizome_secret: string;
  sid_secret_curve25519: string;
}

/** The MeshMS2 plys `sender` wrote, from the bundle list. */
async function plyIds(t: TestNode, sender: string): Promise<string[]> {
  const r = await t.request('GET', `/restful/rhizome/bundlelist.json?service=MeshMS2&sender=${sender}`);
  return r.json<{ rows: unknown[][] }>().rows.map((row) => row[3] as string);
}

async function exportBundle(t: TestNode, bid: string): Promise<{ manifest: Buffer; raw: Buffer }> {
  const manifest = await t.request('GET', `/restful/rhizome/${bid}.rhm`);
  const raw = await t.request('GET', `/restful/rhizome/${bid}/raw.bin`);
  assert.equal(manifest.status, 200);
  assert.equal(raw.status, 200);
  return { manifest: manifest.body, raw: raw.body };
}

void describe('MeshMS plys written here, read with the reference keys', () => {
  let t: TestNode;
  const ids = referenceIdentities() as unknown as Record<string, FullIdentity>;
  const bob = ids.bob!;
  const carol = ids.carol!;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
    await sendOk(t, bob.sid, carol.sid, 'Hello Carol ✓');
    await sendOk(t, carol.sid, bob.sid, 'Hi Bob');
    await sendOk(t, bob.sid, carol.sid, 'x'.repeat(4094));
    await sendOk(t, bob.sid, carol.sid, 'after the long one');
  });
  after(async () => t.destroy());

  void it("Bob's ply: a signed MeshMS2 journal, BK from his Rhizome Secret, the pair key's ciphertext, spec records", async () => {
    const [bid] = await plyIds(t, bob.sid);
    assert.ok(bid);
    const { manifest, raw } = await exportBundle(t, bid);
    assert.ok(verifyManifestSignature(manifest));
    const m = parseManifest(manifest);
    assert.equal(m.service, 'MeshMS2');
    assert.equal(m.get('sender')?.toString(), bob.sid);
    assert.equal(m.get('recipient')?.toString(), carol.sid);
    assert.equal(m.get('crypt')?.toString(), '1');
    assert.equal(m.tail, 0n);
    assert.equal(m.filesize, BigInt(raw.length));
    assert.equal(m.version, m.filesize);
    assert.equal(m.get('filehash')?.toString(), createHash('sha512').update(raw).digest('hex').toUpperCase());
    assert.ok(recoverBundleSecret(m.bk!, hex(bob.rhizome_secret), m.id!), 'BK opens with the author Rhizome Secret');
    assert.equal(recoverBundleSecret(m.bk!, hex(carol.rhizome_secret), m.id!), undefined);

    const plain = createPayloadCipher({ key: PAIR_KEY, nonce: payloadNonce(m.id!, 0n, true) }).update(raw);
    const records = [...recordsBackward(plain)].reverse();
    assert.equal(records[0]!.start, 0, 'the records cover the payload from its first byte');
    const summary = records.map((r) => {
      if (r.type === RecordType.MESSAGE) return ['MESSAGE', r.end, decodeMessage(r.content)!.toString('utf8').slice(0, 20)];
      if (r.type === RecordType.ACK) return ['ACK', r.end, Number(decodeAck(r.content)!.end)];
      return ['TIME', r.end, decodeTime(r.content)! > 1_600_000_000];
    });
    const first = 2 + Buffer.byteLength('Hello Carol ✓') + 1;
    assert.deepEqual(summary, [
      ['MESSAGE', first, 'Hello Carol ✓'],
      ['TIME', first + 6, true],
      // Carol's reply (her ply: ACK 3, MESSAGE 3 + 9) acknowledged with Bob's next message.
      ['ACK', first + 9, 12],
      ['MESSAGE', first + 9 + 4097, 'x'.repeat(20)],
      ['TIME', first + 9 + 4097 + 6, true],
      ['MESSAGE', first + 9 + 4097 + 6 + 21, 'after the long one'],
      ['TIME', first + 9 + 4097 + 6 + 27, true],
    ]);
  });

  void it("Carol's conversation index decodes with the seed the reference derives from her box secret", async () => {
    // Listing acknowledges Bob's newest messages and so rewrites Carol's index.
    const list = await messageList(t, carol.sid, bob.sid);
    const pair = seededBundleKeyPair(meshmsIndexSeedString(hex(carol.sid_secret_curve25519)));
    const { manifest, raw } = await exportBundle(t, pair.bid.toString('hex').toUpperCase());
    const m = parseManifest(manifest);
    assert.equal(m.service, 'private');
    assert.equal(m.get('crypt')?.toString(), '1');
    assert.ok(verifyManifestSignature(manifest));
    const plain = createPayloadCipher({ key: payloadKeyFromSecret(pair.secret, pair.bid), nonce: payloadNonce(pair.bid, m.version!, false) }).update(raw);
    const entries = decodeIndex(plain);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.them.toString('hex').toUpperCase(), bob.sid);
    assert.equal(entries[0]!.meta.theirLastMessage, list.rows.find((r) => r[0] === '<')![4]);
  });
});

void describe('MeshMS between two Tendril nodes, plys carried by export and import', () => {
  let one: TestNode;
  let two: TestNode;
  let a: string;
  let b: string;
  before(async () => {
    one = await startTestNode();
    two = await startTestNode();
    a = await addIdentity(one, 'A on one');
    b = await addIdentity(two, 'B on two');
  });
  after(async () => {
    await one.destroy();
    await two.destroy();
  });

  /** Carries every ply `sender` wrote from one node to another. */
  async function carry(from: TestNode, to: TestNode, sender: string): Promise<void> {
    for (const bid of await plyIds(from, sender)) {
      const { manifest, raw } = await exportBundle(from, bid);
      const r = await importBundle(to, manifest, raw);
      assert.ok(r.status === 201 || r.status === 200, r.text);
    }
  }

  void it('messages, acknowledgements and long texts cross both ways', async () => {
    await sendOk(one, a, b, 'hello from one');
    await sendOk(one, a, b, 'ü'.repeat(2047));
    await carry(one, two, a);
    let onTwo = (await messageList(two, b, a)).rows.map(asMessage);
    assert.deepEqual(onTwo.map((m) => [m.type, m.text === null ? null : m.text.slice(0, 14)]), [
      ['<', 'ü'.repeat(14)],
      ['<', 'hello from one'],
    ]);
    await sendOk(two, b, a, 'hello from two');
    await carry(two, one, b);
    const onOne = (await messageList(one, a, b)).rows.map(asMessage);
    assert.deepEqual(onOne.map((m) => [m.type, m.text === null ? null : m.text.slice(0, 14), m.delivered]), [
      ['<', 'hello from two', true],
      ['ACK', null, true],
      ['>', 'ü'.repeat(14), true],
      ['>', 'hello from one', true],
    ]);
    // A's listing acknowledged B's message: carried back, B sees it delivered.
    await carry(one, two, a);
    onTwo = (await messageList(two, b, a)).rows.map(asMessage);
    assert.deepEqual(onTwo.map((m) => [m.type, m.delivered]), [
      ['ACK', true],
      ['>', true],
      ['<', true],
      ['<', true],
    ]);
    const convs = await two.request('GET', `/restful/meshms/${b}/conversationlist.json`);
    assert.deepEqual(convs.json<{ rows: unknown[][] }>().rows.map((r) => r.slice(2)), [[a, false, onTwo[2]!.their_offset, 0]]);
  });

  void it('sendFlood: 25 sends in batches, carried after each; the conversation list follows', async () => {
    let last = 0;
    for (let batch = 0; batch < 5; batch++) {
      const replies = await Promise.all([0, 1, 2, 3, 4].map((i) => send(one, a, b, `flood ${batch}.${i}`)));
      assert.deepEqual(replies.map((r) => r.status), [201, 201, 201, 201, 201]);
      await carry(one, two, a);
      const r = await two.request('GET', `/restful/meshms/${b}/conversationlist.json`);
      assert.equal(r.status, 200);
      const [row] = r.json<{ rows: Array<[number, string, string, boolean, number, number]> }>().rows;
      assert.ok(row![4] > last, 'their last message moves on with each batch');
      last = row![4];
    }
    const received = (await messageList(two, b, a)).rows.filter((r) => r[0] === '<' && String(r[6]).startsWith('flood'));
    assert.equal(received.length, 25);
  });
});
