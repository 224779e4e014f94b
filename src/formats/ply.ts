/**
 * Message plys (spec §7.11): the payload of a MeshMS conversation half or a MeshMB feed, a
 * sequence of records each followed by a 2-byte footer `LE16(length << 4 | type)`, read backwards
 * from the end. A record's offset in every API is the byte offset just after its footer.
 */
import { decodeUleb, encodeUleb } from './leb128.js';

export const RecordType = { ACK: 0x01, MESSAGE: 0x02, TIME: 0x03 } as const;

/** Content of one record: 12 bits of length. */
export const MAX_RECORD_CONTENT = 0xfff;
/**
 * The longest message text: text ‖ NUL must fit a record. The reference accepts 4095 bytes and
 * then aborts on the 4096-byte record (spec §10 #14); 4094 is the real limit.
 */
export const MAX_MESSAGE_BYTES = MAX_RECORD_CONTENT - 1;

export interface PlyRecord {
  readonly type: number;
  readonly content: Buffer;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just after the footer: the record's offset in the APIs. */
  readonly end: number;
}

export function encodeRecord(type: number, content: Uint8Array): Buffer {
  if (content.length > MAX_RECORD_CONTENT) throw new RangeError(`ply record of ${content.length} bytes`);
  if (type < 0 || type > 15) throw new RangeError(`ply record type ${type}`);
  const footer = Buffer.alloc(2);
  footer.writeUInt16LE((content.length << 4) | type);
  return Buffer.concat([content, footer]);
}

export function encodeMessage(text: Uint8Array): Buffer {
  if (text.length > MAX_MESSAGE_BYTES) throw new RangeError(`message of ${text.length} bytes`);
  return encodeRecord(RecordType.MESSAGE, Buffer.concat([text, Buffer.of(0)]));
}

export function encodeTime(unixSeconds: number): Buffer {
  const content = Buffer.alloc(4);
  content.writeUInt32LE(unixSeconds >>> 0);
  return encodeRecord(RecordType.TIME, content);
}

export interface Ack {
  /** End offset of the acknowledged range in the other ply (or feed). */
  readonly end: bigint;
  /** Start offset; 0 when absent. */
  readonly start: bigint;
  /** MeshMB activity journals: a prefix of the feed's BID. */
  readonly binary: Buffer | undefined;
}

export function encodeAck(end: number | bigint, start: number | bigint = 0, binary?: Uint8Array): Buffer {
  const parts = [encodeUleb(end)];
  // The range length is written only when it says something (start ≠ 0) or a binary follows.
  if (BigInt(start) !== 0n || binary) parts.push(encodeUleb(BigInt(end) - BigInt(start)));
  if (binary) parts.push(Buffer.from(binary));
  return encodeRecord(RecordType.ACK, Buffer.concat(parts));
}

/** An ACK record's content, or undefined if malformed. */
export function decodeAck(content: Buffer): Ack | undefined {
  const end = decodeUleb(content, 0);
  if (!end) return undefined;
  if (end.next === content.length) return { end: end.value, start: 0n, binary: undefined };
  const length = decodeUleb(content, end.next);
  if (!length || length.value > end.value) return undefined;
  const binary = length.next < content.length ? content.subarray(length.next) : undefined;
  return { end: end.value, start: end.value - length.value, binary };
}

/** A MESSAGE record's text (bytes before its NUL), or undefined if the NUL is missing. */
export function decodeMessage(content: Buffer): Buffer | undefined {
  const nul = content.indexOf(0);
  return nul === -1 ? undefined : content.subarray(0, nul);
}

/** A TIME record's seconds, or undefined if malformed. */
export function decodeTime(content: Buffer): number | undefined {
  return content.length === 4 ? content.readUInt32LE(0) : undefined;
}

/**
 * The records of a ply, newest first, starting from the record that ends at `from` (default: the
 * end). Stops at a record that would begin before the start of the data. A `from` beyond the end
 * (or not a whole number) names no record: nothing is yielded. Offsets can come from clients
 * (tokens, ACKs in a ply someone else wrote), so this must not throw.
 */
export function* recordsBackward(ply: Buffer, from = ply.length): Generator<PlyRecord> {
  if (!Number.isInteger(from) || from > ply.length) return;
  let end = from;
  while (end >= 2) {
    const footer = ply.readUInt16LE(end - 2);
    const length = footer >> 4;
    const start = end - 2 - length;
    if (start < 0) return;
    yield { type: footer & 0xf, content: ply.subarray(start, end - 2), start, end };
    end = start;
  }
}
