/**
 * PostgreSQL's binary COPY format, for rows of rhizome_chunks (blob bigint, seq integer, data
 * bytea): the signature and header, one tuple per chunk, and the trailer. Big-endian throughout.
 */

/** "PGCOPY\n\377\r\n\0", flags (int32 0), header extension length (int32 0). */
export const COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** A field count of -1 ends the data. */
export const COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** One tuple: 3 fields, each a length and its bytes. The chunk's bytes follow the returned head. */
export function copyChunk(blob: bigint, seq: number, data: Buffer): Buffer {
  const head = Buffer.allocUnsafe(2 + 4 + 8 + 4 + 4 + 4);
  let o = head.writeInt16BE(3, 0);
  o = head.writeInt32BE(8, o);
  o = head.writeBigInt64BE(blob, o);
  o = head.writeInt32BE(4, o);
  o = head.writeInt32BE(seq, o);
  head.writeInt32BE(data.length, o);
  return Buffer.concat([head, data]);
}
