/**
 * Reading a ply backwards record by record, as the reference's message_ply_read_prev does (spec
 * §7.11.1), over the decrypted payload held in memory. The cursor semantics (where it stops, what
 * a record's end offset is) decide row offsets and tokens, so they follow the reference exactly:
 * a record is readable only if the cursor is past its 2-byte footer *and* the whole record lies
 * after the start of the data.
 */
import { decodeUleb } from '../../formats/leb128.js';

export class PlyCursor {
  /** Where the next read_prev starts: the end of the next record to read. */
  offset: number;
  /** Type of the record just read. */
  type = 0;
  /** Content of the record just read (no footer). */
  record: Buffer = Buffer.alloc(0);
  /** End offset of the record just read: its offset in every API. */
  recordEnd = 0;

  constructor(readonly data: Buffer) {
    this.offset = data.length;
  }

  get length(): number {
    return this.data.length;
  }

  /** Reads the record ending at `offset`; false at the start of the data or on a cut record. */
  prev(): boolean {
    this.recordEnd = this.offset;
    if (this.offset <= 2) return false;
    const footer = this.data.readUInt16LE(this.offset - 2);
    const length = footer >> 4;
    if (length + 2 > this.offset) return false;
    this.type = footer & 0xf;
    this.offset -= length + 2;
    this.record = this.data.subarray(this.offset, this.offset + length);
    return true;
  }

  /** Reads back until a record of `type` (message_ply_find_prev). */
  findPrev(type: number): boolean {
    while (this.prev()) if (this.type === type) return true;
    return false;
  }

  rewind(): void {
    this.offset = this.data.length;
  }
}

/** Offsets as numbers: a ply never approaches 2^53 bytes, larger values compare as "beyond". */
function toOffset(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

export interface AckRange {
  /** False when not even the end offset decodes (the iterator's protocol fault). */
  readonly ok: boolean;
  readonly end: number;
  /**
   * Start of the range; 0 when the record has no length. A length larger than the end (which the
   * reference turns into a huge unsigned start) is beyond every offset: nothing is in range.
   */
  readonly start: number;
}

/** An ACK record's range (message_ply_parse_ack); end 0 when malformed, as the reference leaves it. */
export function parseAck(record: Buffer): AckRange {
  const end = decodeUleb(record, 0);
  if (!end) return { ok: false, end: 0, start: 0 };
  const length = decodeUleb(record, end.next);
  if (!length) return { ok: true, end: toOffset(end.value), start: 0 };
  const start = end.value - length.value;
  return { ok: true, end: toOffset(end.value), start: start < 0n ? Number.MAX_SAFE_INTEGER : toOffset(start) };
}

/** A TIME record's seconds (LE32 of its first 4 bytes), undefined when shorter. */
export function parseTime(record: Buffer): number | undefined {
  return record.length < 4 ? undefined : record.readUInt32LE(0);
}

/** A MESSAGE record's text as a C string: the bytes before its first NUL. */
export function messageText(record: Buffer): Buffer {
  const nul = record.indexOf(0);
  return nul === -1 ? record : record.subarray(0, nul);
}
