/**
 * MeshMB against the reference's captures (test/vectors/meshmb): the reference's feed imported here
 * lists, follows and threads byte for byte as the reference answered; a feed Alice writes here has
 * the reference's records and field order and verifies with her key; the private bundles written
 * here decrypt and parse as spec §7.13 describes, equal to the reference's where time plays no part.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { bundleKeyPairFromSecret, manifestSigner, verifyManifestSignature } from '../../src/crypto/bundle-keys.js';
import { createPayloadCipher, payloadKeyFromSecret, payloadNonce } from '../../src/crypto/payload-cipher.js';
import { RecordType, decodeAck, decodeMessage, recordsBackward } from '../../src/formats/ply.js';
import { decodeSubscriptions } from '../../src/services/meshmb/subscriptions.js';
import { getTable, MESHMB, objects, post, send } from '../helpers/meshmb.js';
import { parseRawHead, startTestNode, type TestNode } from '../helpers/node.js';
import { importBundle, loadReferenceIdentities, manifestFields } from '../helpers/rhizome.js';
import { VECTORS } from '../helpers/vectors.js';

interface PrivateVector {
  bid: string;
  bundle_secret: string;
  decrypted_hex: string;
}

interface MeshmbJson {
  messages_sent: Array<{ text_utf8_hex: string }>;
  feed: { bid: string; bundle_secret: string; manifest_fields_in_order: Array<[string, string]>; records: Array<{ offset: number; type: number; content_hex: string }> };
  meshmb_subscriptions_dave: PrivateVector;
  meshmb_activity_dave: PrivateVector;
  meshmb_activity_alice: PrivateVector;
}

interface IdentityJson {
  label: string;
  sid: string;
  identity: string;
  derived: { meshmb_subscriptions: { bid: string } };
}

const file = (name: string): Buffer => readFileSync(VECTORS.file(`meshmb/${name}`));
const json = JSON.parse(file('meshmb.json').toString('utf8')) as MeshmbJson;
const ids = Object.fromEntries(
  (JSON.parse(readFileSync(VECTORS.file('identities.json'), 'utf8')) as { identities: IdentityJson[] }).identities.map((i) => [i.label, i]),
) as Record<'alice' | 'dave', IdentityJson>;
const ALICE = ids.alice.identity;
const DAVE = ids.dave.identity;

/** The body of a captured response. */
const capturedBody = (name: string): string => parseRawHead(file(name)).body.toString('latin1');

/** Reads and decrypts a private bundle of this node with the secret the vectors derived. */
async function privatePayload(t: TestNode, v: PrivateVector): Promise<Buffer> {
  const rhm = await t.request('GET', `/restful/rhizome/${v.bid}.rhm`);
  assert.equal(rhm.status, 200, `private bundle ${v.bid}`);
  const fields = manifestFields(rhm.body);
  assert.equal(fields.get('service'), 'private');
  assert.equal(fields.get('crypt'), '1');
  assert.ok(verifyManifestSignature(rhm.body));
  const raw = await t.request('GET', `/restful/rhizome/${v.bid}/raw.bin`);
  const secret = Buffer.from(v.bundle_secret, 'hex');
  const bid = Buffer.from(v.bid, 'hex');
  assert.deepEqual(bundleKeyPairFromSecret(secret).bid, bid);
  const cipher = createPayloadCipher({
    key: payloadKeyFromSecret(secret, bid),
    nonce: payloadNonce(bid, BigInt(fields.get('version')!), fields.has('tail')),
  });
  return cipher.update(raw.body);
}

/** A ply's records oldest first: [end offset, type, content]. */
function records(ply: Buffer): Array<[number, number, Buffer]> {
  return [...recordsBackward(ply)].reverse().map((r) => [r.end, r.type, r.content]);
}

