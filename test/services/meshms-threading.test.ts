/**
 * MeshMS pure logic against the reference's vectors (test/vectors/meshms): tokens, the private
 * conversation index, offsets taken from plys, and the threaded message list computed straight
 * from the reference's decrypted plys.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { encodeAck, encodeMessage, encodeRecord, encodeTime, RecordType } from '../../src/formats/ply.js';
import { emptyMetadata, updateMyStats, updateTheirStats, type ConversationMetadata } from '../../src/services/meshms/conversation.js';
import { decodeIndex, encodeIndex } from '../../src/services/meshms/index-format.js';
import { MessageIterator } from '../../src/services/meshms/iterator.js';
import { MessageWalk } from '../../src/services/meshms/message-walk.js';
import { parseAck, PlyCursor } from '../../src/services/meshms/ply-cursor.js';
import { decodeMeshmsToken, encodeMeshmsToken } from '../../src/services/meshms/token.js';
import type { MessageRow } from '../../src/services/meshms/types.js';
import { VECTORS } from '../helpers/vectors.js';

const file = (rel: string): Buffer => readFileSync(VECTORS.file(`meshms/${rel}`));
const meshms = JSON.parse(file('meshms.json').toString('utf8')) as {
  tokens: Record<string, Array<{ token: string; which_ply: number; offset: number; their_ack: number }>>;
  conversation_index: Record<string, { dir: string; parsed: { conversations: Array<Record<string, number | string>> } }>;
};

function body(name: string): { read_offset: number; latest_ack_offset: number; rows: unknown[][] } {
  const raw = file(name);
  return JSON.parse(raw.subarray(raw.indexOf('\r\n\r\n') + 4).toString('utf8')) as { read_offset: number; latest_ack_offset: number; rows: unknown[][] };
}

/** Offsets as the service computes them for a conversation seen for the first time. */
function metadataFor(my: Buffer, their: Buffer, readOffset = 0): ConversationMetadata {
  const meta = emptyMetadata();
  updateTheirStats(meta, their.length, their);
  updateMyStats(meta, my.length, my);
  meta.readOffset = readOffset;
  return meta;
}

function listRows(meta: ConversationMetadata, my: Buffer | undefined, their: Buffer | undefined): MessageRow[] {
  const walk = new MessageWalk();
  assert.equal(walk.open(new MessageIterator(meta, my, their)), 'ok');
  const rows: MessageRow[] = [];
  const it = walk.rows(() => false);
  for (let r = it.next(); !r.done; r = it.next()) rows.push(r.value);
  return rows;
}

const asJson = (my: string, their: string, r: MessageRow): unknown[] => [
  r.type,
  my,
  their,
  r.myOffset,
  r.theirOffset,
  r.token,
  r.text === null ? null : r.text.toString('utf8'),
  r.delivered,
  r.read,
  r.timestamp,
  r.ackOffset,
];

void describe('MeshMS tokens (spec §7.14.2)', () => {
  void it('every token the reference gave decodes to its which_ply, offset and their_ack, and encodes back', () => {
    let count = 0;
    for (const tokens of Object.values(meshms.tokens)) {
      for (const t of tokens) {
        assert.deepEqual(decodeMeshmsToken(t.token), { which: t.which_ply, offset: t.offset, theirAck: t.their_ack });
        assert.equal(encodeMeshmsToken({ which: t.which_ply, offset: t.offset, theirAck: t.their_ack }), t.token);
        count++;
      }
    }
    assert.ok(count > 20);
    assert.equal(encodeMeshmsToken({ which: 1, offset: 11, theirAck: 0 }), 'AQsA');
  });

  void it('refuses what the reference refuses: fewer than 3 bytes, an unterminated varint, non-base64url', () => {
    assert.equal(decodeMeshmsToken('AQ=='), undefined);
    assert.equal(decodeMeshmsToken('AYCA'), undefined);
    assert.equal(decodeMeshmsToken('A+8A'), undefined);
    assert.deepEqual(decodeMeshmsToken('Am4s'), { which: 2, offset: 110, theirAck: 44 });
  });
});

void describe('MeshMS conversation index (spec §7.12)', () => {
  void it("the reference's indexes decode to the values it wrote, and encode back byte for byte", () => {
    for (const index of Object.values(meshms.conversation_index)) {
      const plain = readFileSync(VECTORS.file(`${index.dir}decrypted.computed.bin`));
      const entries = decodeIndex(plain);
      assert.equal(entries.length, index.parsed.conversations.length);
      entries.forEach((e, i) => {
        const c = index.parsed.conversations[i]!;
        const size = c.their_size as number;
        const mySize = c.my_size as number;
        assert.equal(e.them.toString('hex').toUpperCase(), c.their_sid);
        assert.deepEqual(e.meta, {
          theirSize: size,
          mySize,
          theirLastMessage: size - (c['their_size-their_last_message'] as number),
          readOffset: size - (c['their_size-read_offset'] as number),
          theirLastAckOffset: size - (c['their_size-their_last_ack_offset'] as number),
          myLastAck: size - (c['their_size-my_last_ack'] as number),
          theirLastAck: mySize - (c['my_size-their_last_ack'] as number),
        });
      });
      assert.deepEqual(encodeIndex(entries), plain);
    }
  });

  void it('a damaged or unknown index is no index; a malformed entry ends the list', () => {
    assert.deepEqual(decodeIndex(Buffer.alloc(0)), []);
    assert.deepEqual(decodeIndex(Buffer.of(3, 1, 2, 3)), []);
    const one = encodeIndex([{ them: Buffer.alloc(32, 7), meta: { ...emptyMetadata(), theirSize: 20, theirLastMessage: 14 } }]);
    const cut = Buffer.concat([one, Buffer.alloc(32, 9), Buffer.of(0, 0x80)]);
    assert.equal(decodeIndex(cut).length, 1);
    // Version 1 entries load with no offsets.
    const v1 = decodeIndex(Buffer.concat([Buffer.of(1), Buffer.alloc(32, 5), Buffer.of(1, 2, 3)]));
    assert.deepEqual(v1.map((e) => e.meta), [emptyMetadata()]);
  });
});

