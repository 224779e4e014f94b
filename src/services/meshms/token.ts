/**
 * MeshMS message-list tokens (spec §7.14.2): base64url with `=` padding of
 * `which_ply (1 byte) ‖ uleb(offset) ‖ uleb(their_ack)`. A row's token marks its place in the
 * threaded list, so a newsince request from it lists exactly the rows above it.
 */
import { decodeBase64Url, encodeBase64Url } from '../../formats/base64url.js';
import { decodeUleb, encodeUleb } from '../../formats/leb128.js';

/** Which ply a position is in (the reference's enum meshms_which_ply). */
export const Ply = { NEITHER: 0, MINE: 1, THEIRS: 2 } as const;

export interface MeshmsPosition {
  /** 0 neither, 1 my ply, 2 their ply; other values only ever come from clients. */
  readonly which: number;
  /** End offset of the record in that ply. */
  readonly offset: number;
  /** `their_last_ack` as the client last saw it (0 once the synthetic ACK row is behind it). */
  readonly theirAck: number;
}

/** The reference decodes at most this many bytes of a token (MAX_TOKEN_LEN). */
const MAX_TOKEN_BYTES = 21;

export function encodeMeshmsToken(p: MeshmsPosition): string {
  return encodeBase64Url(Buffer.concat([Buffer.of(p.which & 0xff), encodeUleb(p.offset), encodeUleb(p.theirAck)]));
}

/** The position a token names, or undefined when it does not decode (the route then answers 404). */
export function decodeMeshmsToken(text: string): MeshmsPosition | undefined {
  const decoded = decodeBase64Url(text);
  if (!decoded) return undefined;
  const bytes = decoded.subarray(0, MAX_TOKEN_BYTES);
  if (bytes.length < 3) return undefined;
  const offset = decodeUleb(bytes, 1);
  if (!offset) return undefined;
  const theirAck = decodeUleb(bytes, offset.next);
  if (!theirAck) return undefined;
  return { which: bytes[0]!, offset: clamp(offset.value), theirAck: clamp(theirAck.value) };
}

/** Offsets beyond 2^53 name no record a ply can hold; they compare the same once clamped. */
function clamp(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}
