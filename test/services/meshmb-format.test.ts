/**
 * MeshMB byte formats against the reference's vectors (test/vectors/meshmb/meshmb.json): the
 * subscriptions payload (format 0), the activity journal's ACK prefixes, message and activity
 * tokens, and the feed reading rules (spec §5.4, §7.11, §7.13, §7.14.3 – §7.14.4).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { encodeAck, encodeMessage, encodeTime } from '../../src/formats/ply.js';
import { activityBatch, feedByPrefix, feedPrefixLength, walkActivity } from '../../src/services/meshmb/activity.js';
import { feedMessages, noticeFeed } from '../../src/services/meshmb/feeds.js';
import { KeyedQueue } from '../../src/services/keyed-queue.js';
import { decodeSubscriptions, encodeSubscriptions, newFeedState } from '../../src/services/meshmb/subscriptions.js';
import {
  decodeActivityToken,
  decodePositionToken,
  encodeActivityToken,
  encodePositionToken,
} from '../../src/services/meshmb/tokens.js';
import type { ActivityItem } from '../../src/services/meshmb/types.js';
import { VECTORS } from '../helpers/vectors.js';

interface MeshmbJson {
  feed: { bid: string; records: Array<{ offset: number; kind: string; text?: string; time?: number }> };
  messagelist_tokens: Array<{ token: string; offset: number }>;
  activity_tokens: Array<{ token: string; ack_offset: number; msg_offset: number }>;
  meshmb_subscriptions_dave: { decrypted_hex: string };
  meshmb_activity_dave: { decrypted_hex: string };
  meshmb_activity_alice: { decrypted_hex: string };
}

const json = JSON.parse(readFileSync(VECTORS.file('meshmb/meshmb.json'), 'utf8')) as MeshmbJson;
const feedPly = readFileSync(VECTORS.file('meshmb/feed/raw.bin'));
const ALICE_FEED = Buffer.from(json.feed.bid, 'hex');
const hex = (text: string): Buffer => Buffer.from(text, 'hex');

void describe('MeshMB tokens (spec §7.14.3, §7.14.4)', () => {
  void it('message list tokens are base64url(uleb(offset)) with padding', () => {
    for (const t of json.messagelist_tokens) {
      assert.equal(encodePositionToken(t.offset), t.token);
      assert.equal(decodePositionToken(t.token), t.offset);
    }
    assert.equal(decodePositionToken(encodePositionToken(300_000)), 300_000);
  });

  void it('activity tokens are uleb(ack offset) ‖ uleb(message offset)', () => {
    for (const t of json.activity_tokens) {
      assert.equal(encodeActivityToken({ ack: t.ack_offset, msg: t.msg_offset }), t.token);
      assert.deepEqual(decodeActivityToken(t.token), { ack: t.ack_offset, msg: t.msg_offset });
    }
  });

  void it('undecodable tokens are undefined: bad alphabet, truncated uleb, too long, one value short', () => {
    assert.equal(decodePositionToken('!!!!'), undefined);
    assert.equal(decodePositionToken('gA=='), undefined); // 0x80: the uleb never ends
    assert.equal(decodePositionToken('A'), undefined);
    assert.equal(decodePositionToken('AAAAAAAAAAAAAAAAAAAA'), undefined); // 15 bytes
    assert.equal(decodeActivityToken('dA=='), undefined);
  });
});

void describe('MeshMB subscriptions payload (spec §7.13, format 0)', () => {
  void it("decodes Dave's subscription bundle and encodes it back byte for byte", () => {
    const bytes = hex(json.meshmb_subscriptions_dave.decrypted_hex);
    const feeds = decodeSubscriptions(bytes);
    assert.equal(feeds.length, 1);
    const [f] = feeds;
    assert.deepEqual(f!.bid, ALICE_FEED);
    assert.equal(f!.size, 122);
    assert.equal(f!.lastMessageOffset, 116);
    assert.equal(f!.lastSeen, 0);
    assert.equal(f!.timestamp, 1795347902);
    assert.equal(f!.name?.toString(), 'Alice');
    assert.equal(f!.lastMessage?.toString(), 'Third post\nwith a newline');
    assert.deepEqual(encodeSubscriptions(feeds), bytes);
  });

  void it('blocked feeds keep only BID, author and flags; order is by BID; flags round-trip', () => {
    const a = newFeedState(Buffer.alloc(32, 0xbb));
    a.blocked = true;
    a.author = Buffer.alloc(32, 0x11);
    const b = newFeedState(Buffer.alloc(32, 0xaa));
    b.nameOverridden = true;
    b.name = Buffer.from('Bé');
    b.size = 10;
    b.lastMessageOffset = 4;
    const bytes = encodeSubscriptions([a, b]);
    assert.equal(bytes.length, 1 + (65 + 4 + 3 + 2) + 65); // 4 ulebs, "Bé", two NULs
    const back = decodeSubscriptions(bytes);
    assert.deepEqual(back.map((f) => f.bid[0]), [0xaa, 0xbb]);
    assert.equal(back[0]!.nameOverridden, true);
    assert.equal(back[0]!.name?.toString(), 'Bé');
    assert.equal(back[0]!.lastMessage, undefined);
    assert.equal(back[1]!.blocked, true);
    assert.deepEqual(back[1]!.author, Buffer.alloc(32, 0x11));
  });

  void it('refuses an unknown format version and truncated data', () => {
    assert.throws(() => decodeSubscriptions(Buffer.of(1)), RangeError);
    assert.throws(() => decodeSubscriptions(Buffer.alloc(0)), RangeError);
    const bytes = hex(json.meshmb_subscriptions_dave.decrypted_hex);
    assert.throws(() => decodeSubscriptions(bytes.subarray(0, bytes.length - 1)), RangeError);
    assert.throws(() => decodeSubscriptions(bytes.subarray(0, 40)), RangeError);
  });
});

void describe('MeshMB activity journal (spec §7.11, §7.13)', () => {
  void it("a lone feed's ACK carries a 3-byte BID prefix; neighbours sharing digits need more", () => {
    assert.equal(feedPrefixLength(ALICE_FEED, [ALICE_FEED]), 3);
    const sibling = Buffer.from(ALICE_FEED);
    sibling[1] = sibling[1]! ^ 0x01; // shares the first 3 hex digits: depth 4 digits = 16 bits → 2 + 3 bytes
    assert.equal(feedPrefixLength(ALICE_FEED, [sibling]), 5);
    const twin = Buffer.from(ALICE_FEED);
    twin[31] = twin[31]! ^ 0x01;
    assert.equal(feedPrefixLength(ALICE_FEED, [twin]), 32);
  });

  void it("builds Dave's journal batch: ACK(122←0, F9BA51) then TIME", () => {
    const expected = hex(json.meshmb_activity_dave.decrypted_hex);
    const batch = activityBatch([{ prefix: ALICE_FEED.subarray(0, 3), start: 0, end: 122 }], expected.readUInt32LE(7));
    assert.deepEqual(batch, expected);
  });

  void it("builds Alice's own-feed journal: ACK(38), ACK(88←38), ACK(122←88), each with its TIME", () => {
    const expected = hex(json.meshmb_activity_alice.decrypted_hex);
    const times = [expected.readUInt32LE(3), expected.readUInt32LE(13), expected.readUInt32LE(23)];
    const journal = Buffer.concat([
      activityBatch([{ prefix: undefined, start: 0, end: 38 }], times[0]),
      activityBatch([{ prefix: undefined, start: 38, end: 88 }], times[1]),
      activityBatch([{ prefix: undefined, start: 88, end: 122 }], times[2]),
    ]);
    assert.deepEqual(journal, expected);
  });

  void it('finds a feed by a unique prefix only', () => {
    const a = newFeedState(Buffer.alloc(32, 0xab));
    const b = newFeedState(Buffer.concat([Buffer.of(0xab, 0xab, 0xac), Buffer.alloc(29)]));
    assert.equal(feedByPrefix(Buffer.of(0xab, 0xab, 0xab), [a, b]), a);
    assert.equal(feedByPrefix(Buffer.of(0xab, 0xab), [a, b]), undefined);
    assert.equal(feedByPrefix(Buffer.of(0xcd), [a, b]), undefined);
  });

  void it("walks Dave's journal into the reference's activity rows, and stops at a token", async () => {
    const journal = hex(json.meshmb_activity_dave.decrypted_hex);
    const alice = newFeedState(ALICE_FEED);
    const source = {
      journal,
      ownFeed: Buffer.alloc(32, 0xdd),
      feeds: [alice],
      readFeed: (bid: Buffer) =>
        Promise.resolve(bid.equals(ALICE_FEED) ? { bytes: feedPly, author: Buffer.alloc(32, 1), name: Buffer.from('Alice') } : undefined),
    };
    const rows: ActivityItem[] = [];
    for await (const item of walkActivity(source)) rows.push(item);
    const textAt = (offset: number): string | undefined => json.feed.records.find((x) => x.offset === offset)?.text;
    assert.deepEqual(
      rows.map((r) => [encodeActivityToken(r.position), r.position.ack, r.position.msg, r.text.toString(), r.timestamp]),
      json.activity_tokens.map((t) => [t.token, 7, t.msg_offset, textAt(t.msg_offset), journal.readUInt32LE(7)]),
    );
    const after: ActivityItem[] = [];
    for await (const item of walkActivity(source, { ack: 7, msg: 82 })) after.push(item);
    assert.deepEqual(after.map((r) => r.position.msg), [116]);
    alice.blocked = true;
    const blocked: ActivityItem[] = [];
    for await (const item of walkActivity(source)) blocked.push(item);
    assert.equal(blocked.length, 0);
  });
});

void describe('MeshMB feeds (spec §5.4, §5.6)', () => {
  void it("lists the reference feed's messages newest first with the following TIME", () => {
    const rows = feedMessages(feedPly);
    assert.deepEqual(
      rows.map((r) => [r.offset, r.text.toString(), r.timestamp]),
      [
        [116, 'Third post\nwith a newline', 1795347902],
        [82, 'Second post with ümläuts and emoji 🚀', 1795347901],
        [32, 'Alice broadcasts: hello world', 1795347899],
      ],
    );
    assert.deepEqual(feedMessages(feedPly, 82).map((r) => r.offset), [116]);
    assert.deepEqual(feedMessages(feedPly, 122), []);
  });

  void it('skips ACKs and unknown records; a message without TIME takes the newer one', () => {
    const ply = Buffer.concat([encodeMessage(Buffer.from('a')), encodeAck(5), encodeMessage(Buffer.from('b')), encodeTime(77)]);
    assert.deepEqual(feedMessages(ply).map((r) => [r.text.toString(), r.timestamp]), [['b', 77], ['a', 77]]);
  });

  void it('notices growth once: the state Dave keeps, and the range to ACK', () => {
    const state = newFeedState(ALICE_FEED);
    const feed = { bytes: feedPly, author: Buffer.alloc(32, 7), name: Buffer.from('Alice') };
    assert.deepEqual(noticeFeed(state, feed), { changed: true, range: { start: 0, end: 122 } });
    assert.equal(state.lastMessageOffset, 116);
    assert.equal(state.timestamp, 1795347902);
    assert.equal(state.lastMessage?.toString(), 'Third post\nwith a newline');
    assert.deepEqual(noticeFeed(state, feed), { changed: false });
    const grown = { ...feed, bytes: Buffer.concat([feedPly, encodeTime(5)]) };
    assert.deepEqual(noticeFeed(state, grown), { changed: true, range: undefined });
  });
});

void describe('KeyedQueue', () => {
  void it('runs tasks of one key one at a time, in order, and survives failures', async () => {
    const lock = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) => () =>
      new Promise<string>((resolve, reject) =>
        setTimeout(() => {
          log.push(name);
          if (fail) reject(new Error(name));
          else resolve(name);
        }, ms),
      );
    const results = await Promise.allSettled([lock.run('a', task('a1', 20, true)), lock.run('a', task('a2', 1)), lock.run('b', task('b1', 5))]);
    assert.deepEqual(log, ['b1', 'a1', 'a2']);
    assert.equal(results[0].status, 'rejected');
    assert.equal(results[1].status, 'fulfilled');
  });
});