void describe('MeshMS threading over the reference plys (spec §4.5)', () => {
  const BOB = 'AA6256760415F49C160CEED6252F3F6276ABBDDF9551435B23784AB44B906E40';
  const CAROL = 'A5419541DEA710D921DD9E37F1DFECB3FB217A6D8E42EF9C6AC82DBD8EE7C71C';

  void it('offsets from the plys are those the reference keeps (Bob: last message 4175, their ACK 147)', () => {
    const bob = file('x1_ply_bob/decrypted.bin');
    const carol = file('x1_ply_carol/decrypted.bin');
    assert.deepEqual(metadataFor(bob, carol), {
      theirLastMessage: 4175,
      theirLastAckOffset: 4168,
      theirLastAck: 147,
      readOffset: 0,
      theirSize: 4181,
      myLastAck: 4175,
      mySize: 164,
    });
    // Their records already seen are not looked at again.
    const meta = metadataFor(bob, carol);
    assert.equal(updateTheirStats(meta, carol.length, carol), false);
  });

  void it('both lists equal the reference bodies (m07, m08 and, after marking read, r04, r05)', () => {
    const bob = file('x1_ply_bob/decrypted.bin');
    const carol = file('x1_ply_carol/decrypted.bin');
    for (const [name, my, their, mySid, theirSid] of [
      ['m07_messagelist_bob_carol.http', bob, carol, BOB, CAROL],
      ['m08_messagelist_carol_bob.http', carol, bob, CAROL, BOB],
      ['r04_messagelist_bob_carol_after_read.http', bob, carol, BOB, CAROL],
      ['r05_messagelist_carol_bob_after_read.http', carol, bob, CAROL, BOB],
    ] as const) {
      const expected = body(name);
      const meta = metadataFor(my, their, expected.read_offset);
      assert.equal(meta.theirLastAck, expected.latest_ack_offset);
      assert.deepEqual(listRows(meta, my, their).map((r) => asJson(mySid, theirSid, r)), expected.rows, name);
    }
  });

  void it('B.4: the worked example of the spec', () => {
    const my = Buffer.concat([encodeMessage(Buffer.from('first')), encodeTime(14), encodeAck(8), encodeTime(23), encodeMessage(Buffer.from('second')), encodeTime(38)]);
    const their = Buffer.concat([encodeAck(8), encodeMessage(Buffer.from('hi')), encodeTime(14)]);
    const rows = listRows(metadataFor(my, their), my, their);
    assert.deepEqual(
      rows.map((r) => [r.type, r.myOffset, r.theirOffset, r.token, r.text?.toString() ?? null, r.delivered, r.timestamp, r.ackOffset]),
      [
        ['>', 32, 0, 'ASAI', 'second', false, 38, null],
        ['<', 17, 8, 'AggI', 'hi', true, 23, null],
        ['ACK', 8, 3, 'AQgI', null, true, null, 8],
        ['>', 8, 0, 'AQgA', 'first', true, 14, null],
      ],
    );
  });

  void it('a received message without its NUL is a protocol fault: before the first row, or ending the list', () => {
    const broken = encodeRecord(RecordType.MESSAGE, Buffer.from('no nul'));
    const my = Buffer.concat([encodeMessage(Buffer.from('mine')), encodeAck(broken.length)]);
    const meta = metadataFor(my, broken);
    const walk = new MessageWalk();
    assert.equal(walk.open(new MessageIterator(meta, my, broken)), 'fault');

    const my2 = Buffer.concat([encodeAck(broken.length), encodeMessage(Buffer.from('later'))]);
    const walk2 = new MessageWalk();
    assert.equal(walk2.open(new MessageIterator(metadataFor(my2, broken), my2, broken)), 'ok');
    const it = walk2.rows(() => false);
    const first = it.next();
    assert.equal(first.done, false);
    assert.equal(first.value.text?.toString(), 'later');
    assert.deepEqual(it.next(), { done: true, value: 'fault' });
  });

  void it('reads records backwards as the reference does: a cut record ends the ply, ACK ranges decode', () => {
    const ply = Buffer.concat([Buffer.from([1, 2, 3]), encodeMessage(Buffer.from('ok'))]);
    const cursor = new PlyCursor(ply);
    assert.ok(cursor.prev());
    assert.equal(cursor.recordEnd, ply.length);
    assert.equal(cursor.prev(), false, 'three stray bytes are no record');
    assert.deepEqual(parseAck(encodeAck(4157, 44).subarray(0, -2)), { ok: true, end: 4157, start: 44 });
    assert.deepEqual(parseAck(Buffer.of(0x0b)), { ok: true, end: 11, start: 0 });
    assert.deepEqual(parseAck(Buffer.of(0x80)), { ok: false, end: 0, start: 0 });
  });
});
