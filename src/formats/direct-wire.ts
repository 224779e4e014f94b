/**
 * The bytes of a Rhizome Direct enquiry and its answer (rhizome_direct.c):
 *
 *   enquiry  = range ‖ BAR*          (the `data` part of POST /rhizome/enquiry)
 *   answer   = range ‖ record*       (the body of its 200)
 *   range    = [log2 size_high of the start] [4 bytes: BID prefix of the start]
 *              [log2 size_high of the end]   [4 bytes: BID prefix of the end]
 *   record   = 0x01 ‖ 15-byte BID prefix: "send me this one" (the asker has it, the answerer not)
 *            | 0x02 ‖ 15-byte BID prefix: "I have this one, or a newer one" (the answerer has it)
 *
 * A log2 of a size is the number of halvings down to 1 (0 for 1 and below), kept in one byte.
 */

export const RANGE_BYTES = 10;
export const RECORD_BYTES = 16;
/** The enquiry's data is at most this long (rhizome_direct_get_fill_response). */
export const MAX_ENQUIRY_BYTES = 65536;
export const RECORD_SEND = 0x01;
export const RECORD_HAVE = 0x02;

/** Where a cursor fill started and where it stopped, in the reference's terms. */
export interface RangeEnds {
  readonly startSizeHigh: bigint;
  readonly startBidLow: Uint8Array;
  readonly endSizeHigh: bigint;
  readonly endBidHigh: Uint8Array;
}

function log2Byte(size: bigint): number {
  let n = 0;
  for (let v = size; v > 1n; v >>= 1n) n++;
  return n & 0xff;
}

export function pickleRange(r: RangeEnds): Buffer {
  const out = Buffer.alloc(RANGE_BYTES);
  out[0] = log2Byte(r.startSizeHigh);
  out.set(r.startBidLow.subarray(0, 4), 1);
  out[5] = log2Byte(r.endSizeHigh);
  out.set(r.endBidHigh.subarray(0, 4), 6);
  return out;
}

/** A range as the answerer reads it: start at size 2^p0 from BID p1..4‖00…, end at 2^p5, BID p6..9‖FF…. */
export interface UnpickledRange {
  readonly sizeHigh: bigint;
  readonly bidLow: Buffer;
  readonly limitSizeHigh: bigint;
  readonly limitBidHigh: Buffer;
}

export function unpickleRange(bytes: Uint8Array): UnpickledRange {
  if (bytes.length < RANGE_BYTES) throw new RangeError('a Rhizome Direct range is 10 bytes');
  const bidLow = Buffer.alloc(32);
  bidLow.set(bytes.subarray(1, 5), 0);
  const limitBidHigh = Buffer.alloc(32, 0xff);
  limitBidHigh.set(bytes.subarray(6, 10), 0);
  return { sizeHigh: 1n << BigInt(bytes[0]!), bidLow, limitSizeHigh: 1n << BigInt(bytes[5]!), limitBidHigh };
}

export interface DirectRecord {
  readonly type: number;
  /** The 15-byte BID prefix. */
  readonly prefix: Buffer;
}

export function encodeRecord(type: number, prefix: Uint8Array): Buffer {
  const out = Buffer.alloc(RECORD_BYTES);
  out[0] = type;
  out.set(prefix.subarray(0, RECORD_BYTES - 1), 1);
  return out;
}

/** The records of an answer (after its range); a trailing partial record is ignored. */
export function parseRecords(answer: Uint8Array): DirectRecord[] {
  const records: DirectRecord[] = [];
  for (let at = RANGE_BYTES; at + RECORD_BYTES <= answer.length; at += RECORD_BYTES) {
    records.push({ type: answer[at]!, prefix: Buffer.from(answer.subarray(at + 1, at + RECORD_BYTES)) });
  }
  return records;
}