void describe('MeshMB reference vectors', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
  });
  after(async () => t.destroy());

  void it("the reference's feed imports, and messagelist.json is the reference's body byte for byte (b04)", async () => {
    const imported = await importBundle(t, file('feed/manifest.rhm'), file('feed/raw.bin'));
    assert.equal(imported.status, 201, imported.text);
    const r = await t.request('GET', `${MESHMB}/${ALICE}/messagelist.json`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString('latin1'), capturedBody('b04_messagelist.http'));
  });

  void it('Dave follows Alice: the 201 body, feedlist.json and activity.json are the reference’s (b05–b07)', async () => {
    const follow = await post(t, `${DAVE}/follow/${ALICE}`);
    assert.equal(follow.reason, 'TODO, detailed response');
    assert.equal(follow.text, capturedBody('b05_follow_dave_follows_alice.http'));
    const feeds = await t.request('GET', `${MESHMB}/${DAVE}/feedlist.json`);
    assert.equal(feeds.body.toString('latin1'), capturedBody('b06_feedlist_dave.http'));
    // The activity rows carry the time Dave noticed the messages: equal but for that column.
    const mine = await getTable(t, `${DAVE}/activity.json`);
    const theirs = JSON.parse(capturedBody('b07_activity_dave.http')) as { header: string[]; rows: unknown[][] };
    assert.deepEqual(mine.header, theirs.header);
    const withoutTime = (rows: unknown[][]): unknown[][] => rows.map((row) => row.filter((_, i) => i !== 5));
    assert.deepEqual(withoutTime(mine.rows), withoutTime(theirs.rows));
    for (const row of mine.rows) assert.ok(Math.abs((row[5] as number) - Date.now() / 1000) < 60);
  });

  void it("Dave's subscriptions bundle decrypts to the reference's bytes exactly; his activity journal to its ACK and a TIME", async () => {
    const subs = await privatePayload(t, json.meshmb_subscriptions_dave);
    assert.equal(subs.toString('hex').toUpperCase(), json.meshmb_subscriptions_dave.decrypted_hex);
    assert.equal(decodeSubscriptions(subs)[0]!.name?.toString(), 'Alice');
    const journal = await privatePayload(t, json.meshmb_activity_dave);
    const expected = Buffer.from(json.meshmb_activity_dave.decrypted_hex, 'hex');
    assert.equal(journal.length, expected.length);
    assert.deepEqual(journal.subarray(0, 7), expected.subarray(0, 7)); // ACK(122←0, F9BA51)
    const [ack, time] = records(journal);
    assert.deepEqual(decodeAck(ack![2])?.binary, Buffer.from(ALICE, 'hex').subarray(0, 3));
    assert.equal(time![1], RecordType.TIME);
  });

  void it("each rewrite of Dave's subscriptions is the next version; ignoring Alice leaves the bare format byte", async () => {
    const version = async (): Promise<bigint> =>
      BigInt(manifestFields((await t.request('GET', `/restful/rhizome/${json.meshmb_subscriptions_dave.bid}.rhm`)).body).get('version')!);
    const before = await version();
    await post(t, `${DAVE}/ignore/${ALICE}`);
    assert.equal(await version(), before + 1n);
    assert.deepEqual(await privatePayload(t, json.meshmb_subscriptions_dave), Buffer.of(0));
    // Nothing changed: nothing is written.
    await post(t, `${DAVE}/ignore/${ALICE}`);
    assert.equal(await version(), before + 1n);
  });
});

void describe('MeshMB: a feed written here by Alice', () => {
  let t: TestNode;
  before(async () => {
    t = await startTestNode();
    await loadReferenceIdentities(t);
    for (const m of json.messages_sent) await send(t, ALICE, Buffer.from(m.text_utf8_hex, 'hex'));
  });
  after(async () => t.destroy());

  void it("has the reference's records (texts and offsets) and field order, and verifies with Alice's key", async () => {
    const rhm = await t.request('GET', `/restful/rhizome/${ALICE}.rhm`);
    assert.equal(rhm.status, 200);
    assert.deepEqual(manifestSigner(rhm.body), Buffer.from(ALICE, 'hex'));
    assert.ok(verifyManifestSignature(rhm.body, Buffer.from(ALICE, 'hex')));
    const fields = manifestFields(rhm.body);
    const theirs = new Map(json.feed.manifest_fields_in_order);
    assert.deepEqual([...fields.keys()], [...theirs.keys()]);
    for (const label of ['name', 'service', 'id', 'sender', 'filesize', 'tail', 'version']) assert.equal(fields.get(label), theirs.get(label), label);
    assert.equal(rhm.headers['serval-rhizome-bundle-secret'], json.feed.bundle_secret); // Alice's signing seed

    const raw = (await t.request('GET', `/restful/rhizome/${ALICE}/raw.bin`)).body;
    const mine = records(raw);
    assert.deepEqual(
      mine.map(([end, type]) => [end, type]),
      json.feed.records.map((r) => [r.offset, r.type]),
    );
    for (const [i, [, type, content]] of mine.entries()) {
      if (type === RecordType.MESSAGE) assert.deepEqual(decodeMessage(content), decodeMessage(Buffer.from(json.feed.records[i]!.content_hex, 'hex')));
      else assert.ok(Math.abs(content.readUInt32LE(0) - Date.now() / 1000) < 60);
    }
  });

  void it("Alice's activity journal holds the reference's own-feed ACKs, each followed by a TIME", async () => {
    const journal = await privatePayload(t, json.meshmb_activity_alice);
    const theirs = records(Buffer.from(json.meshmb_activity_alice.decrypted_hex, 'hex'));
    const mine = records(journal);
    assert.deepEqual(
      mine.map(([end, type, content]) => [end, type, type === RecordType.ACK ? content.toString('hex') : '']),
      theirs.map(([end, type, content]) => [end, type, type === RecordType.ACK ? content.toString('hex') : '']),
    );
    // Alice follows nobody: she has no subscriptions bundle, as in the reference.
    const subs = await t.request('GET', `/restful/rhizome/${ids.alice.derived.meshmb_subscriptions.bid}.rhm`);
    assert.equal(subs.status, 404);
    const activity = objects(await getTable(t, `${ALICE}/activity.json`));
    assert.deepEqual(activity.map((r) => [r.ack_offset, r.offset, r.name]), [[23, 116, 'Alice'], [13, 82, 'Alice'], [3, 32, 'Alice']]);
  });
});
