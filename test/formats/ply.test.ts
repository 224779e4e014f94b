// Message ply records (spec §7.11) against the reference's plys (test/vectors/meshms, meshmb).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeUleb, encodeUleb } from '../../src/formats/leb128.js';
import {
  decodeAck,
  decodeMessage,
  decodeTime,
  encodeAck,
  encodeMessage,
  encodeTime,
  MAX_MESSAGE_BYTES,
  recordsBackward,
  RecordType,
} from '../../src/formats/ply.js';
import { VECTORS } from '../helpers/vectors.js';

interface VectorRecord {
  offset: number;
  start: number;
  type: number;
  content_hex: string;
  text?: string;
  time?: number;
  ack_end_offset?: number;
  ack_start_offset?: number;
}

const PLYS = ['meshms/x1_ply_bob', 'meshms/x1_ply_carol', 'meshms/x2_ply_bob', 'meshms/x2_ply_carol', 'meshmb/feed'];

describe('ply records', () => {
  it('parse the reference plys exactly as recorded, and re-encode to the same bytes', () => {
    for (const dir of PLYS) {
      const ply = readFileSync(VECTORS.file(`${dir}/decrypted.bin`));
      const expected = JSON.parse(readFileSync(VECTORS.file(`${dir}/records.json`), 'utf8')) as VectorRecord[];
      const records = [...recordsBackward(ply)].reverse();
      assert.equal(records.length, expected.length, dir);
      const rebuilt: Buffer[] = [];
      records.forEach((r, i) => {
        const e = expected[i]!;
        assert.equal(r.end, e.offset, dir);
        assert.equal(r.start, e.start, dir);
        assert.equal(r.type, e.type, dir);
        assert.equal(r.content.toString('hex').toUpperCase(), e.content_hex, dir);
        if (r.type === RecordType.MESSAGE) {
          assert.equal(decodeMessage(r.content)!.toString('utf8'), e.text);
          rebuilt.push(encodeMessage(decodeMessage(r.content)!));
        } else if (r.type === RecordType.TIME) {
          assert.equal(decodeTime(r.content), e.time);
          rebuilt.push(encodeTime(decodeTime(r.content)!));
        } else {
          const ack = decodeAck(r.content)!;
          assert.equal(ack.end, BigInt(e.ack_end_offset!));
          assert.equal(ack.start, BigInt(e.ack_start_offset ?? 0));
          rebuilt.push(encodeAck(ack.end, ack.start, ack.binary));
        }
      });
      assert.deepEqual(Buffer.concat(rebuilt), ply, dir);
    }
  });

  it('the worked examples of spec §7.11.2', () => {
    const first = encodeMessage(Buffer.from('Message2'));
    assert.equal(first.length, 11);
    assert.equal(Buffer.concat([first, encodeTime(0)]).length, 17);
    assert.equal(encodeAck(11).length, 3);
    const feed = Buffer.concat([encodeMessage(Buffer.from('Message 1')), encodeTime(1), encodeMessage(Buffer.from('Message 2'))]);
    assert.deepEqual([...recordsBackward(feed)].map((r) => r.end).reverse(), [12, 18, 30]);
  });

  it('4094 bytes of text is the largest message; 4095 is refused', () => {
    assert.equal(encodeMessage(Buffer.alloc(MAX_MESSAGE_BYTES, 0x41)).length, 4097);
    assert.throws(() => encodeMessage(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x41)), RangeError);
  });

  it('uleb128 round-trips, and ACKs with start and binary round-trip', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 63n }), (v) => {
        const bytes = encodeUleb(v);
        assert.deepEqual(decodeUleb(bytes), { value: v, next: bytes.length });
      }),
    );
    fc.assert(
      fc.property(fc.nat(1 << 27), fc.nat(1 << 27), fc.option(fc.uint8Array({ minLength: 1, maxLength: 8 })), (a, b, bin) => {
        const [start, end] = a < b ? [a, b] : [b, a];
        const record = [...recordsBackward(encodeAck(end, start, bin ?? undefined))][0]!;
        const ack = decodeAck(record.content)!;
        assert.equal(ack.end, BigInt(end));
        assert.equal(ack.start, BigInt(start));
        assert.deepEqual(ack.binary, bin ? Buffer.from(bin) : undefined);
      }),
    );
  });

  it('random bytes never throw: records are yielded or reading stops', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const r of recordsBackward(Buffer.from(bytes))) {
          assert.ok(r.start >= 0 && r.end <= bytes.length);
          decodeAck(r.content);
          decodeMessage(r.content);
          decodeTime(r.content);
        }
      }),
    );
  });
});
